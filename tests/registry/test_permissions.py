"""Roles and site separation at the level of the access rules and querysets."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from cpstem.registry import access
from cpstem.registry.models import Patient

pytestmark = pytest.mark.django_db


def test_roles(people, sites):
    lub, krk = sites
    assert (
        access.role_of(people["admin"]) == "admin"
        and access.visible_site_ids(people["admin"]) is None
    )
    assert access.visible_site_ids(people["clin"]) == [lub.pk]
    assert access.visible_site_ids(people["monitor"]) == [lub.pk]
    assert access.visible_site_ids(people["clin_b"]) == [krk.pk]
    assert access.visible_site_ids(people["researcher"]) is None and access.is_pseudonymised(
        people["researcher"]
    )
    assert [access.can_write(people[r]) for r in ("admin", "clin", "monitor", "researcher")] == [
        True,
        True,
        False,
        False,
    ]


def test_querysets_are_site_separated(people, sites):
    for site in sites:
        Patient.objects.create(
            site=site, study_id=f"{site.code}-1", birth_date=date(2020, 1, 1), sex="F"
        )
    assert list(Patient.objects.visible_to(people["clin"]).values_list("study_id", flat=True)) == [
        "LUB-1"
    ]
    assert list(
        Patient.objects.visible_to(people["clin_b"]).values_list("study_id", flat=True)
    ) == ["KRK-1"]
    assert Patient.objects.visible_to(people["researcher"]).count() == 2


def test_user_without_role_sees_nothing(db, sites):
    Patient.objects.create(site=sites[0], study_id="LUB-1", birth_date=date(2020, 1, 1), sex="F")
    user = get_user_model().objects.create_user("nobody", password="x-long-password-1")
    assert access.role_of(user) is None and Patient.objects.visible_to(user).count() == 0
    c = Client()
    c.force_login(user)
    assert c.get("/patients/").status_code == 403


def test_clinician_cannot_add_a_patient_to_another_site_via_api(api, people):
    r = api("clin").post(
        "/patients", {"study_id": "X-1", "birth_date": "2019-04-02", "sex": "F", "site": "KRK"}
    )
    assert r.status_code == 422 and "own site" in r.json()["errors"]["site"][0]
    r = api("admin").post(
        "/patients", {"study_id": "X-1", "birth_date": "2019-04-02", "sex": "F", "site": "KRK"}
    )
    assert r.status_code == 201 and r.json()["site"] == "KRK"
    r = api("admin").post("/patients", {"study_id": "X-2", "birth_date": "2019-04-02", "sex": "F"})
    assert r.status_code == 422 and "choose a site" in r.json()["errors"]["site"][0]


def test_revoked_tokens_are_refused(people, patient):
    from cpstem.registry import users
    from tests.factories import Api

    first, second = Api(people["clin"]), Api(people["clin"])
    assert first.get(f"/patients/{patient.pk}").status_code == 200
    prefix = users.list_tokens("clara")[-1].prefix
    assert users.revoke_tokens(prefix) == 1
    assert first.get(f"/patients/{patient.pk}").status_code == 401
    assert second.get(f"/patients/{patient.pk}").status_code == 200
    assert users.revoke_tokens(user="clara") == 1
    assert second.get(f"/patients/{patient.pk}").status_code == 401
