"""No lost updates under real concurrency: two writers (separate processes, separate database
connections) change the same record from the same version at the same moment; exactly one is
saved, the other is refused as stale and overwrites nothing. The same through the real server:
two API clients PATCH with the same ``If-Match`` at once -> one 200, one 412.

On SQLite and, with ``--db=postgresql``, on a throw-away PostgreSQL server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

SETUP = """
from datetime import date
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry import users
from cpstem.registry.models import AdverseEvent, Patient
from cpstem.registry.services import write
p = write.save(Patient(site=users.get_site("LUB"), study_id="RACE-1", birth_date=date(2019, 4, 2), sex="F"))
ae = write.save(AdverseEvent(patient=p, date=date(2024, 5, 2), term="fever", grade=1, relatedness="possible"))
print(p.pk, ae.pk)
"""

WRITER = """
import sys, time
from pathlib import Path
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry.errors import StaleVersion
from cpstem.registry.models import AdverseEvent
from cpstem.registry.services import write
rid, grade, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
ae = AdverseEvent.objects.get(pk=rid)  # both read version 1
(folder / f"ready-{grade}").touch()
while len(list(folder.glob("ready-*"))) < 2:  # then both write at once
    time.sleep(0.001)
ae.grade = grade
try:
    write.save(ae, reason=f"grade {grade} per source")
except StaleVersion as exc:
    print("stale", exc.expected, exc.current, exc.record.grade)
else:
    print("saved", ae.version)
"""

STATE = """
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry.models import AdverseEvent
ae = AdverseEvent.objects.get(pk={rid})
print(ae.grade, ae.version, AdverseEvent.history.filter(id={rid}, history_type="~").count())
"""


def test_two_writers_from_the_same_version_one_is_refused(registry, tmp_path):
    registry.create_clinician("clara", "LUB", "a-long-password-77")
    _, rid = registry.python(SETUP).stdout.split()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = {
        grade: subprocess.Popen(
            [sys.executable, "-c", WRITER, rid, str(grade), str(barrier)],
            env=registry.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for grade in (2, 3)
    }
    out = {}
    for grade, p in procs.items():
        stdout, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        out[grade] = stdout.split()
    outcomes = sorted(o[0] for o in out.values())
    assert outcomes == ["saved", "stale"], out
    winner = next(g for g, o in out.items() if o[0] == "saved")
    loser = next(g for g, o in out.items() if o[0] == "stale")
    assert out[winner] == ["saved", "2"]
    # the refused writer is told the version it started from, the current one and its value
    assert out[loser] == ["stale", "1", "2", str(winner)]
    grade, version, changes = registry.python(STATE.format(rid=rid)).stdout.split()
    assert (int(grade), int(version), int(changes)) == (winner, 2, 1)


def test_two_api_clients_with_the_same_etag(registry):
    registry.create_clinician("clara", "LUB", "a-long-password-77")
    pid, rid = registry.python(SETUP).stdout.split()
    tokens = [
        registry.run("token", "create", "clara").stdout.strip().splitlines()[-1] for _ in range(2)
    ]
    proc, url = registry.serve()
    path = f"{url}/api/v1/patients/{pid}/adverse-events/{rid}"

    def call(method: str, token: str, body: dict | None = None, etag: str | None = None):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if etag:
            headers["If-Match"] = etag
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.headers.get("ETag"), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("ETag"), json.loads(e.read() or b"null")

    try:
        status, etag, _ = call("GET", tokens[0])
        assert (status, etag) == (200, '"1"')
        start = threading.Barrier(2)
        results: dict[int, tuple] = {}

        def patch(i: int) -> None:
            start.wait()
            body = {"grade": 2 + i, "reason": f"client {i}"}
            results[i] = call("PATCH", tokens[i], body, etag)

        threads = [threading.Thread(target=patch, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        statuses = sorted(r[0] for r in results.values())
        assert statuses == [200, 412], results
        won = next(i for i, r in results.items() if r[0] == 200)
        lost = results[1 - won]
        assert lost[2]["code"] == "stale_version" and lost[2]["current"] == 2
        status, etag, body = call("GET", tokens[0])
        assert (status, etag, body["grade"]) == (200, '"2"', 2 + won)
    finally:
        proc.terminate()
        proc.wait(10)
