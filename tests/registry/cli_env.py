"""Running the real ``cpstem`` command and server against a fresh data dir (or PostgreSQL)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.pgserver import free_port

CPSTEM = str(Path(sys.executable).parent / "cpstem")


class Registry:
    """A data dir (and on --db=postgresql a fresh database) with helpers to run commands."""

    def __init__(self, folder: Path, database_url: str | None = None):
        self.folder = folder
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DJANGO_SETTINGS_MODULE", "CPSTEM_DATABASE_URL")
        }
        self.env["CPSTEM_DATA_DIR"] = str(folder)
        if database_url:
            self.env["CPSTEM_DATABASE_URL"] = database_url

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        r = subprocess.run(
            [CPSTEM, *args], input=stdin, capture_output=True, text=True, env=self.env, timeout=300
        )
        if check and r.returncode != 0:
            raise AssertionError(
                f"cpstem {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
            )
        return r

    def create_clinician(self, name: str, site: str, password: str) -> subprocess.CompletedProcess:
        """``cpstem user create NAME --role clinician --site SITE --create-site
        --password-stdin``."""
        return self.run(
            "user",
            "create",
            name,
            "--role",
            "clinician",
            "--site",
            site,
            "--create-site",
            "--password-stdin",
            stdin=password,
        )

    def python(self, code: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=self.env, timeout=300
        )
        if check and r.returncode != 0:
            raise AssertionError(r.stderr)
        return r

    def serve(self, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
        """``cpstem serve --port P [args]`` (with ``env`` added to the registry's); the process
        and its base URL once it answers."""
        port = free_port()
        proc = subprocess.Popen(
            [CPSTEM, "serve", "--port", str(port), *args],
            env=self.env | (env or {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"cpstem serve exited: {proc.stdout.read()}")
            try:  # any HTTP answer (a redirect to https too) means it is up
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/accounts/login/")
                conn.getresponse().read()
                conn.close()
                return proc, url
            except OSError:
                time.sleep(0.2)
        proc.terminate()
        raise AssertionError("cpstem serve did not answer within 60 s")
