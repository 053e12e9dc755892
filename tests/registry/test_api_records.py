"""PATCH, DELETE and single-record GET of the patient and every record kind (issue 9, "API
completeness"): a reason for change (422 ``required`` without), the ETag from the version,
412 for a stale ``If-Match``, the same write path and rules as every entry, the audit trail.

Runs on SQLite and, with ``--db=postgresql``, on a throw-away PostgreSQL server.
"""

from __future__ import annotations

import pytest

from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    GMFM66Assessment,
    GMFM88Assessment,
    Patient,
)
from tests.factories import item_map_text

pytestmark = pytest.mark.django_db

PATIENT = {"study_id": "LUB-001", "birth_date": "2019-04-02", "sex": "F"}
SHEET = {"date": "2024-05-01", "items": {"1": 3, "2": 3, "23": 2, "52": "NT"}}
AE = {
    "onset_date": "2024-05-02",
    "term": "fever",
    "grade": 2,
    "serious": False,
    "relatedness": "possible",
}
CELLS = {
    "date": "2024-04-20",
    "product": "ucb",
    "origin": "allogeneic",
    "route": "intravenous",
    "cell_count": "4.5e8",
    "weight_kg": 15,
    "lot": "LOT-7",
}


@pytest.fixture
def pid(api):
    r = api("clin").post("/patients", PATIENT)
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _post(api, path: str, body: dict) -> int:
    r = api("clin").post(path, body)
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _history(api, pid: int) -> list[dict]:
    r = api("clin").get(f"/patients/{pid}/history")
    assert r.status_code == 200
    return r.json()


def test_patch_adverse_event_with_reason_etag_and_audit(api, pid):
    rid = _post(api, f"/patients/{pid}/adverse-events", AE)
    c = api("clin")
    url = f"/patients/{pid}/adverse-events/{rid}"
    r = c.get(url)
    assert r.status_code == 200 and r["ETag"] == '"1"'
    assert r.json()["grade"] == 2 and r.json()["version"] == 1 and r.json()["notes"] == ""
    r = c.patch(
        url,
        {"grade": 3, "resolution_date": "2024-05-06", "reason": "grade corrected per source"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.content
    assert r["ETag"] == '"2"'
    body = r.json()
    # partial: the fields left out are unchanged
    assert (body["grade"], body["term"], body["onset_date"]) == (3, "fever", "2024-05-02")
    assert body["resolution_date"] == "2024-05-06" and body["version"] == 2
    ae = AdverseEvent.objects.get(pk=rid)
    assert ae.grade == 3 and ae.version == 2
    (change,) = [h for h in _history(api, pid) if h["action"] == "changed"]
    assert change["user"] == "clara" and change["reason"] == "grade corrected per source"
    assert {"field": "grade", "old": "2", "new": "3"} in change["changes"]


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (None, "required"),
        ("   ", "required"),
        ("fixed\u202etypo", "control_characters"),
        ("line one\nline two", "control_characters"),
        ("x" * 101, "max_length"),
    ],
)
def test_patch_needs_a_plain_reason(api, pid, reason, code):
    rid = _post(api, f"/patients/{pid}/adverse-events", AE)
    body = {"grade": 3} | ({} if reason is None else {"reason": reason})
    r = api("clin").patch(f"/patients/{pid}/adverse-events/{rid}", body)
    assert r.status_code == 422, r.content
    assert r.json()["codes"] == {"reason": [code]}
    assert AdverseEvent.objects.get(pk=rid).grade == 2  # nothing written


