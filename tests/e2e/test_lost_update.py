"""Two clinicians edit the same child in two browsers: the second save does not overwrite the
first; it shows the other person's change beside what was typed, and a deliberate second save
stores it. Every change carries a reason for change, shown in the history."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


CARL_PASSWORD = "carl-browser-password-2"


@pytest.fixture(scope="module")
def carl_account(e2e_registry):
    """A second clinician of site LUB."""
    e2e_registry.run(
        "user",
        "create",
        "carl",
        "--role",
        "clinician",
        "--site",
        "LUB",
        "--password-stdin",
        stdin=CARL_PASSWORD,
    )
    return "carl"


@pytest.fixture
def carl(browser, server, carl_account):
    """carl logged in, in a browser context of his own (his own cookies)."""
    context = browser.new_context(viewport={"width": 1024, "height": 1366})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(server + "/accounts/login/")
    page.fill("#id_username", carl_account)
    page.fill("#id_password", CARL_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/patients/")
    yield page
    context.close()


def test_second_save_of_the_same_patient_shows_the_conflict(login, lub_patient_url, carl):
    clara = login("clara")
    edit = lub_patient_url + "edit/"
    clara.goto(edit)
    carl.goto(edit)  # both opened version 1
    assert clara.locator("input[name=version]").input_value() == "1"

    clara.select_option("#id_sex", "F")
    clara.fill("#id_reason", "sex per birth certificate")
    clara.click("button:has-text('Save')")
    clara.wait_for_url(lub_patient_url)
    assert "Female" in clara.locator("table").first.inner_text()

    carl.fill("#id_consent_date", "2021-03-04")
    carl.fill("#id_consent_version", "v2.1")
    carl.select_option("#id_sex", "U")
    carl.fill("#id_reason", "consent form found in the file")
    carl.click("button:has-text('Save')")
    # not saved: the conflict is shown, field by field, and what carl typed is still there
    conflict = carl.locator("#conflict")
    conflict.wait_for()
    text = conflict.inner_text()
    assert "Changed by clara" in text and "sex per birth certificate" in text
    row = conflict.locator("tr", has_text="sex").inner_text()
    assert re.search(r"Male\s+Female\s+Undetermined", row), row
    assert "changed this record" in carl.locator(".errorlist").first.inner_text()
    assert carl.input_value("#id_consent_version") == "v2.1"
    assert carl.input_value("#id_sex") == "U"
    assert carl.input_value("#id_reason") == "consent form found in the file"
    assert carl.locator("input[name=version]").input_value() == "2"

    clara.reload()
    assert "Female" in clara.locator("table").first.inner_text()  # clara's change stands

    # carl has seen clara's change and saves his values deliberately
    carl.click("button:has-text('Save')")
    carl.wait_for_url(lub_patient_url)
    child = carl.locator("table").first.inner_text()
    assert "Undetermined" in child and "v2.1" in child

    carl.click("text=History (audit trail)")
    carl.wait_for_url("**/history/")
    history = carl.locator("table").inner_text()
    assert "sex per birth certificate" in history and "consent form found in the file" in history
