"""Lock and sign in the real server and browser: an administrator locks a child with a reason;
the clinician's edit is then refused on the page (who, since when, why), also for a form opened
before the lock; after the unlock the edit is saved. Signing needs the password: a wrong one is
refused, the right one is recorded and shown on the patient page and in the history."""

from __future__ import annotations

import pytest

from tests.browser import E2E_PASSWORD as PASSWORD  # the e2e registry's accounts
from tests.browser import see

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

LOCK_REASON = "analysis freeze for the interim report"


@pytest.fixture(scope="module")
def admin_account(e2e_registry):
    e2e_registry.run("user", "create", "ada", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    return "ada"


def test_locked_patient_edit_is_refused_in_the_page(login, new_lub_patient, admin_account):
    url = new_lub_patient("LUB-LOCK-1")
    clara = login("clara")
    clara.goto(url + "edit/")  # opened before the lock
    clara.select_option("#id_sex", "F")
    clara.fill("#id_reason", "sex per birth certificate")

    ada = login(admin_account)
    ada.goto(url)
    ada.click("#lock-link")
    ada.fill("#id_reason", LOCK_REASON)
    ada.click("#lock-form button[type=submit]")
    ada.wait_for_url(url)
    assert LOCK_REASON in ada.locator("#lock-banner").inner_text()

    clara.click("button:has-text('Save')")  # the form opened before the lock
    notice = clara.locator("#locked-notice").inner_text()
    assert "This patient is locked" in notice and "ada" in notice and LOCK_REASON in notice
    clara.goto(url)
    assert "Male" in clara.locator("table").first.inner_text()  # nothing was saved
    assert "Locked" in clara.locator("#lock-banner").inner_text()
    response = clara.goto(url + "edit/")  # a fresh edit: refused at once
    assert response.status == 423
    assert LOCK_REASON in clara.locator("#locked-notice").inner_text()

    ada.goto(url)
    ada.click("#unlock-link")
    ada.fill("#id_reason", "interim report done")
    ada.click("#lock-form button[type=submit]")
    ada.wait_for_url(url)
    assert ada.locator("#lock-banner").count() == 0

    clara.goto(url + "edit/")
    clara.select_option("#id_sex", "F")
    clara.fill("#id_reason", "sex per birth certificate")
    clara.click("button:has-text('Save')")
    clara.wait_for_url(url)
    assert "Female" in clara.locator("table").first.inner_text()
    clara.goto(url + "history/")
    history = clara.locator("table").inner_text()
    assert "locked" in history and LOCK_REASON in history and "interim report done" in history


def test_signing_requires_the_password(login, new_lub_patient):
    url = new_lub_patient("LUB-SIGN-1")
    clara = login("clara")
    clara.goto(url)
    clara.click("#sign-link")
    clara.wait_for_url("**/sign/")
    see(clara.locator("body"), "I confirm the data of this patient are complete and correct")
    clara.fill("#id_password", "not-my-password")
    clara.click("#sign-button")
    see(clara.locator("#sign-form"), "wrong password")
    assert clara.locator("table.signatures").count() == 0  # nothing recorded

    clara.fill("#id_password", PASSWORD)
    clara.click("#sign-button")
    clara.wait_for_url(url)
    banner = clara.locator("#signature-banner").inner_text()
    assert "Signed by clara" in banner and "complete and correct" in banner
    clara.goto(url + "history/")
    history = clara.locator("table").inner_text()
    assert (
        "signed" in history
        and "I confirm the data of this patient are complete and correct" in history
    )

    # a later change supersedes it, and the patient page says so
    clara.goto(url + "edit/")
    clara.select_option("#id_sex", "F")
    clara.fill("#id_reason", "sex per birth certificate")
    clara.click("button:has-text('Save')")
    clara.wait_for_url(url)
    assert "superseded" in clara.locator("#signature-banner").inner_text()
