"""Deployment (issue 8): the demo kept out of production data, HTTPS behind a proxy, the
log-in lock-out behind a proxy, backups that do not block writes, a busy database answered
with 503, owner-only SQLite files, several worker processes. On the real ``cpstem`` command
and server."""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import stat
import subprocess
import time
from urllib.parse import urlencode, urlsplit

import pytest

from tests.registry.cli_env import CPSTEM, Registry

PASSWORD = "a-long-password-77"


def sqlite_only(registry) -> None:
    if registry.env.get("CPSTEM_DATABASE_URL"):
        pytest.skip(
            "SQLite-only (its file locking and file modes); this test runs in the SQLite suite"
        )


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    return out or ""


def request(url: str, method: str = "GET", path: str = "/", body=None, headers=None):
    """One HTTP request (no redirect followed): (status, headers, body text)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    text = r.read().decode("utf-8", "replace")
    conn.close()
    return r.status, r.headers, text


# --- the demo ---------------------------------------------------------------------------------

COUNTS = """
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry.models import Patient, Site
print(Patient.objects.filter(is_synthetic=True).count(), Patient.objects.filter(is_synthetic=False).count(),
      Site.objects.filter(code__startswith="DEMO-").count(),
      Patient.history.filter(history_type="-", history_change_reason__startswith="cpstem demo remove").count())
