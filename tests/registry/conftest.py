"""Registry fixtures: two sites, one user per role, a patient, API clients."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from cpstem.registry import users
from cpstem.registry.models import Patient
from tests.factories import PASSWORD, Api


@pytest.fixture(autouse=True)
def _fresh_analysis_tables():
    """The dashboard keeps its analysis tables in the process: none from another test."""
    from cpstem.registry.services import analysis

    analysis.forget()


@pytest.fixture
def sites(db):
    return users.get_site("LUB", create=True, name="Lublin"), users.get_site(
        "KRK", create=True, name="Krakow"
    )


@pytest.fixture
def people(sites):
    """One user per role; ``clin_b`` is a clinician of the other site."""
    return {
        "admin": users.create_user("ada", "admin", None, PASSWORD),
        "clin": users.create_user("clara", "clinician", "LUB", PASSWORD),
        "monitor": users.create_user("moni", "monitor", "LUB", PASSWORD),
        "researcher": users.create_user("rhea", "researcher", None, PASSWORD),
        "clin_b": users.create_user("bob", "clinician", "KRK", PASSWORD),
    }


@pytest.fixture
def patient(sites):
    p = Patient(site=sites[0], study_id="LUB-001", birth_date=date(2019, 4, 2), sex="F")
    p.full_clean()
    p.save()
    return p


@pytest.fixture
def web(people):
    """Logged-in test clients per role."""

    def client(role: str) -> Client:
        c = Client()
        c.force_login(people[role])
        return c

    return client


@pytest.fixture
def api(people):
    return lambda role=None: Api(people[role] if role else None)
