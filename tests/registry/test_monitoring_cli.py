"""``cpstem queries`` and ``cpstem sdv``: the monitor's query report and SDV progress from the
command line (table, CSV with formula-safe cells, JSON; unknown site or state: exit code 2)."""

from __future__ import annotations

import csv
import io
import json

SETUP = """
from datetime import date
from cpstem.registry import setup
setup.start()
from cpstem.registry import users
from cpstem.registry.models import Classification, Patient
from cpstem.registry.services import queries, verification, write
moni = users.create_user("moni", "monitor", "LUB", "pw-123456789x", create_site=True)
users.get_site("KRK", create=True, name="Krakow")
p = write.save(Patient(site=users.get_site("LUB"), study_id="LUB-7", birth_date=date(2019, 1, 1), sex="F"))
c = write.save(Classification(patient=p, date=date(2023, 1, 10), system="gmfcs", level=2))
q = queries.open_query(moni, p, "classification", c.pk, "level", "=HYPERLINK(x) level 2 or 3?")
queries.open_query(moni, p, "patient", p.pk, "sex", "sex as on the birth certificate?")
queries.close(moni, q, "=checked")
verification.verify(moni, p, "patient", p.pk)
"""


def test_query_report_and_sdv_progress(registry):
    registry.python(SETUP)

    r = registry.run("queries", "--format", "json")
    (open_,) = json.loads(r.stdout)  # by default the unresolved ones only
    assert (open_["study_id"], open_["record"], open_["field"]) == (
        "LUB-7",
        "Child (patient data)",
        "sex",
    )
    assert open_["state"] == "open" and open_["opened_by"] == "moni" and open_["days_open"] >= 0
    assert open_["last_message"] == "sex as on the birth certificate?"

    r = registry.run("queries", "--state", "all", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [x["state"] for x in rows] == ["closed", "open"]  # oldest first
    assert rows[0]["last_message"] == "'=checked"  # a spreadsheet does not run it
    assert rows[0]["days_open"] == ""

    table = registry.run("queries", "--state", "closed").stdout
    assert "Queries, closed (1)" in table and "LUB-7" in table
    assert json.loads(registry.run("queries", "--site", "krk", "--format", "json").stdout) == []
    assert registry.run("queries", "--site", "NOPE", check=False).returncode == 2
    bad = registry.run("queries", "--state", "pending", check=False)
    assert bad.returncode == 2 and "one of open, answered, closed or all" in bad.stdout

    progress = json.loads(registry.run("sdv", "--site", "LUB", "--format", "json").stdout)
    by_kind = {x["kind"]: x for x in progress}
    assert (by_kind["patient"]["verified"], by_kind["patient"]["total"]) == (1, 1)
    assert (by_kind["classification"]["verified"], by_kind["classification"]["total"]) == (0, 1)
    assert (by_kind["all"]["verified"], by_kind["all"]["total"], by_kind["all"]["percent"]) == (
        1,
        2,
        50.0,
    )
    sites = {x["site"] for x in json.loads(registry.run("sdv", "--format", "json").stdout)}
    assert sites == {"LUB", "KRK"}
    assert "Source data verification" in registry.run("sdv").stdout
