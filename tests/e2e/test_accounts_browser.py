"""An administrator creates a site and a user in the app's own pages; the new user's first
log-in forces a password change; a reset password must be changed again; error pages."""

from __future__ import annotations

import re

import pytest

from tests.browser import see

# one xdist worker runs them all: they share the module's server and browser
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

#: The password of the users the e2e registry fixture creates (tests/e2e/conftest.py).
PASSWORD = "browser-test-password-1"


@pytest.fixture(scope="module")
def administrator(e2e_registry):
    e2e_registry.run(
        "user", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )  # fmt: skip
    return "root"


def _log_in(browser, server, name: str, password: str):
    context = browser.new_context(viewport={"width": 1024, "height": 1366})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(server + "/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    return context, page


def test_admin_creates_a_site_and_a_user_who_must_change_the_password(
    browser, server, login, administrator
):
    page = login(administrator)
    page.click("header >> text=Users")
    page.wait_for_url("**/users/")
    page.click("text=New site")
    page.fill("#id_code", "wro")
    page.fill("#id_name", "Wroclaw")
    page.click("button:has-text('Create site')")
    page.wait_for_url("**/users/")
    see(page.locator("body"), "Site WRO created.")
    assert "Wroclaw" in page.locator("#sites").inner_text()

    page.click("text=New user")
    page.fill("#id_username", "nina")
    page.fill("#id_email", "nina@wro.example")
    page.select_option("#id_role", "monitor")
    page.click("button:has-text('Create user')")
    # a monitor without a site: refused, what was typed is kept
    see(page.locator("body"), "a monitor needs a site")
    assert page.input_value("#id_username") == "nina"
    page.select_option("#id_site", label="WRO - Wroclaw")
    page.select_option("#id_role", "clinician")
    page.click("button:has-text('Create user')")
    one_time = page.locator("#one-time-password").inner_text().strip()
    assert len(one_time) >= 16
    assert "User nina created" in page.locator("h1").inner_text()

    page.click("text=Back to nina")
    page.wait_for_url(re.compile(r".*/users/\d+/$"))
    see(page.locator("body"), "clinician · site WRO")
    assert "new member of staff" in page.locator("#account-history").inner_text()

    # the first log-in goes to the password page, whatever is asked for
    context, nina = _log_in(browser, server, "nina", one_time)
    try:
        nina.wait_for_url("**/accounts/password/")
        assert "one-time password" in nina.content()
        nina.goto(server + "/worklist/")
        nina.wait_for_url("**/accounts/password/")
        nina.fill("#id_old_password", one_time)
        nina.fill("#id_new_password1", "nina-chose-this-9")
        nina.fill("#id_new_password2", "nina-chose-this-9")
        nina.click("button:has-text('Change password')")
        nina.wait_for_url("**/accounts/password/done/")
        nina.goto(server + "/worklist/")
        assert nina.locator("h1").inner_text() == "Work-list: follow-up visits"
        assert "No visit is overdue" in nina.content()
        assert nina.goto(server + "/users/").status == 403
        assert "only administrators manage users and sites" in nina.content()
    finally:
        context.close()

    # the administrator resets the password: a new one-time password, changed again at log-in
    page.goto(server + "/users/")
    page.click("#users >> text=nina")
    page.fill("#id_reset_reason", "locked out")
    page.click("button:has-text('Reset password')")
    again = page.locator("#one-time-password").inner_text().strip()
    assert again != one_time
    context, nina = _log_in(browser, server, "nina", again)
    try:
        nina.wait_for_url("**/accounts/password/")
    finally:
        context.close()

    # deactivated: the log-in is refused
    page.click("text=Back to nina")
    page.fill("#id_active_reason", "left the clinic")
    page.click("button:has-text('Deactivate')")
    see(page.locator("body"), "nina deactivated")
    context, nina = _log_in(browser, server, "nina", again)
    try:
        assert re.search(r"/accounts/login/", nina.url)
        assert "Log in" in nina.locator("h1").inner_text()
    finally:
        context.close()


def test_error_pages_are_in_the_registrys_layout(login, server):
    page = login("clara")
    response = page.goto(server + "/patients/123456789/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert page.locator("header.top .brand").inner_text() == "cpstem registry"