def test_stale_if_match_is_refused_with_412(api, pid):
    rid = _post(api, f"/patients/{pid}/adverse-events", AE)
    url = f"/patients/{pid}/adverse-events/{rid}"
    first, second = api("clin"), api("admin")
    etag = first.get(url)["ETag"]
    assert second.get(url)["ETag"] == etag == '"1"'
    r = first.patch(url, {"grade": 3, "reason": "per source"}, headers={"If-Match": etag})
    assert r.status_code == 200
    # the second client's change is based on version 1: refused, nothing overwritten
    r = second.patch(url, {"grade": 1, "reason": "per CRF"}, headers={"If-Match": etag})
    assert r.status_code == 412
    assert r.json() == {
        "detail": r.json()["detail"],
        "code": "stale_version",
        "expected": 1,
        "current": 2,
        "etag": '"2"',
    }
    assert AdverseEvent.objects.get(pk=rid).grade == 3
    r = second.delete(url + "?reason=duplicate", headers={"If-Match": etag})
    assert r.status_code == 412 and AdverseEvent.objects.filter(pk=rid).exists()
    # with the current ETag (or *) it goes through
    r = second.patch(url, {"grade": 1, "reason": "per CRF"}, headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r["ETag"] == '"3"'
    r = second.patch(url, {"notes": "checked", "reason": "SDV"}, headers={"If-Match": "*"})
    assert r.status_code == 200 and r.json()["notes"] == "checked"


def test_delete_needs_a_reason_and_keeps_the_audit_trail(api, pid):
    rid = _post(
        api,
        f"/patients/{pid}/labs",
        {"date": "2024-05-01", "analyte": "CRP", "value": 3.2, "unit": "mg/L"},
    )
    c = api("clin")
    url = f"/patients/{pid}/labs/{rid}"
    r = c.delete(url)
    assert r.status_code == 422 and r.json()["codes"] == {"reason": ["required"]}
    r = c.delete(url + "?reason=wrong%20patient")
    assert r.status_code == 204 and r.content == b""
    assert c.get(url).status_code == 404
    (gone,) = [h for h in _history(api, pid) if h["action"] == "deleted"]
    assert gone["record"] == "lab value" and gone["reason"] == "wrong patient"


def test_gmfm_patch_merges_items_and_rescores(api, pid):
    rid = _post(api, f"/patients/{pid}/assessments/gmfm", SHEET)
    c = api("clin")
    url = f"/patients/{pid}/assessments/gmfm/{rid}"
    r = c.patch(url, {"items": {"2": 1, "23": None}, "reason": "items 2 and 23 re-read"})
    assert r.status_code == 200, r.content
    body = r.json()
    # A: items 1 (3) + 2 (1) = 4 of 51; B: item 23 now not tested = 0 of 60
    assert body["dimension_raw"] == {"A": 4, "B": 0, "C": 0, "D": 0, "E": 0}
    assert body["total"] == pytest.approx(4 / 51 * 100 / 5)
    assert body["items"]["1"] == 3 and body["items"]["2"] == 1 and body["items"]["23"] is None
    assert 23 in body["not_tested"] and body["version"] == 2
    # an item score outside 0-3 is refused by the same scorer as every entry
    r = c.patch(url, {"items": {"5": 4}, "reason": "typo"})
    assert r.status_code == 422 and r.json()["codes"] == {"items": ["invalid_score"]}


def test_patch_goes_through_the_same_rules_with_the_bodys_field_names(api, pid):
    rid = _post(api, f"/patients/{pid}/adverse-events", AE)
    url = f"/patients/{pid}/adverse-events/{rid}"
    r = api("clin").patch(url, {"onset_date": "2018-01-01", "reason": "date corrected"})
    assert r.status_code == 422 and r.json()["codes"] == {"onset_date": ["before_birth"]}
    r = api("clin").patch(url, {"grade": 5, "outcome": "fatal", "reason": "x"})
    assert r.status_code == 422 and r.json()["codes"] == {"serious": ["fatal_not_serious"]}
    r = api("clin").patch(url, {"grade": None, "reason": "x"})
    assert r.status_code == 422 and "grade" in r.json()["codes"]
    r = api("clin").patch(url, {"colour": "red", "reason": "x"})
    assert r.status_code == 422 and "colour" in r.json()["codes"]
    assert AdverseEvent.objects.get(pk=rid).version == 1


def test_administration_patch_recomputes_the_dose(api, pid):
    rid = _post(api, f"/patients/{pid}/administrations", CELLS)
    c = api("clin")
    url = f"/patients/{pid}/administrations/{rid}"
    r = c.get(url)
    assert r.json()["dose_cells_per_kg"] == pytest.approx(3e7) and r.json()["lot"] == "LOT-7"
    # the weight corrected: the total count stays, the dose per kg follows (4.5e8 / 18)
    r = c.patch(url, {"weight_kg": 18, "reason": "weight from the ward sheet"})
    assert r.status_code == 200, r.content
    assert r.json()["cells_total"] == pytest.approx(4.5e8)
    assert r.json()["dose_cells_per_kg"] == pytest.approx(2.5e7)
    # the count given per kg: total = 2e7 x 18
    r = c.patch(url, {"cell_count": "2e7", "cell_count_unit": "per_kg", "reason": "per kg"})
    assert r.status_code == 200, r.content
    assert r.json()["cells_total"] == pytest.approx(3.6e8)
    r = c.patch(url, {"cell_count_unit": "per_kg", "reason": "unit only"})
    assert r.status_code == 422 and r.json()["codes"] == {"cell_count": ["required"]}


def test_other_record_kinds(api, pid):
    c = api("clin")
    cid = _post(
        api,
        f"/patients/{pid}/classifications",
        {"date": "2023-01-10", "system": "gmfcs", "level": "III"},
    )
    r = c.patch(f"/patients/{pid}/classifications/{cid}", {"level": "II", "reason": "re-rated"})
    assert r.status_code == 200 and r.json()["level"] == 2
    assert Patient.objects.get(pk=pid).gmfcs == 2  # derived data refreshed
    rid = _post(
        api,
        f"/patients/{pid}/rehabilitation",
        {"therapy": "physiotherapy", "hours_per_week": 3, "start_date": "2023-02-01"},
    )
    r = c.patch(
        f"/patients/{pid}/rehabilitation/{rid}", {"start_date": "2023-03-01", "reason": "x"}
    )
    assert r.status_code == 200 and r.json()["start_date"] == "2023-03-01"
    gid = _post(api, f"/patients/{pid}/assessments/gmfm66", {"date": "2024-01-10", "score": 40})
    r = c.patch(f"/patients/{pid}/assessments/gmfm66/{gid}", {"se": 1.5, "reason": "GMAE SE"})
    assert r.status_code == 200 and (r.json()["score"], r.json()["se"]) == (40, 1.5)
    sid = _post(
        api,
        f"/patients/{pid}/assessments/spasticity",
        {"date": "2024-01-10", "mas": [{"muscle": "hamstrings", "side": "L", "grade": "1+"}]},
    )
    r = c.patch(
        f"/patients/{pid}/assessments/spasticity/{sid}",
        {"mas": [{"muscle": "hamstrings", "side": "R", "grade": "2"}], "reason": "side"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["mas"] == [{"muscle": "hamstrings", "side": "right", "grade": "2"}]
    for path in (
        "classifications",
        "rehabilitation",
        "assessments/gmfm66",
        "assessments/spasticity",
    ):
        rid_ = {"classifications": cid, "rehabilitation": rid}.get(path) or (
            gid if path.endswith("gmfm66") else sid
        )
        assert c.delete(f"/patients/{pid}/{path}/{rid_}?reason=test").status_code == 204, path
    assert Patient.objects.get(pk=pid).gmfcs is None


def test_patient_patch_and_delete(api, pid):
    c = api("clin")
    r = c.get(f"/patients/{pid}")
    assert r["ETag"] == '"1"'
    r = c.patch(f"/patients/{pid}", {"sex": "M", "reason": "sex entered wrongly"})
    assert r.status_code == 200 and r.json()["sex"] == "M" and r["ETag"] == '"2"'
    r = c.patch(f"/patients/{pid}", {"birth_date": "2030-01-01", "reason": "x"})
    assert r.status_code == 422 and r.json()["codes"] == {"birth_date": ["in_future"]}
    r = c.patch(f"/patients/{pid}", {"site": "KRK", "reason": "x"})
    assert r.status_code == 422  # the site is not changed by PATCH
    _post(api, f"/patients/{pid}/adverse-events", AE)
    r = c.delete(f"/patients/{pid}?reason=enrolled%20by%20mistake")
    assert r.status_code == 409
    assert r.json()["code"] == "has_dependants" and r.json()["dependants"] == ["1 adverse event"]
    AdverseEvent.objects.all().delete()
    assert c.delete(f"/patients/{pid}?reason=enrolled%20by%20mistake").status_code == 204
    assert not Patient.objects.filter(pk=pid).exists()
    assert Patient.history.filter(id=pid, history_type="-").get().history_change_reason == (
        "enrolled by mistake"
    )


def test_administration_with_adverse_events_is_not_deleted(api, pid):
    aid = _post(api, f"/patients/{pid}/administrations", CELLS)
    _post(api, f"/patients/{pid}/adverse-events", AE)  # attributed to it (latest before onset)
    r = api("clin").delete(f"/patients/{pid}/administrations/{aid}?reason=wrong%20lot")
    assert r.status_code == 409
    assert r.json()["dependants"] == ["adverse event fever (grade 2, 2024-05-02)"]
    assert Administration.objects.filter(pk=aid).exists()


def test_sheet_delete_takes_its_computed_gmfm66_along(api, pid, settings, tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(item_map_text())
    settings.CPSTEM = settings.CPSTEM | {"GMFM66_ITEM_MAP": str(path)}
    rid = _post(api, f"/patients/{pid}/assessments/gmfm", SHEET)
    derived = GMFM66Assessment.objects.get(sheet_id=rid)
    r = api("clin").delete(f"/patients/{pid}/assessments/gmfm/{rid}?reason=wrong%20child")
    assert r.status_code == 204
    assert not GMFM88Assessment.objects.exists() and not GMFM66Assessment.objects.exists()
    gone = GMFM66Assessment.history.get(id=derived.pk, history_type="-")
    assert (
        gone.history_change_reason
        == "wrong child (deleted with GMFM-88 assessment GMFM-88 2024-05-01)"
    )


def test_roles_and_sites(api, pid):
    rid = _post(api, f"/patients/{pid}/adverse-events", AE)
    url = f"/patients/{pid}/adverse-events/{rid}"
    assert api("monitor").get(url).status_code == 200
    assert api("monitor").patch(url, {"grade": 3, "reason": "x"}).status_code == 403
    assert api("monitor").delete(url + "?reason=x").status_code == 403
    assert api("clin_b").get(url).status_code == 404
    assert api("clin_b").patch(url, {"grade": 3, "reason": "x"}).status_code == 404
    assert api("clin_b").delete(f"/patients/{pid}?reason=x").status_code == 404
    r = api("researcher").get(url)
    assert r.status_code == 403 and "pseudonymised export" in r.json()["detail"]
    assert (
        api("researcher").patch(f"/patients/{pid}", {"sex": "M", "reason": "x"}).status_code == 403
    )
    assert api("admin").patch(url, {"grade": 3, "reason": "x"}).status_code == 200
    assert AdverseEvent.objects.get(pk=rid).grade == 3
