"""Randomisation in the browser: a clinician confirms the checklist, randomises a child and only
then sees the arm; a blinded assessor of the same site never sees it."""

from __future__ import annotations

import pytest

from tests.browser import E2E_PASSWORD as PASSWORD
from tests.browser import see

#: The concealed list (hand-written): the first slot of LUB, GMFCS I-II is cells.
LIST = "stratum,sequence,arm\nLUB|I-II,1,cells\nLUB|I-II,2,control\n"

CHILD = """
from datetime import date

from cpstem.registry import setup

setup.start(migrate=False)
from cpstem.registry import users
from cpstem.registry.models import Classification, Patient
from cpstem.registry.services import write

p = write.save(Patient(site=users.get_site("LUB"), study_id="LUB-RND-{n}", sex="F",
               birth_date=date(2020, 6, 1), consent_date=date(2024, 1, 5), consent_version="1.0"))
write.save(Classification(patient=p, date=date(2024, 1, 5), system="gmfcs", level=2))
if {randomise}:
    from cpstem.registry.services import randomisation as rz

    rz.randomise(p, confirmed={{"inclusion": True, "exclusion": True, "baseline": True}})
print(p.pk)
"""


@pytest.fixture(scope="module")
def child_url(e2e_registry, server, tmp_path_factory):
    e2e_registry.run(
        "user", "create", "asa", "--role", "assessor", "--site", "LUB", "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    listfile = tmp_path_factory.mktemp("list") / "list.csv"
    listfile.write_text(LIST)
    e2e_registry.run(
        "randomisation", "upload", str(listfile), "--name", "CELLS-CP", "--factors",
        "site,gmfcs", "--gmfcs-band", "I-II=1,2", "--gmfcs-band", "III-V=3,4,5",
        "--reason", "list from the trials unit",
    )  # fmt: skip
    pk = int(e2e_registry.python(CHILD.format(n=1, randomise=False)).stdout.strip())
    return f"{server}/patients/{pk}/"


@pytest.fixture(scope="module")
def randomised_url(e2e_registry, server, child_url):
    """A second child of the stratum, randomised by the service (its arm is either)."""
    pk = int(e2e_registry.python(CHILD.format(n=2, randomise=True)).stdout.strip())
    return f"{server}/patients/{pk}/"


def test_clinician_randomises_and_only_then_sees_the_arm(login, child_url):
    page = login("clara")
    page.goto(child_url)
    assert "not randomised" in page.inner_text("#randomisation")
    page.click("#randomise-link")
    page.wait_for_url("**/randomise/")
    form_text = page.inner_text("main")
    assert "Allocated arm" not in form_text
    page.click("#randomise-submit")  # nothing ticked: refused, nothing allocated
    see(page.locator("#randomise-errors"), "not confirmed")
    for key in ("inclusion", "exclusion", "baseline"):
        page.check(f"#criterion-{key}")
    page.click("#randomise-submit")
    page.wait_for_url("**/allocation/")
    assert "Cells (stem-cell therapy)" in page.inner_text("#allocation-arm")
    page.goto(child_url)
    assert "randomised" in page.inner_text("#randomisation")
    assert "Cells (stem-cell therapy)" in page.content()


ARMS = ("Cells (stem-cell therapy)", "Concurrent control")


def test_blinded_assessor_does_not_see_the_arm(login, randomised_url):
    page = login("asa")
    page.goto(randomised_url)
    assert "allocation blinded" in page.inner_text("#randomisation")
    assert not any(arm in page.content() for arm in ARMS)
    response = page.goto(randomised_url + "allocation/")
    assert response is not None and response.status == 403
    assert not any(arm in page.content() for arm in ARMS)
    page.goto(randomised_url.rsplit("/patients/", 1)[0] + "/patients/")
    assert page.query_selector("a[href='/randomisation/']") is None
