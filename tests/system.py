"""Machine components the tests need (PostgreSQL server binaries, Debian chromium).

Tests never skip for a missing component: as root they install it with apt-get, otherwise
they fail with the command to run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(
            f"missing {' '.join(packages)}: run `apt-get install -y {' '.join(packages)}` (as root)"
        )
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        check=True,
        env=env,
        capture_output=True,
    )


def pg_bindir() -> str:
    """Folder of initdb/pg_ctl (installing postgresql if needed)."""
    for _ in range(2):
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
        )
        if found:
            return os.path.dirname(found[-1])
        if shutil.which("initdb"):
            return os.path.dirname(os.path.realpath(shutil.which("initdb")))
        apt_install("postgresql")
    pytest.fail("PostgreSQL server binaries (initdb) not found after installing postgresql")


def chromium() -> str:
    """Path of Debian's chromium (installing it if needed)."""
    for _ in range(2):
        path = shutil.which("chromium") or shutil.which("chromium-browser")
        if path:
            return path
        apt_install("chromium")
    pytest.fail("chromium not found after installing it")
