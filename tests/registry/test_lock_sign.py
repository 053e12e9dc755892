"""Locks (patient and site) refuse every write path until unlocked with a reason; electronic
signatures need the password, are audited and superseded by a later change."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from cpstem.registry import importer
from cpstem.registry.errors import FieldErrors, Locked, SignatureRefused
from cpstem.registry.models import (
    Classification,
    GMFM88Assessment,
    LabValue,
    Lock,
    Patient,
    Signature,
)
from cpstem.registry.services import history, locking, signatures, write
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

REASON = "analysis freeze for the interim report"


def _lab(patient: Patient) -> LabValue:
    return write.save(
        LabValue(patient=patient, date=date(2024, 5, 1), analyte="CRP", value=3.2, unit="mg/L")
    )


def _request():
    r = RequestFactory().post("/patients/1/sign/", REMOTE_ADDR="10.0.0.7")
    return r


# --- locking: the service ---------------------------------------------------------------------


def test_lock_refuses_create_update_delete_in_the_write_path(people, patient):
    lab = _lab(patient)
    locking.lock_patient(patient, people["admin"], REASON)
    with pytest.raises(Locked) as exc:
        write.save(Classification(patient=patient, date=date(2023, 1, 1), system="gmfcs", level=2))
    assert exc.value.code == "locked"
    assert exc.value.lock["reason"] == REASON and exc.value.lock["locked_by"] == "ada"
    assert exc.value.lock["scope"] == "patient"
    assert "LUB-001 is locked" in exc.value.message and REASON in exc.value.message
    lab.value = 4.0
    with pytest.raises(Locked):
        write.save(lab, reason="corrected")
    with pytest.raises(Locked):
        write.delete(lab, reason="wrong child")
    patient.sex = "M"
    with pytest.raises(Locked):
        write.save(patient, reason="typo")
    # nothing was written
    assert (
        LabValue.objects.get(pk=lab.pk).value == 3.2
        and LabValue.objects.get(pk=lab.pk).version == 1
    )
    assert Classification.objects.count() == 0
    assert Patient.objects.get(pk=patient.pk).sex == "F"


def test_unlock_needs_an_admin_and_a_reason_then_writes_pass(people, patient):
    locking.lock_patient(patient, people["admin"], REASON)
    with pytest.raises(FieldErrors) as exc:
        locking.unlock_patient(patient, people["admin"], "  ")
    assert exc.value.codes == {"reason": ["required"]}
    with pytest.raises(PermissionDenied):
        locking.unlock_patient(patient, people["clin"], "I want to edit")
    with pytest.raises(FieldErrors) as exc:
        locking.lock_patient(patient, people["admin"], "again")
    assert exc.value.codes == {"__all__": ["already_locked"]}
    lock = locking.unlock_patient(patient, people["admin"], "interim report done")
    assert lock.unlock_reason == "interim report done" and lock.unlocked_by == people["admin"]
    _lab(patient)  # writes pass again
    assert LabValue.objects.count() == 1


def test_only_an_admin_locks(people, patient, sites):
    for role in ("clin", "monitor", "researcher"):
        with pytest.raises(PermissionDenied):
            locking.lock_patient(patient, people[role], REASON)
        with pytest.raises(PermissionDenied):
            locking.lock_site(sites[0], people[role], REASON)
    assert Lock.objects.count() == 0


def test_site_lock_covers_its_patients_and_new_patients_not_other_sites(people, patient, sites):
    other = write.save(
        Patient(site=sites[1], study_id="KRK-001", birth_date=date(2019, 1, 1), sex="M")
    )
    locking.lock_site(sites[0], people["admin"], REASON)
    with pytest.raises(Locked) as exc:
        _lab(patient)
    assert exc.value.lock["scope"] == "site" and exc.value.lock["site"] == "LUB"
    with pytest.raises(Locked):
        write.save(Patient(site=sites[0], study_id="LUB-002", birth_date=date(2020, 1, 1), sex="F"))
    _lab(other)  # KRK is open
    # moving an open site's patient into the locked site is refused too
    other.site = sites[0]
    with pytest.raises(Locked):
        write.save(other, reason="wrong site")
    locking.unlock_site(sites[0], people["admin"], "freeze lifted")
    _lab(patient)


def test_lock_refuses_the_csv_import(people, patient, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"study_id,date,item_1\n{patient.study_id},2023-01-01,2\n")
    locking.lock_patient(patient, people["admin"], REASON)
    with pytest.raises(Locked):
        importer.import_gmfm(path)
    assert GMFM88Assessment.objects.count() == 0
    locking.unlock_patient(patient, people["admin"], "freeze lifted")
    assert importer.import_gmfm(path).sheets == 1


def test_lock_refuses_the_fhir_import(people, sites):
    from cpstem.registry import privacy
    from cpstem.registry.fhir.export import patient_bundle
    from cpstem.registry.fhir.importer import import_resources
    from tests.registry.fhir_helpers import resources, rich_patient

    child = rich_patient(sites[0])
    items = resources(patient_bundle(child, privacy.project(people["clin"])))
    Patient.objects.filter(pk=child.pk).delete()
    locking.lock_site(sites[0], people["admin"], REASON)
    with pytest.raises(Locked):
        import_resources(items)
    assert not Patient.objects.filter(study_id="LUB-FHIR-1").exists()


def test_lock_and_unlock_are_in_the_patient_history(people, patient):
    locking.lock_patient(patient, people["admin"], REASON)
    locking.unlock_patient(patient, people["admin"], "interim report done")
    entries = [(c.kind, c.user, c.reason) for c in history.patient_history(patient)]
    assert entries[:2] == [
        ("unlocked", "ada", "interim report done"),
        ("locked", "ada", REASON),
    ]
    assert Lock.history.count() == 2  # the audit trail of the lock row itself


# --- locking: web and API ---------------------------------------------------------------------


def test_form_of_a_locked_patient_is_refused_with_who_when_why(web, people, patient):
    lab = _lab(patient)
    locking.lock_patient(patient, people["admin"], REASON)
    c = web("clin")
    for url in (
        f"/patients/{patient.pk}/lab/{lab.pk}/edit/",
        f"/patients/{patient.pk}/lab/new/",
        f"/patients/{patient.pk}/lab/{lab.pk}/delete/",
        f"/patients/{patient.pk}/edit/",
        f"/patients/{patient.pk}/delete/",
    ):
        r = c.get(url)
        assert r.status_code == 423, url
        html = r.content.decode()
        assert "This patient is locked" in html and REASON in html and "ada" in html
    r = c.post(
        f"/patients/{patient.pk}/lab/{lab.pk}/edit/",
        {
            "date": "2024-05-01",
            "analyte": "CRP",
            "value": "9",
            "unit": "mg/L",
            "reason": "x",
            "version": "1",
        },
    )
    assert r.status_code == 423 and LabValue.objects.get(pk=lab.pk).value == 3.2
    page = c.get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="lock-banner"' in page and REASON in page


def test_a_site_lock_refuses_a_new_patient_form(web, people, sites):
    locking.lock_site(sites[0], people["admin"], REASON)
    r = web("clin").post(
        "/patients/new/", {"study_id": "LUB-009", "birth_date": "2020-01-01", "sex": "F"}
    )
    assert r.status_code == 423 and "Site LUB is locked" in r.content.decode()
    assert not Patient.objects.filter(study_id="LUB-009").exists()


def test_lock_page_and_site_page_are_for_admins(web, people, patient, sites):
    assert web("clin").get(f"/patients/{patient.pk}/lock/").status_code == 403
    assert web("monitor").get("/locks/").status_code == 403
    r = web("admin").post(f"/patients/{patient.pk}/lock/", {"reason": ""})
    assert r.status_code == 200 and not Lock.objects.exists()
    r = web("admin").post(f"/patients/{patient.pk}/lock/", {"reason": REASON})
    assert r.status_code == 302 and locking.active_lock(patient.pk).reason == REASON
    r = web("admin").post(f"/patients/{patient.pk}/unlock/", {"reason": "done"})
    assert r.status_code == 302 and locking.active_lock(patient.pk) is None
    r = web("admin").post("/locks/", {"site": "KRK", "action": "lock", "reason": REASON})
    assert r.status_code == 302 and Lock.objects.get(site=sites[1]).active
    assert "KRK" in web("admin").get("/locks/").content.decode()


def test_api_lock_answers_423_on_every_write_and_unlock_needs_a_reason(api, people, patient):
    lab = _lab(patient)
    base = f"/patients/{patient.pk}"
    assert api("clin").post(base + "/lock", {"reason": REASON}).status_code == 403
    r = api("admin").post(base + "/lock", {"reason": REASON})
    assert (
        r.status_code == 201 and r.json()["scope"] == "patient" and r.json()["locked_by"] == "ada"
    )
    r = api("clin").post(
        base + "/labs", {"date": "2024-05-02", "analyte": "CRP", "value": 1, "unit": "mg/L"}
    )
    assert r.status_code == 423
    body = r.json()
    assert body["code"] == "locked" and body["lock"]["reason"] == REASON
    assert (
        api("clin").patch(base + f"/labs/{lab.pk}", {"value": 5, "reason": "typo"}).status_code
        == 423
    )
    assert api("clin").delete(base + f"/labs/{lab.pk}?reason=wrong").status_code == 423
    assert api("clin").patch(base, {"sex": "M", "reason": "typo"}).status_code == 423
    assert LabValue.objects.get(pk=lab.pk).value == 3.2
    r = api("admin").post(base + "/unlock", {})
    assert r.status_code == 422 and "reason" in r.json()["errors"]
    r = api("admin").post(base + "/unlock", {"reason": " "})
    assert r.status_code == 422 and r.json()["codes"] == {"reason": ["required"]}
    assert api("admin").post(base + "/unlock", {"reason": "done"}).status_code == 201
    assert (
        api("clin").patch(base + f"/labs/{lab.pk}", {"value": 5, "reason": "typo"}).status_code
        == 200
    )


def test_api_site_lock_is_admin_only(api, sites, patient):
    assert api("clin").post("/sites/LUB/lock", {"reason": REASON}).status_code == 403
    assert api("admin").post("/sites/NOPE/lock", {"reason": REASON}).status_code == 404
    r = api("admin").post("/sites/LUB/lock", {"reason": REASON})
    assert r.status_code == 201 and r.json()["site"] == "LUB"
    r = api("clin").post(
        f"/patients/{patient.pk}/classifications",
        {"date": "2023-01-01", "system": "gmfcs", "level": "II"},
    )
    assert r.status_code == 423 and r.json()["lock"]["scope"] == "site"
    assert api("admin").post("/sites/LUB/unlock", {"reason": "done"}).status_code == 201


def test_api_clinician_of_another_site_cannot_reach_the_lock(api, patient):
    assert api("clin_b").post(f"/patients/{patient.pk}/lock", {"reason": REASON}).status_code == 404


# --- signatures -------------------------------------------------------------------------------


def test_signature_needs_the_password_and_records_meaning_signer_hash(people, patient):
    _lab(patient)
    with pytest.raises(SignatureRefused) as exc:
        signatures.sign(patient, people["clin"], "not-my-password", _request())
    assert exc.value.code == "wrong_password"
    assert Signature.objects.count() == 0
    s = signatures.sign(patient, people["clin"], PASSWORD, _request())
    assert s.meaning == "I confirm the data of this patient are complete and correct"
    assert s.signer_username == "clara" and s.signer_role == "clinician"
    assert len(s.content_hash) == 64 and s.valid
    assert f"patient:{patient.pk}=v1" in s.content_version
    assert s.content_hash == signatures.content(patient)[0]  # the same data, the same hash


def test_wrong_passwords_are_counted_by_the_login_throttling(people, patient, settings):
    from axes.models import AccessAttempt

    for _ in range(2):
        with pytest.raises(SignatureRefused):
            signatures.sign(patient, people["clin"], "wrong", _request())
    attempt = AccessAttempt.objects.get(username="clara")
    assert attempt.failures_since_start == 2


def test_too_many_wrong_passwords_lock_the_signer_out(people, patient, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        with pytest.raises(SignatureRefused):
            signatures.sign(patient, people["clin"], "wrong", _request())
    with pytest.raises(SignatureRefused) as exc:
        signatures.sign(patient, people["clin"], PASSWORD, _request())
    assert exc.value.code == "locked_out"
    assert Signature.objects.count() == 0


def test_roles_and_sites_that_may_sign(people, patient):
    for role in ("monitor", "researcher", "clin_b"):
        with pytest.raises(SignatureRefused) as exc:
            signatures.sign(patient, people[role], PASSWORD, _request())
        assert exc.value.code == "not_allowed"
    assert signatures.sign(patient, people["admin"], PASSWORD, _request()).signer_role == "admin"


def test_a_later_change_supersedes_the_signature(people, patient):
    lab = _lab(patient)
    s = signatures.sign(patient, people["clin"], PASSWORD, _request())
    lab.value = 4.1
    write.save(lab, reason="transcription error corrected")
    s.refresh_from_db()
    assert not s.valid and s.superseded_reason == "changed: lab value CRP 4.1 mg/L"
    assert s.content_hash != signatures.content(patient)[0]
    kinds = [c.kind for c in history.patient_history(patient)]
    assert "signed" in kinds and "superseded" in kinds


def test_a_new_record_and_a_delete_supersede_too(people, patient):
    s = signatures.sign(patient, people["clin"], PASSWORD, _request())
    lab = _lab(patient)
    s.refresh_from_db()
    assert not s.valid and s.superseded_reason.startswith("created:")
    s2 = signatures.sign(patient, people["clin"], PASSWORD, _request())
    write.delete(lab, reason="wrong child")
    s2.refresh_from_db()
    assert not s2.valid and s2.superseded_reason.startswith("deleted:")


def test_sign_page_refuses_a_wrong_password_and_accepts_the_right_one(web, patient):
    c = web("clin")
    url = f"/patients/{patient.pk}/sign/"
    r = c.post(url, {"meaning": "complete_and_correct", "password": "wrong"})
    assert r.status_code == 403 and "wrong password" in r.content.decode()
    assert Signature.objects.count() == 0
    r = c.post(url, {"meaning": "complete_and_correct", "password": PASSWORD})
    assert r.status_code == 302
    page = c.get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="signature-banner"' in page and "Signed by" in page
    hist = c.get(f"/patients/{patient.pk}/history/").content.decode()
    assert (
        "signed" in hist and "I confirm the data of this patient are complete and correct" in hist
    )
    assert web("monitor").get(url).status_code == 403


def test_patient_page_says_the_signature_is_superseded(web, people, patient):
    lab = _lab(patient)
    signatures.sign(patient, people["clin"], PASSWORD, _request())
    lab.value = 5.0
    write.save(lab, reason="transcription error corrected")
    page = web("monitor").get(f"/patients/{patient.pk}/").content.decode()
    assert "superseded" in page and 'id="signature-banner"' in page


def test_api_signatures(api, patient):
    path = f"/patients/{patient.pk}/signatures"
    r = api("clin").post(path, {"password": "Xyzzy-typo-42"})
    assert r.status_code == 403 and r.json()["code"] == "wrong_password"
    assert "Xyzzy" not in r.content.decode()  # the password is not echoed
    r = api("clin").post(path, {"password": PASSWORD})
    assert r.status_code == 201 and r.json()["valid"] and r.json()["signer_username"] == "clara"
    r = api("clin").post(path, {"password": PASSWORD, "meaning": "approval"})
    assert r.status_code == 422 and r.json()["codes"] == {"meaning": ["unknown_meaning"]}
    assert api("monitor").post(path, {"password": PASSWORD}).status_code == 403
    assert api("clin_b").post(path, {"password": PASSWORD}).status_code == 404
    listed = api("monitor").get(path).json()
    assert len(listed) == 1 and listed[0]["meaning_code"] == "complete_and_correct"
    assert api("clin_b").get(path).status_code == 404


def test_the_password_is_not_in_the_audit_trail(people, patient):
    signatures.sign(patient, people["clin"], PASSWORD, _request())
    for row in Signature.history.all().values():
        assert PASSWORD not in str(row)


def test_api_lock_out_after_too_many_wrong_passwords_is_429_json(api, patient, settings):
    settings.AXES_FAILURE_LIMIT = 2
    path = f"/patients/{patient.pk}/signatures"
    assert api("clin").post(path, {"password": "wrong-1"}).status_code == 403
    r = api("clin").post(path, {"password": "wrong-2"})
    assert r.status_code == 429 and r.json()["code"] == "locked_out"
    r = api("clin").post(path, {"password": PASSWORD})  # the right one: still locked out
    assert r.status_code == 429 and Signature.objects.count() == 0


def test_the_django_admin_honours_the_lock(web, people, patient):
    lab = _lab(patient)
    locking.lock_patient(patient, people["admin"], REASON)
    c = web("admin")
    url = f"/admin/registry/labvalue/{lab.pk}/change/"
    r = c.post(
        url,
        {
            "patient": patient.pk,
            "date": "2024-05-01",
            "analyte": "CRP",
            "value": "9",
            "unit": "mg/L",
        },
    )
    assert r.status_code == 403
    assert c.post(f"/admin/registry/labvalue/{lab.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LabValue.objects.get(pk=lab.pk).value == 3.2
    locking.unlock_patient(patient, people["admin"], "freeze lifted")
    r = c.post(
        url,
        {
            "patient": patient.pk,
            "date": "2024-05-01",
            "analyte": "CRP",
            "value": "9",
            "unit": "mg/L",
        },
    )
    assert r.status_code == 302 and LabValue.objects.get(pk=lab.pk).value == 9


def test_researchers_see_no_signature_or_lock_details(api, web, people, patient):
    signatures.sign(patient, people["clin"], PASSWORD, _request())
    locking.lock_patient(patient, people["admin"], REASON)
    assert api("researcher").get(f"/patients/{patient.pk}/signatures").status_code == 403
    page = web("researcher").get(f"/patients/{patient.pk}/").content.decode()
    assert "clara" not in page and REASON not in page and 'id="signature-banner"' not in page
