"""Source data verification (issue 9, monitoring): a monitor marks a record of any kind verified,
a later change clears the mark (through the write path, and by the version check for a change
by any other path), the per-site progress (numbers counted by hand), roles and sites, the API.

Runs on SQLite and, with ``--db=postgresql``, on a throw-away PostgreSQL server.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from cpstem.registry.models import (
    AdverseEvent,
    Patient,
    Verification,
)
from cpstem.registry.services import verification, write
from tests.registry.record_helpers import one_of_each_kind

pytestmark = pytest.mark.django_db


def _records(patient: Patient) -> dict[str, object]:
    """One saved record of each kind (through the write path), and the patient itself."""
    return {"patient": patient, **one_of_each_kind(patient)}


def _status_html(page: str) -> str:
    return page.split('id="sdv-status"')[1].split("</p>")[0]


@pytest.mark.parametrize(
    "kind",
    [
        "patient",
        "classification",
        "administration",
        "rehab",
        "gmfm88",
        "gmfm66",
        "spasticity",
        "lab",
        "ae",
    ],
)
def test_verify_any_record_then_a_change_clears_it(web, people, patient, kind):
    obj = _records(patient)[kind]
    page_url = {
        "patient": f"/patients/{patient.pk}/",
        "gmfm88": f"/patients/{patient.pk}/gmfm88/{obj.pk}/",
    }.get(kind, f"/patients/{patient.pk}/{kind}/{obj.pk}/")
    m = web("monitor")
    page = m.get(page_url).content.decode()
    assert "not verified" in _status_html(page) and 'id="sdv-verify"' in page
    assert 'id="sdv-verify"' not in web("clin").get(page_url).content.decode()
    form = {"patient": patient.pk, "kind": kind, "rid": obj.pk, "version": obj.version}
    assert web("clin").post("/sdv/verify/", form).status_code == 403
    r = m.post("/sdv/verify/", form)
    assert r.status_code == 302 and r["Location"] == page_url
    status = _status_html(m.get(page_url).content.decode())
    assert "sdv-ok" in status and "version 1 by moni" in status
    # a change through the write path clears it (kept in the verification's audit trail)
    obj = type(obj).objects.get(pk=obj.pk)
    write.save(obj, reason="corrected against the source document")
    status = _status_html(m.get(page_url).content.decode())
    assert "not verified" in status and "changed since" in status
    v = Verification.objects.get(kind=kind, record_id=obj.pk)
    assert v.cleared_at is not None
    assert list(
        Verification.history.filter(id=v.pk)
        .order_by("history_id")
        .values_list("history_change_reason", flat=True)
    ) == [
        "source data verified (version 1)",
        "verification cleared: record changed (now version 2)",
    ]
    # verified again at the new version
    m.post("/sdv/verify/", form | {"version": 2})
    assert "version 2 by moni" in _status_html(m.get(page_url).content.decode())


def test_a_change_by_any_path_leaves_the_record_unverified(people, patient):
    ae = _records(patient)["ae"]
    verification.verify(people["monitor"], patient, "ae", ae.pk)
    assert verification.status("ae", ae).verified
    AdverseEvent.objects.get(pk=ae.pk).save()  # not the write path: the version moves on
    fresh = AdverseEvent.objects.get(pk=ae.pk)
    assert fresh.version == 2 and Verification.objects.get().cleared_at is None
    s = verification.status("ae", fresh)
    assert (s.verified, s.cleared, s.version) == (False, True, 1)


def test_deleting_a_record_clears_its_verification(people, patient):
    lab = _records(patient)["lab"]
    verification.verify(people["admin"], patient, "lab", lab.pk)
    write.delete(lab, reason="entered for the wrong child")
    v = Verification.objects.get(kind="lab")
    assert v.cleared_at is not None
    assert v.history.latest().history_change_reason == "verification cleared: record deleted"


def test_a_stale_page_does_not_verify(web, patient):
    ae = _records(patient)["ae"]
    ae.grade = 2
    write.save(ae, reason="grade per source")
    form = {"patient": patient.pk, "kind": "ae", "rid": ae.pk, "version": 1}
    r = web("monitor").post("/sdv/verify/", form, follow=True)
    assert "changed since you opened the page" in r.content.decode()
    assert not Verification.objects.exists()


def test_roles_and_sites(web, people, patient, sites):
    other = write.save(
        Patient(site=sites[1], study_id="KRK-001", birth_date=date(2018, 1, 5), sex="M")
    )
    with pytest.raises(PermissionDenied):
        verification.verify(people["clin"], patient, "patient", patient.pk)
    with pytest.raises(PermissionDenied):
        verification.progress(people["researcher"])
    with pytest.raises(PermissionDenied):
        verification.progress(people["clin"])
    form = {"patient": other.pk, "kind": "patient", "rid": other.pk}
    assert web("monitor").post("/sdv/verify/", form).status_code == 404
    assert web("monitor").post("/sdv/verify/", form | {"kind": "xray"}).status_code == 404
    assert web("monitor").post("/sdv/verify/", form | {"rid": "1e9"}).status_code == 404
    assert web("monitor").get("/sdv/verify/").status_code == 405
    assert web("clin").get("/sdv/").status_code == 403
    assert web("researcher").get("/sdv/").status_code == 403
    assert web("monitor").get("/sdv/?site=KRK").status_code == 404
    assert not Verification.objects.exists()


def test_progress_per_site_and_kind_counted_by_hand(web, api, people, patient, sites):
    """LUB: the patient and its 8 records (9 records); verified: the patient, the AE, the lab
    value, and the GMFM-66 -- whose verification a later change voids: 3 of 9 = 33.3 %.
    KRK: one patient (1 record), verified by the administrator: 1 of 1 = 100 %."""
    rec = _records(patient)
    mon, admin = people["monitor"], people["admin"]
    for kind in ("patient", "ae", "lab", "gmfm66"):
        verification.verify(mon, patient, kind, rec[kind].pk)
    rec["gmfm66"].score = 41
    write.save(rec["gmfm66"], reason="score per the GMAE print-out")
    other = write.save(
        Patient(site=sites[1], study_id="KRK-001", birth_date=date(2018, 1, 5), sex="M")
    )
    verification.verify(admin, other, "patient", other.pk)
    rows = {
        (r.site, r.kind): (r.verified, r.total, r.percent) for r in verification.progress(admin)
    }
    assert rows[("LUB", "all")] == (3, 9, 33.3)
    assert rows[("LUB", "patient")] == (1, 1, 100.0)
    assert rows[("LUB", "ae")] == (1, 1, 100.0)
    assert rows[("LUB", "lab")] == (1, 1, 100.0)
    assert rows[("LUB", "gmfm66")] == (0, 1, 0.0)
    assert rows[("LUB", "gmfm88")] == (0, 1, 0.0)
    assert rows[("KRK", "all")] == (1, 1, 100.0)
    assert rows[("KRK", "ae")] == (0, 0, None)
    assert len(rows) == 2 * 10  # 9 kinds and "all", per site
    # the monitor of LUB sees LUB only
    assert {r.site for r in verification.progress(mon)} == {"LUB"}
    page = web("monitor").get("/sdv/").content.decode()
    assert 'data-site="KRK"' not in page
    total = page.split('data-kind="all"')[1].split("</tr>")[0]
    assert '<td class="num">3</td><td class="num">9</td><td class="num">33.3</td>' in total
    # the API: the same numbers
    r = api("admin").get("/sdv/progress?site=LUB")
    assert r.status_code == 200
    body = {x["kind"]: (x["verified"], x["total"], x["percent"]) for x in r.json()}
    assert body["all"] == (3, 9, 33.3) and body["ae"] == (1, 1, 100.0)
    assert body["rehab"] == (0, 1, 0.0)
    assert api("monitor").get("/sdv/progress?site=KRK").status_code == 404
    assert api("clin").get("/sdv/progress").status_code == 403
    assert api("researcher").get("/sdv/progress").status_code == 403
    assert api("admin").get("/sdv/progress?sites=LUB").status_code == 422


def test_api_verifications(api, people, patient, sites):
    rec = _records(patient)
    m = api("monitor")
    r = m.post("/verifications", {"kind": "ae", "record_id": rec["ae"].pk})
    assert r.status_code == 201, r.json()
    assert {k: r.json()[k] for k in ("kind", "record_id", "patient_id", "version")} == {
        "kind": "ae",
        "record_id": rec["ae"].pk,
        "patient_id": patient.pk,
        "version": 1,
    }
    assert r.json()["verified_by"] == "moni"
    r = m.post("/verifications", {"kind": "patient", "record_id": patient.pk})
    assert r.status_code == 201 and r.json()["patient_id"] == patient.pk
    # a change through the API clears it
    r = api("clin").patch(
        f"/patients/{patient.pk}/adverse-events/{rec['ae'].pk}", {"grade": 2, "reason": "source"}
    )
    assert r.status_code == 200
    assert not verification.status("ae", AdverseEvent.objects.get(pk=rec["ae"].pk)).verified
    other = write.save(
        Patient(site=sites[1], study_id="KRK-001", birth_date=date(2018, 1, 5), sex="M")
    )
    assert m.post("/verifications", {"kind": "patient", "record_id": other.pk}).status_code == 404
    assert m.post("/verifications", {"kind": "lab", "record_id": 987654}).status_code == 404
    assert api("clin").post("/verifications", {"kind": "ae", "record_id": 1}).status_code == 403
    body = {"kind": "patient", "record_id": patient.pk}
    assert api("researcher").post("/verifications", body).status_code == 403
    for bad in (
        {"kind": "xray", "record_id": 1},
        {"kind": "ae", "record_id": 2**64},
        {"kind": "ae", "record_id": 0},
        {"kind": "ae", "record_id": "1; DROP TABLE"},
        {"kind": "ae"},
        {"kind": "ae", "record_id": 1, "version": 3},
        {"kind": True, "record_id": 1},
    ):
        r = m.post("/verifications", bad)
        assert r.status_code == 422, (bad, r.status_code)
    assert Verification.objects.count() == 2


def test_api_lists_a_patients_verifications_with_their_validity(api, people, patient):
    rec = _records(patient)
    for kind in ("ae", "lab", "patient"):
        verification.verify(people["monitor"], patient, kind, rec[kind].pk)
    rec["lab"].value = 3.3
    write.save(rec["lab"], reason="value per the lab report")
    r = api("clin").get(f"/verifications?patient={patient.pk}")
    assert r.status_code == 200
    got = [(x["kind"], x["record_id"], x["version"], x["current"]) for x in r.json()]
    assert got == [
        ("ae", rec["ae"].pk, 1, True),
        ("lab", rec["lab"].pk, 1, False),
        ("patient", patient.pk, 1, True),
    ]
    r = api("monitor").get(f"/verifications?patient={patient.pk}&kind=lab")
    assert [x["kind"] for x in r.json()] == ["lab"]
    assert api("monitor").get(f"/verifications?patient={patient.pk}&kind=x").status_code == 422
    assert api("researcher").get(f"/verifications?patient={patient.pk}").status_code == 403
    assert api("clin_b").get(f"/verifications?patient={patient.pk}").status_code == 404
    assert api("clin").get("/verifications").status_code == 422
