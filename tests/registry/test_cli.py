"""The registry commands, run as a user would (real process, real database)."""

from __future__ import annotations

import json
import urllib.request

import pandas as pd
import pytest

PASSWORD = "a-long-password-77"


def test_user_token_and_api(registry):
    r = registry.create_clinician("clara", "lub", PASSWORD + "\n")
    assert "Created clinician clara at site LUB" in r.stdout
    token = registry.run("token", "create", "clara").stdout.strip().splitlines()[-1]
    assert token.startswith("cps_")
    r = registry.run(
        "user",
        "create",
        "clara",
        "--role",
        "clinician",
        "--site",
        "LUB",
        "--password-stdin",
        stdin=PASSWORD,
        check=False,
    )
    assert r.returncode == 1 and r.stderr.strip() == "error: user clara already exists"
    r = registry.run(
        "user", "create", "x", "--role", "nurse", "--password-stdin", stdin=PASSWORD, check=False
    )
    assert r.returncode == 1 and "role 'nurse' is not valid" in r.stderr
    r = registry.run(
        "user", "create", "y", "--role", "monitor", "--password-stdin", stdin="short", check=False
    )
    assert r.returncode == 1 and "needs --site" in r.stderr
    r = registry.run(
        "user",
        "create",
        "z",
        "--role",
        "clinician",
        "--site",
        "LUB",
        "--password-stdin",
        stdin="short",
        check=False,
    )
    assert r.returncode == 1 and "password:" in r.stderr and "Traceback" not in r.stderr
    r = registry.run("user", "create", "admin", "--role", "admin", "--one-time-password")
    one_time = r.stdout.strip().splitlines()[-1]
    assert len(one_time) >= 12
    assert (
        "exists"
        in registry.run(
            "user", "create", "admin", "--role", "admin", "--one-time-password", "--if-missing"
        ).stdout
    )
    proc, url = registry.serve()
    try:
        req = urllib.request.Request(
            url + "/api/v1/patients",
            method="POST",
            data=json.dumps(
                {"study_id": "LUB-001", "birth_date": "2019-04-02", "sex": "F"}
            ).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 201 and json.loads(resp.read())["id"] >= 1
        with urllib.request.urlopen(url + "/static/registry/style.css") as resp:
            assert resp.status == 200 and b"tablet-friendly" in resp.read()
    finally:
        proc.terminate()
        proc.wait(10)
    # A leaked token can be found and revoked from the command line (before: Django admin only).
    listed = registry.run("token", "list", "clara").stdout
    assert token[:10] in listed and "never" not in listed
    assert "Revoked 1 token." in registry.run("token", "revoke", token[:10]).stdout
    r = registry.run("token", "revoke", token[:10], check=False)
    assert r.returncode == 1 and "no active token" in r.stderr


def test_demo_export_backup_restore(registry, tmp_path):
    r = registry.run("demo", "load", "--per-site", "6")
    assert "Loaded 12 SYNTHETIC demo patients" in r.stdout
    assert "already loaded" in registry.run("demo", "load").stdout
    r = registry.run("export", str(tmp_path / "x.csv"), check=False)
    assert r.returncode == 1 and "--pseudonymised" in r.stderr
    registry.run("export", "--pseudonymised", str(tmp_path / "out.csv"))
    registry.run("export", "--pseudonymised", str(tmp_path / "out.xlsx"))
    csv = pd.read_csv(tmp_path / "out.csv")
    assert len(csv) > 12 and csv["research_id"].str.match(r"^R[0-9A-F]{10}$").all()
    text = (tmp_path / "out.csv").read_text()
    assert "SYN-" not in text and "birth_date" not in text and "study_id" not in text
    sheets = pd.read_excel(tmp_path / "out.xlsx", sheet_name=None)
    assert {
        "analysis",
        "patients",
        "administrations",
        "gmfm",
        "spasticity",
        "adverse_events",
        "labs",
    } <= set(sheets)
    assert len(sheets["patients"]) == 12 and sheets["patients"]["synthetic"].all()
    backup = tmp_path / "b.json.gz"
    registry.run("backup", "--out", str(backup))
    from tests.registry.cli_env import Registry

    other = Registry(
        tmp_path / "restored", registry.env.get("CPSTEM_DATABASE_URL") and _fresh_db(registry)
    )
    r = other.run("restore", str(backup))
    assert "12 patients" in r.stdout
    other.run("export", "--pseudonymised", str(tmp_path / "again.csv"))
    assert (tmp_path / "again.csv").read_text() == text
    r = other.run("restore", str(backup), check=False)
    assert r.returncode == 1 and "--force" in r.stderr
    assert "12 patients" in other.run("restore", str(backup), "--force").stdout


def _fresh_db(registry) -> str:
    import psycopg

    url = registry.env["CPSTEM_DATABASE_URL"]
    base, _, _ = url.rpartition("/")
    name = "restored_" + url.rsplit("/", 1)[1]
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def test_import_all_or_nothing(registry, tmp_path):
    registry.run("demo", "load", "--per-site", "3")
    items = ",".join(f"item_{i}" for i in range(1, 89))
    good = ",".join(["2"] * 88)
    bad = ",".join(["2"] * 22 + ["7"] + ["2"] * 65)
    path = tmp_path / "in.csv"
    path.write_text(
        "# GMFM sheets\n"
        f"site,study_id,date,{items},gmfm66\n"
        f"DEMO-N,SYN-N-001,2020-01-01,{good},\n"
        f"DEMO-N,SYN-N-001,2099-01-01,{good},\n"
        f"DEMO-N,NOPE,2024-01-01,{good},\n"
        f"DEMO-N,SYN-N-002,{_recent()},{bad},150\n"
    )
    r = registry.run("import", str(path), "--report", str(tmp_path / "rej.csv"), check=False)
    assert r.returncode == 1
    assert "error: 4 of 4 rows rejected; nothing was imported" in r.stderr
    rej = pd.read_csv(tmp_path / "rej.csv")
    assert rej["line"].tolist() == [3, 4, 5, 6]
    assert "before the child's birth" in rej["problem"][0] or "before" in rej["problem"][0]
    assert "in the future" in rej["problem"][1] and "no patient NOPE" in rej["problem"][2]
    assert "GMFM item 23 score 7: allowed" in rej["problem"][3]
    assert "GMFM-66 150 is not valid" in rej["problem"][3]
    path.write_text(
        f"site,study_id,date,{items},gmfm66,gmfm66_se\nDEMO-N,SYN-N-001,{_recent()},{good},55.5,1.4\n"
    )
    r = registry.run("import", str(path))
    assert "Imported 1 GMFM-88 sheets (1 GMFM-66) for 1 patients" in r.stdout
    r = registry.run("import", str(path), check=False)
    assert (
        r.returncode == 1
        and "line 2 (SYN-N-001): a GMFM-88 for SYN-N-001 on" in r.stderr
        and "already in the registry" in r.stderr
    )


def _recent() -> str:
    from datetime import date, timedelta

    return (date.today() - timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("study_id,date\nA,2020-01-01\n", "no item columns"),
        ("date,item_1\n2020-01-01,1\n", "required column(s) missing: study_id"),
        ("study_id,date,item_99\nA,2020-01-01,1\n", "unknown column(s) item_99"),
    ],
)
def test_import_malformed_files(registry, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    r = registry.run("import", str(path), check=False)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_backup_moves_from_sqlite_to_postgresql(tmp_path, postgres_server):
    """A backup of a SQLite registry restores into PostgreSQL (and the data read the same)."""
    from tests.registry.cli_env import Registry

    lite = Registry(tmp_path / "lite")
    lite.run("demo", "load", "--per-site", "3")
    lite.create_clinician("clara", "DEMO-N", PASSWORD)
    lite.run("backup", "--out", str(tmp_path / "b.json.gz"))
    lite.run("export", "--pseudonymised", str(tmp_path / "lite.csv"))
    pg = Registry(tmp_path / "pg", postgres_server.url(postgres_server.create_database()))
    assert "6 patients, 2 sites, 1 users" in pg.run("restore", str(tmp_path / "b.json.gz")).stdout
    pg.run("export", "--pseudonymised", str(tmp_path / "pg.csv"))
    assert (tmp_path / "pg.csv").read_text() == (tmp_path / "lite.csv").read_text()
    out = pg.python(
        "from cpstem.registry import setup; setup.start(migrate=False)\n"
        "from django.db import connection\n"
        "from cpstem.registry.models import Patient\n"
        "print(connection.vendor, Patient.history.count())"
    ).stdout.split()
    assert out == ["postgresql", "6"]
