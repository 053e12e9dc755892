"""Registry benchmark: 10,000 patients with 200,000 assessments on SQLite.

Reports (aims from issue 4):
* p95 server time of the patient list and of the patient page (aim < 200 ms), measured in
  process with Django's test client (no network), plus the trajectory chart (SVG);
* API read throughput of ``GET /api/v1/patients/{id}`` against the real server (``cpstem serve``,
  waitress) with several concurrent clients (aim >= 200 requests/s on 2 cores); peer: one client;
* bulk import of 100,000 GMFM-88 sheets from CSV (aim < 60 s); peer: a naive ORM loop (one
  validated save per sheet, as a form does), timed on a sample and extrapolated.

Run: ``make bench`` or ``.venv/bin/python bench/registry.py [--patients 10000]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(n_patients: int, per_patient: int, rng: np.random.Generator) -> dict[str, float]:
    """Bulk-load the cohort: patients, a GMFCS level, one administration, GMFM-88 + GMFM-66."""
    from django.db import transaction

    from cpstem.measures import gmfm
    from cpstem.registry import users
    from cpstem.registry.models import (
        Administration,
        Classification,
        GMFM66Assessment,
        GMFM88Assessment,
        Patient,
    )
    from cpstem.registry.services.schedule import refresh_many

    t0 = time.perf_counter()
    sites = [users.get_site(f"S{i}", create=True, name=f"Bench site {i}") for i in range(4)]
    today = date.today()
    sheets_per = per_patient // 2
    with transaction.atomic():
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    site=sites[i % 4],
                    study_id=f"B{i:05d}",
                    sex="FM"[i % 2],
                    birth_date=today - timedelta(days=int(rng.integers(9 * 365, 12 * 365))),
                    gmfcs=int(rng.integers(1, 6)),
                    is_synthetic=True,
                )
                for i in range(n_patients)
            ],
            batch_size=2000,
        )
        Classification.objects.bulk_create(
            [
                Classification(
                    patient=p,
                    date=p.birth_date + timedelta(days=900),
                    system="gmfcs",
                    level=p.gmfcs,
                )
                for p in patients
            ],
            batch_size=2000,
        )
        admins = []
        for p in patients:
            day = p.birth_date + timedelta(days=int(rng.integers(3 * 365, 5 * 365)))
            admins.append(
                Administration(
                    patient=p,
                    date=day,
                    product="ucb",
                    origin="allogeneic",
                    route="intravenous",
                    cells_total=4.5e8,
                    weight_kg=15.0,
                    dose_cells_per_kg=3e7,
                )
            )
        Administration.objects.bulk_create(admins, batch_size=2000)
        n = n_patients * sheets_per
        matrix = rng.integers(0, 4, size=(n, 88)).astype(float)
        matrix[rng.random((n, 88)) < 0.05] = np.nan
        scored = gmfm.score_gmfm88_batch(matrix)
        s88, s66 = [], []
        k = 0
        for p, a in zip(patients, admins, strict=True):
            for j in range(sheets_per):
                day = a.date - timedelta(days=7) + timedelta(days=60 * j)
                row = matrix[k]
                items = {str(i + 1): (None if np.isnan(v) else int(v)) for i, v in enumerate(row)}
                pct = [float(scored.dimension_percent[c][k]) for c in "ABCDE"]
                s88.append(
                    GMFM88Assessment(
                        patient=p,
                        date=day,
                        items=items,
                        pct_a=pct[0],
                        pct_b=pct[1],
                        pct_c=pct[2],
                        pct_d=pct[3],
                        pct_e=pct[4],
                        total=float(scored.total[k]),
                        n_not_tested=int(np.isnan(row).sum()),
                    )
                )
                s66.append(
                    GMFM66Assessment(
                        patient=p,
                        date=day,
                        score=round(30 + 2 * j + float(rng.normal(0, 2)), 1),
                        se=1.5,
                    )
                )
                k += 1
            if len(s88) >= 20000:
                GMFM88Assessment.objects.bulk_create(s88, batch_size=2000)
                GMFM66Assessment.objects.bulk_create(s66, batch_size=2000)
                s88, s66 = [], []
        GMFM88Assessment.objects.bulk_create(s88, batch_size=2000)
        GMFM66Assessment.objects.bulk_create(s66, batch_size=2000)
    t_rows = time.perf_counter() - t0
    refresh_many([p.pk for p in patients])
    return {"load_s": time.perf_counter() - t0, "rows_s": t_rows}


def page_times(n: int, rng: random.Random) -> dict[str, list[float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from cpstem.registry.models import Patient

    admin = get_user_model().objects.get(username="bench-admin")
    clin = get_user_model().objects.get(username="bench-clinician")
    ids = list(Patient.objects.values_list("id", flat=True))
    out: dict[str, list[float]] = {"list": [], "list_filtered": [], "page": [], "chart": []}
    ca, cc = Client(), Client()
    ca.force_login(admin)
    cc.force_login(clin)
    pages = Patient.objects.count() // 50
    for _ in range(3):  # warm-up
        ca.get("/patients/")
        ca.get(f"/patients/{ids[0]}/")
    for i in range(n):
        t = time.perf_counter()
        r = ca.get(f"/patients/?page={rng.randint(1, pages)}")
        out["list"].append(time.perf_counter() - t)
        assert r.status_code == 200
        t = time.perf_counter()
        r = cc.get(f"/patients/?gmfcs={rng.randint(1, 5)}&overdue={'1' if i % 2 else ''}&q=B0")
        out["list_filtered"].append(time.perf_counter() - t)
        assert r.status_code == 200
        pid = rng.choice(ids)
        t = time.perf_counter()
        r = ca.get(f"/patients/{pid}/")
        out["page"].append(time.perf_counter() - t)
        assert r.status_code == 200
        if i % 4 == 0:
            t = time.perf_counter()
            r = ca.get(f"/patients/{pid}/trajectory.svg")
            out["chart"].append(time.perf_counter() - t)
            assert r.status_code == 200
    return out


def _client(job: tuple) -> tuple[int, int, list[float]]:
    """One client process: keep-alive GETs of random patients (or, with ``write``, POSTs of new
    patients) until the time is up: (ok, failed, latencies in s)."""
    port, token, ids, seconds, k = job[:5]
    write = len(job) > 5 and job[5]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    rnd = random.Random(k)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    ok = bad = 0
    lat: list[float] = []
    stop = time.perf_counter() + seconds
    i = 0
    run = secrets.token_hex(3)  # study IDs unique across runs of the same client process
    while time.perf_counter() < stop:
        t = time.perf_counter()
        if write:
            body = json.dumps(
                {
                    "study_id": f"W{k:02d}{run}-{i:05d}",
                    "birth_date": "2019-04-02",
                    "sex": "F",
                }
            )
            conn.request("POST", "/api/v1/patients", body=body, headers=headers)
            want = 201
        else:
            conn.request("GET", f"/api/v1/patients/{rnd.choice(ids)}", headers=headers)
            want = 200
        resp = conn.getresponse()
        resp.read()
        lat.append(time.perf_counter() - t)
        i += 1
        if resp.status == want:
            ok += 1
        else:
            bad += 1
    conn.close()
    return ok, bad, lat


def start_server(data_dir: Path, workers: int = 1) -> tuple[subprocess.Popen, int]:
    """``cpstem serve`` (8 threads per process; ``workers`` processes) on a free port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | {
        "CPSTEM_DATA_DIR": str(data_dir)
    }
    cpstem = str(Path(sys.executable).parent / "cpstem")
    proc = subprocess.Popen(
        [cpstem, "serve", "--port", str(port), "--threads", "8", "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    time.sleep(1.0)  # gunicorn: let every worker start
    return proc, port


def api_load(
    data_dir: Path,
    token: str,
    ids: list[int],
    clients: int,
    seconds: float,
    workers: int = 1,
    write: bool = False,
) -> dict[str, float]:
    """``clients`` client processes against the real server: requests/s and p95 latency."""
    proc, port = start_server(data_dir, workers)
    try:
        args = [(port, token, ids, seconds, k, write) for k in range(clients)]
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            pool.map(_client, [(port, token, ids, 1.0, k, write) for k in range(clients)])
            start = time.perf_counter()
            results = pool.map(_client, args)
            elapsed = time.perf_counter() - start
        failed = sum(e for _, e, _ in results)
        if failed:
            raise SystemExit(f"API errors: {failed}")
        lat = [x for _, _, v in results for x in v]
        return {"rps": sum(n for n, _, _ in results) / elapsed, "p95_ms": p95(lat) * 1000}
    finally:
        proc.terminate()
        proc.wait(20)


def api_throughput(
    data_dir: Path, token: str, ids: list[int], clients: int, seconds: float
) -> float:
    return api_load(data_dir, token, ids, clients, seconds)["rps"]


OLD_BACKUP = """
import sys
from pathlib import Path
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry import backup
backup.dump_locked(Path(sys.argv[1]))
"""


def backup_while_writing(data_dir: Path, token: str, old: bool, writers: int = 4) -> dict:
    """Writers POST new patients through the real server while a backup runs: failed writes
    and the longest write. ``old``: the dump inside one write transaction (as before)."""
    proc, port = start_server(data_dir)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | {
        "CPSTEM_DATA_DIR": str(data_dir)
    }
    out = data_dir / f"bench-{'old' if old else 'new'}.json.gz"
    cmd = (
        [sys.executable, "-c", OLD_BACKUP, str(out)]
        if old
        else [str(Path(sys.executable).parent / "cpstem"), "backup", "--out", str(out)]
    )
    stop = threading.Event()
    results: list[tuple[int, int, list[float]]] = []

    def writer(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        ok = bad = 0
        lat: list[float] = []
        i = 0
        while not stop.is_set():
            body = json.dumps(
                {"study_id": f"BK{int(old)}-{k}-{i:06d}", "birth_date": "2019-04-02", "sex": "F"}
            )
            t = time.perf_counter()
            conn.request("POST", "/api/v1/patients", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            lat.append(time.perf_counter() - t)
            ok, bad = (ok + 1, bad) if resp.status == 201 else (ok, bad + 1)
            i += 1
            time.sleep(0.05)  # a clinic's pace, not a flood
        results.append((ok, bad, lat))

    try:
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
        for th in threads:
            th.start()
        time.sleep(1.0)
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        backup_s = time.perf_counter() - t
        time.sleep(0.5)
        stop.set()
        for th in threads:
            th.join()
    finally:
        proc.terminate()
        proc.wait(20)
    lat = [x for _, _, v in results for x in v]
    return {
        "backup_s": backup_s,
        "writes": sum(n for n, _, _ in results),
        "failed": sum(b for _, b, _ in results),
        "max_stall_s": max(lat),
        "p95_ms": p95(lat) * 1000,
    }


def import_bench(
    n_sheets: int, folder: Path, naive_sample: int, rng: np.random.Generator
) -> dict[str, float]:
    from cpstem.registry.importer import import_gmfm
    from cpstem.registry.models import GMFM88Assessment, Patient
    from cpstem.registry.services.records import save_validated

    patients = list(Patient.objects.order_by("id").values_list("site__code", "study_id", "id"))
    first = dict(GMFM88Assessment.objects.order_by("date").values_list("patient_id", "date"))
    per = n_sheets // len(patients)
    path = folder / "sheets.csv"
    matrix = rng.integers(0, 4, size=(n_sheets, 88))
    header = "site,study_id,date," + ",".join(f"item_{i}" for i in range(1, 89)) + "\n"
    lines = [header]
    k = 0
    for code, sid, pid in patients:
        for j in range(per):
            day = first[pid] + timedelta(days=60 * j + 3)
            lines.append(f"{code},{sid},{day.isoformat()}," + ",".join(map(str, matrix[k])) + "\n")
            k += 1
    path.write_text("".join(lines))
    t = time.perf_counter()
    result = import_gmfm(path)
    bulk = time.perf_counter() - t
    assert result.sheets == n_sheets
    # peer: a naive loop, one validated, audited save per sheet (as a form or a simple script)
    t = time.perf_counter()
    for i in range(naive_sample):
        code, sid, pid = patients[i % len(patients)]
        items = {str(j + 1): int(v) for j, v in enumerate(matrix[i])}
        save_validated(
            GMFM88Assessment(
                patient=Patient.objects.get(pk=pid),
                date=first[pid] + timedelta(days=5 + i // len(patients)),
                items=items,
            )
        )
    naive = (time.perf_counter() - t) / naive_sample * n_sheets
    return {"bulk_s": bulk, "naive_extrapolated_s": naive, "naive_sample": naive_sample}


def deploy_figures(folder: Path, clin, args) -> None:
    """Issue 8: 16 API clients on one vs N server processes (reads and writes), and writes
    while a backup runs (the old locked dump vs the online copy)."""
    from django.db import connections

    from cpstem.registry.models import ApiToken, Patient

    _, token = ApiToken.objects.issue(clin, "bench-deploy")
    ids = list(Patient.objects.filter(site__code="S1").values_list("id", flat=True))
    connections.close_all()
    data = folder / "data"
    for label, write in (("GET /api/v1/patients/{id}", False), ("POST /api/v1/patients", True)):
        one = api_load(data, token, ids, 16, args.seconds, workers=1, write=write)
        many = api_load(data, token, ids, 16, args.seconds, workers=args.workers, write=write)
        print(
            f"API {label}, 16 clients: 1 process {one['rps']:,.0f} req/s p95 "
            f"{one['p95_ms']:.0f} ms; {args.workers} processes {many['rps']:,.0f} req/s p95 "
            f"{many['p95_ms']:.0f} ms; ratio {many['rps'] / one['rps']:.2f}x"
        )
    for old in (True, False):
        b = backup_while_writing(data, token, old)
        how = "old: dump in one write transaction" if old else "online copy"
        print(
            f"Backup while 4 clients write ({how}): "
            f"backup {b['backup_s']:.1f} s; {b['writes']} writes, {b['failed']} failed; "
            f"longest write {b['max_stall_s']:.2f} s, p95 {b['p95_ms']:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--assessments", type=int, default=200_000)
    parser.add_argument("--import-sheets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="page requests per kind")
    parser.add_argument("--seconds", type=float, default=10.0, help="API throughput run length")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="server processes vs one"
    )
    parser.add_argument(
        "--deploy-only",
        action="store_true",
        help="only the deployment figures (16 clients, writes, backup while writing)",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cpstem-bench-"))
    os.environ["CPSTEM_DATA_DIR"] = str(folder / "data")
    os.environ.pop("CPSTEM_DATABASE_URL", None)
    from cpstem.registry import setup

    setup.start()
    from cpstem.registry import users
    from cpstem.registry.models import ApiToken, Patient

    print(
        f"cpstem registry benchmark on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, SQLite (WAL)"
    )
    rng = np.random.default_rng(2026)
    loaded = load(args.patients, args.assessments // args.patients, rng)
    print(
        f"Loaded {args.patients:,} patients, {args.assessments:,} assessments "
        f"(GMFM-88 + GMFM-66) in {loaded['load_s']:.1f} s (bulk)"
    )
    users.create_user("bench-admin", "admin", None, "bench-password-123")
    clin = users.create_user("bench-clinician", "clinician", "S1", "bench-password-123")
    if args.deploy_only:
        deploy_figures(folder, clin, args)
        return
    times = page_times(args.requests, random.Random(7))
    for key, label in (
        ("list", "patient list (page of 50)"),
        ("list_filtered", "patient list, filtered"),
        ("page", "patient page"),
        ("chart", "trajectory chart (SVG)"),
    ):
        v = times[key]
        print(
            f"  {label:<28} p50 {statistics.median(v) * 1000:6.1f} ms   "
            f"p95 {p95(v) * 1000:6.1f} ms   (n={len(v)})"
        )
    _, token = ApiToken.objects.issue(clin, "bench")
    ids = list(Patient.objects.filter(site__code="S1").values_list("id", flat=True))
    from django.db import connections

    connections.close_all()
    one = api_throughput(folder / "data", token, ids, 1, args.seconds / 2)
    many = api_throughput(folder / "data", token, ids, args.clients, args.seconds)
    print(
        f"API GET /api/v1/patients/{{id}} (waitress, 8 threads): "
        f"{args.clients} clients {many:,.0f} req/s; "
        f"1 client {one:,.0f} req/s; ratio {many / one:.2f}x"
    )
    deploy_figures(folder, clin, args)
    imp = import_bench(args.import_sheets, folder, 300, rng)
    print(
        f"Bulk import of {args.import_sheets:,} GMFM-88 sheets (validated, audited, "
        f"all-or-nothing): {imp['bulk_s']:.1f} s "
        f"({args.import_sheets / imp['bulk_s']:,.0f} sheets/s)"
    )
    print(
        f"  naive ORM loop (validated save per sheet, {imp['naive_sample']} timed): "
        f"~{imp['naive_extrapolated_s']:.0f} s "
        f"extrapolated; bulk is {imp['naive_extrapolated_s'] / imp['bulk_s']:.0f}x faster"
    )


if __name__ == "__main__":
    main()
