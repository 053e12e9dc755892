"""Concurrent writers lose nothing: processes on one database, and threads via the API."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

WRITER = """
import sys
from datetime import date
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry.models import Patient, Site, AdverseEvent
from cpstem.registry.services.records import save_validated
site = Site.objects.get(code="LUB")
w = int(sys.argv[1])
for i in range({n}):
    p = save_validated(Patient(site=site, study_id=f"W{{w}}-{{i:03d}}", birth_date=date(2019, 1, 1), sex="F"))
    save_validated(AdverseEvent(patient=p, date=date(2024, 1, 2), term="fever", grade=1, serious=False, relatedness="possible"))
"""

COUNT = """
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry.models import Patient, AdverseEvent
print(Patient.objects.count(), AdverseEvent.objects.count(), Patient.history.count())
"""


def test_parallel_processes_lose_nothing(registry):
    registry.create_clinician("clara", "LUB", "a-long-password-77")
    n, workers = 40, 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER.format(n=n), str(w)],
            env=registry.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    counts = registry.python(COUNT).stdout.split()
    assert counts == [str(n * workers), str(n * workers), str(n * workers)]


def test_concurrent_api_clients_lose_nothing(registry):
    registry.create_clinician("clara", "LUB", "a-long-password-77")
    token = registry.run("token", "create", "clara").stdout.strip().splitlines()[-1]
    proc, url = registry.serve()

    def post(i: int) -> int:
        body = json.dumps(
            {"study_id": f"T-{i:04d}", "birth_date": "2019-04-02", "sex": "F"}
        ).encode()
        req = urllib.request.Request(
            url + "/api/v1/patients",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status

    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(120)))
    finally:
        proc.terminate()
        proc.wait(10)
    assert statuses == [201] * 120
    assert registry.python(COUNT).stdout.split()[0] == "120"


def test_database_mode(registry, db_vendor):
    """SQLite runs in WAL mode with a busy timeout; --db=postgresql really uses PostgreSQL."""
    registry.run("user", "list")
    out = registry.python(
        "from cpstem.registry import setup; setup.start(migrate=False)\n"
        "from django.db import connection\n"
        "print(connection.vendor)\n"
        "if connection.vendor == 'sqlite':\n"
        "    c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])\n"
        "    c.execute('PRAGMA busy_timeout'); print(c.fetchone()[0])\n"
    ).stdout.split()
    assert out == (["sqlite", "wal", "30000"] if db_vendor == "sqlite" else ["postgresql"])