"""

REAL_PATIENT = """
from datetime import date
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry import users
from cpstem.registry.models import Patient
from cpstem.registry.services.records import save_validated
save_validated(Patient(site=users.get_site("LUB"), study_id="LUB-REAL-1", birth_date=date(2020, 6, 1), sex="M"))
"""


def test_demo_never_loads_into_real_registry_and_is_removed(registry):
    registry.create_clinician("clara", "LUB", PASSWORD)
    registry.python(REAL_PATIENT)
    r = registry.run("demo", "load", "--per-site", "2", check=False)
    assert r.returncode == 1
    assert "holds 1 real (non-synthetic) patient" in r.stderr and "--force" in r.stderr
    assert registry.python(COUNTS).stdout.split() == ["0", "1", "0", "0"]
    r = registry.run("demo", "load", "--per-site", "2", "--force")
    assert "Loaded 4 SYNTHETIC demo patients" in r.stdout
    assert registry.python(COUNTS).stdout.split() == ["4", "1", "2", "0"]
    r = registry.run("demo", "remove")
    assert "Removed 4 SYNTHETIC demo patients" in r.stdout
    # the real child stays; each demo child's deletion is in the audit trail with its reason
    assert registry.python(COUNTS).stdout.split() == ["0", "1", "0", "4"]
    assert "nothing removed" in registry.run("demo", "remove").stdout


def test_new_data_dir_starts_empty_and_demo_dir_says_demo(registry):
    proc, url = registry.serve()
    try:
        status, _, page = request(url, path="/accounts/login/")
    finally:
        out = stop(proc)
    assert status == 200 and "DEMO registry" not in page and "DEMO" not in out
    registry.run("demo", "load", "--per-site", "1")
    proc, url = registry.serve()
    try:
        status, _, page = request(url, path="/accounts/login/")
    finally:
        out = stop(proc)
    assert status == 200 and "DEMO registry" in page and "not real patients" in page
    assert "This is a DEMO registry" in out


def test_make_run_uses_its_own_demo_data_dir():
    from pathlib import Path

    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "DEMO_DATA := ./cpstem-demo" in makefile
    assert run.count("--data-dir $(DEMO_DATA)") == 3


# --- HTTPS behind a TLS proxy; the lock-out per client address ------------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_https_behind_trusted_proxy_is_not_a_redirect_loop(registry, workers):
    """With CPSTEM_HTTPS=1 behind a TLS proxy, waitress dropped X-Forwarded-Proto: every request
    was redirected to https again. From the trusted proxy it is believed (200); from anyone
    else it is not (301)."""
    proc, url = registry.serve(
        "--trusted-proxy", "127.0.0.1", "--workers", workers, env={"CPSTEM_HTTPS": "1"}
    )
    try:
        secure = request(url, path="/accounts/login/", headers={"X-Forwarded-Proto": "https"})
        plain = request(url, path="/accounts/login/")
    finally:
        stop(proc)
    assert secure[0] == 200 and "Log in" in secure[2]
    assert "Strict-Transport-Security" in secure[1]
    assert plain[0] == 301 and plain[1]["Location"].startswith("https://")

    proc, url = registry.serve("--workers", workers, env={"CPSTEM_HTTPS": "1"})
    try:  # no trusted proxy: the header is not believed
        untrusted = request(url, path="/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    finally:
        out = stop(proc)
    assert untrusted[0] == 301
    assert "CPSTEM_HTTPS=1 without --trusted-proxy" in out


def _login(url: str, user: str, password: str, client_ip: str) -> int:
    """Log in through the proxy for a client at ``client_ip``: the status of the POST."""
    status, headers, page = request(
        url, path="/accounts/login/", headers={"X-Forwarded-For": client_ip}
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = headers["Set-Cookie"].split(";")[0]
    body = urlencode({"csrfmiddlewaretoken": token, "username": user, "password": password})
    status, headers, _ = request(
        url,
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "X-Forwarded-For": client_ip,
            "Referer": url + "/accounts/login/",
        },
    )
    return status


@pytest.mark.parametrize("workers", ["1", "2"])
def test_lockout_behind_proxy_is_per_client_address(registry, workers):
    """Behind a proxy every request came from the proxy's address: five wrong passwords from
    anyone locked the user out for everyone. With --trusted-proxy the lock is per user and
    client address (X-Forwarded-For)."""
    registry.create_clinician("clara", "LUB", PASSWORD)
    proc, url = registry.serve("--trusted-proxy", "127.0.0.1", "--workers", workers)
    try:
        attacker = [_login(url, "clara", "wrong-password-1", "203.0.113.9") for _ in range(5)]
        locked = _login(url, "clara", PASSWORD, "203.0.113.9")
        clinic = _login(url, "clara", PASSWORD, "198.51.100.20")
    finally:
        stop(proc)
    assert attacker[:4] == [200] * 4  # the form again, with its error
    assert locked == 429  # the attacker's address is locked out, even with the right password
    assert clinic == 302  # the clinician at another address logs in


def test_listening_on_all_interfaces_warns(registry):
    proc, _ = registry.serve("--host", "0.0.0.0")
    out = stop(proc)
    assert "WARNING" in out and "without CPSTEM_HTTPS=1" in out
    assert "CPSTEM_ALLOWED_HOSTS is not set" in out
    proc, _ = registry.serve()
    assert "WARNING" not in stop(proc)


# --- a busy database --------------------------------------------------------------------------


def test_locked_database_answers_503_and_reads_go_on(registry):
    """A write that cannot get SQLite's lock within the busy timeout is a 503 with a message
    (JSON on the API; a page that keeps what was typed), never a 500; reads, including the API
    token's last-used stamp, do not wait for the lock."""
    sqlite_only(registry)
    registry.create_clinician("clara", "LUB", PASSWORD)
    token = registry.run("token", "create", "clara").stdout.strip().splitlines()[-1]
    pk = registry.python(
        REAL_PATIENT.strip().replace("save_validated(Patient", "p = save_validated(Patient")
        + "\nprint(p.pk)"
    )
    pk = pk.stdout.strip()
    proc, url = registry.serve(env={"CPSTEM_SQLITE_BUSY_TIMEOUT_S": "1"})
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    holder = sqlite3.connect(registry.folder / "registry.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # a long write elsewhere holds the lock
        t = time.perf_counter()
        status, headers, body = request(url, path=f"/api/v1/patients/{pk}", headers=auth)
        read_s = time.perf_counter() - t
        assert status == 200 and json.loads(body)["study_id"] == "LUB-REAL-1"
        assert read_s < 0.9  # the token's last_used_at update did not wait for the lock
        body = json.dumps({"study_id": "LUB-NEW-1", "birth_date": "2019-04-02", "sex": "F"})
        status, headers, text = request(url, "POST", "/api/v1/patients", body=body, headers=auth)
        assert status == 503 and headers["Retry-After"] == "5"
        assert json.loads(text)["code"] == "database_busy"
        holder.execute("ROLLBACK")
        status, _, _ = request(url, "POST", "/api/v1/patients", body=body, headers=auth)
        assert status == 201  # once the lock is free, the same write succeeds
    finally:
        holder.close()
        stop(proc)


BUSY_PAGE = """
import sqlite3
from cpstem.registry import setup
setup.start(migrate=False)
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
client = Client(raise_request_exception=False)
client.force_login(get_user_model().objects.get(username="clara"))
holder = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
holder.execute("BEGIN IMMEDIATE")
r = client.post("/patients/new/", {"study_id": "LUB-TYPED-7", "birth_date": "2019-04-02", "sex": "F"})
print(r.status_code, r["Retry-After"])
print(r.content.decode())
"""


def test_locked_database_page_keeps_what_was_typed(registry):
    sqlite_only(registry)
    registry.create_clinician("clara", "LUB", PASSWORD)
    registry.env["CPSTEM_SQLITE_BUSY_TIMEOUT_S"] = "0.5"
    out = registry.python(BUSY_PAGE).stdout
    first, page = out.split("\n", 1)
    assert first == "503 5"
    assert "Not saved: the registry is busy" in page
    assert '<input type="hidden" name="study_id" value="LUB-TYPED-7">' in page
    assert '<input type="hidden" name="birth_date" value="2019-04-02">' in page
    assert 'action="/patients/new/"' in page


# --- backups ----------------------------------------------------------------------------------

BACKUP_WHILE_WRITING = """
import subprocess, sys, time
from cpstem.registry import setup
setup.start(migrate=False)
from django.db import transaction
from django.conf import settings
from cpstem.registry import backup
from cpstem.registry.models import Patient
WRITE = '''
import time
from datetime import date
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry import users
from cpstem.registry.models import Patient
from cpstem.registry.services.records import save_validated
t = time.perf_counter()
try:
    save_validated(Patient(site=users.get_site("LUB"), study_id=sys.argv[1], birth_date=date(2020, 6, 1), sex="F"))
    print("saved", round(time.perf_counter() - t, 2))
except Exception as exc:
    print("failed", type(exc).__name__)
'''
def write(study_id):
    r = subprocess.run([sys.executable, "-c", "import sys\\n" + WRITE, study_id], capture_output=True, text=True)
    return r.stdout.split()[0]
# the new way: while the dump reads (here: held open), another process writes
with backup.consistent_source(settings.DATA_DIR / "backups") as alias:
    during = write("LUB-DURING-1")
    dumped = Patient.objects.using(alias).filter(study_id__startswith="LUB-").count()
print("online", during, dumped, Patient.objects.count())
# the old way: the dump inside one write transaction
with transaction.atomic():
    list(Patient.objects.all())
    during = write("LUB-DURING-2")
print("locked", during)
"""


def test_backup_does_not_block_writes(registry):
    """`cpstem backup` dumped inside one write transaction: every write waited for the whole
    dump (and failed after the busy timeout). Now the dump reads an online copy."""
    sqlite_only(registry)
    registry.create_clinician("clara", "LUB", PASSWORD)
    registry.python(REAL_PATIENT)
    registry.env["CPSTEM_SQLITE_BUSY_TIMEOUT_S"] = "1"
    lines = registry.python(BACKUP_WHILE_WRITING).stdout.split("\n")
    # written during the dump: saved; the dump is the snapshot from before the write (1 child)
    assert lines[0] == "online saved 1 2"
    assert lines[1] == "locked failed"  # the peer: the old way blocked the write
    assert not list((registry.folder / "backups").glob(".snapshot-*"))  # the copy is gone


def test_backup_taken_while_server_writes_restores(registry, tmp_path):
    """Writes through the real server during `cpstem backup` all succeed, and the backup
    restores."""
    registry.create_clinician("clara", "LUB", PASSWORD)
    token = registry.run("token", "create", "clara").stdout.strip().splitlines()[-1]
    registry.run("demo", "load", "--per-site", "3")
    proc, url = registry.serve()
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    statuses = []
    try:
        backup = subprocess.Popen(
            [CPSTEM, "backup", "--out", str(tmp_path / "b.json.gz")],
            env=registry.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        i = 0
        while backup.poll() is None or i < 5:
            body = json.dumps(
                {"study_id": f"LUB-W-{i:03d}", "birth_date": "2019-04-02", "sex": "F"}
            )
            statuses.append(request(url, "POST", "/api/v1/patients", body=body, headers=auth)[0])
            i += 1
        out = backup.communicate(timeout=60)[0]
    finally:
        stop(proc)
    assert backup.returncode == 0, out
    assert set(statuses) == {201}
    if registry.env.get("CPSTEM_DATABASE_URL"):
        return  # restoring into PostgreSQL is tested in test_cli
    r = Registry(tmp_path / "restored").run("restore", str(tmp_path / "b.json.gz"))
    restored = int(re.search(r"(\d+) patients", r.stdout).group(1))
    assert 6 <= restored <= 6 + len(statuses)


# --- files ------------------------------------------------------------------------------------


def test_sqlite_files_owner_only_in_existing_data_dir(registry):
    """A data dir made before (database 644, backups 644) is made owner-only on the next start,
    with the -wal and -shm files."""
    sqlite_only(registry)
    registry.create_clinician("clara", "LUB", PASSWORD)
    registry.run("backup")
    folder = registry.folder
    backups = list((folder / "backups").glob("*.json.gz"))
    db = folder / "registry.sqlite3"
    for f in [db, *backups]:
        f.chmod(0o644)
    (folder / "backups").chmod(0o755)
    proc, url = registry.serve()  # the server keeps its connection open: -wal and -shm exist
    try:
        request(url, path="/accounts/login/")
        files = [db, folder / "registry.sqlite3-wal", folder / "registry.sqlite3-shm", *backups]
        modes = {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files}
    finally:
        stop(proc)
    assert modes == {f.name: "0o600" for f in files}
    assert stat.S_IMODE((folder / "backups").stat().st_mode) == 0o700


def test_sqlite_synchronous_setting(registry):
    sqlite_only(registry)
    code = (
        "from cpstem.registry import setup\nsetup.start(migrate=False)\n"
        "from django.db import connection\nc = connection.cursor()\n"
        "print(c.execute('PRAGMA synchronous').fetchone()[0], "
        "c.execute('PRAGMA journal_mode').fetchone()[0])"
    )
    registry.run("user", "list")
    assert registry.python(code).stdout.split() == ["1", "wal"]  # NORMAL
    registry.env["CPSTEM_SQLITE_SYNCHRONOUS"] = "FULL"
    assert registry.python(code).stdout.split() == ["2", "wal"]  # FULL
