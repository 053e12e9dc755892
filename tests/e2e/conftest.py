"""Browser tests: the real server (``cpstem serve``) driven by headless Debian chromium."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS, E2E_PASSWORD
from tests.registry.cli_env import Registry
from tests.system import chromium

PASSWORD = E2E_PASSWORD


@pytest.fixture(scope="module")
def e2e_registry(tmp_path_factory):
    """A fresh registry with a clinician and a monitor of site LUB and a clinician of KRK."""
    reg = Registry(tmp_path_factory.mktemp("e2e") / "data")
    for name, role, site in (
        ("clara", "clinician", "LUB"),
        ("moni", "monitor", "LUB"),
        ("bob", "clinician", "KRK"),
    ):
        reg.run(
            "user",
            "create",
            name,
            "--role",
            role,
            "--site",
            site,
            "--create-site",
            "--password-stdin",
            stdin=PASSWORD,
        )
    return reg


@pytest.fixture(scope="module")
def server(e2e_registry):
    """``cpstem serve`` on the registry; its base URL."""
    proc, url = e2e_registry.serve()
    yield url
    proc.terminate()
    proc.wait(10)


CREATE_PATIENT = """
from datetime import date

from cpstem.registry import setup

setup.start(migrate=False)
from cpstem.registry import users
from cpstem.registry.models import Patient
from cpstem.registry.services.records import save_validated

patient = Patient(
    site=users.get_site("LUB"), study_id="{study_id}", birth_date=date(2020, 6, 1), sex="M"
)
print(save_validated(patient).pk)
"""


@pytest.fixture(scope="module")
def new_lub_patient(e2e_registry, server):
    """A function: a new child of site LUB with the study ID given, recorded through the
    registry's write service; returns the URL of its page."""

    def create(study_id: str) -> str:
        script = CREATE_PATIENT.replace("{study_id}", study_id)
        pk = int(e2e_registry.python(script).stdout.strip())
        return f"{server}/patients/{pk}/"

    return create


@pytest.fixture(scope="module")
def lub_patient_url(new_lub_patient):
    """URL of a child of site LUB (LUB-E2E-2)."""
    return new_lub_patient("LUB-E2E-2")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def login(browser, server):
    pages = []

    def as_user(name: str):
        context = browser.new_context(
            viewport={"width": 1024, "height": 1366}
        )  # a tablet, portrait
        page = context.new_page()
        page.set_default_timeout(20000)
        page.goto(server + "/accounts/login/")
        page.fill("#id_username", name)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/patients/")
        pages.append(context)
        return page

    yield as_user
    for c in pages:
        c.close()
