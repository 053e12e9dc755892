"""Users and sites in the app (administrators' pages), the audit trail of account changes, API
tokens revoked by a password change, reset or deactivation, the page of an account without a
role, and the error pages in the registry's layout."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from cpstem.registry import users
from cpstem.registry.errors import RegistryError
from cpstem.registry.models import ApiToken, Profile, Site
from cpstem.registry.views import errors
from tests.factories import PASSWORD, Api

pytestmark = pytest.mark.django_db


def _one_time_password(html: str) -> str:
    m = re.search(r'<code id="one-time-password"[^>]*>([^<]+)</code>', html)
    assert m, html
    return m.group(1)


def _login(c: Client, name: str, password: str) -> bool:
    """Log in through the log-in page (as a browser does; django-axes needs the request)."""
    r = c.post("/accounts/login/", {"username": name, "password": password})
    return r.status_code == 302


def _history_reasons(user) -> list[str]:
    return [h.history_change_reason for h in user.history.order_by("history_date")]


# --- the administrators' pages ----------------------------------------------------------------


def test_admin_creates_a_site_and_a_user_who_must_change_the_password(web, people):
    admin = web("admin")
    r = admin.post("/users/sites/new/", {"code": "wro", "name": "Wroclaw", "reason": "new centre"})
    assert r.status_code == 302 and r.url == "/users/"
    site = Site.objects.get(code="WRO")
    assert site.name == "Wroclaw"
    (h,) = site.history.all()
    assert h.history_user == people["admin"] and h.history_change_reason == "new centre"
    r = admin.post("/users/sites/new/", {"code": "WRO", "name": "again", "reason": "x"})
    assert r.status_code == 200 and "site WRO already exists" in r.content.decode()

    r = admin.post(
        "/users/new/",
        {
            "username": "nina",
            "email": "nina@example.org",
            "role": "clinician",
            "site": site.pk,
            "reason": "new physiotherapist",
        },
    )
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    html = r.content.decode()
    password = _one_time_password(html)
    assert len(password) >= 16 and "shown only this once" in html
    nina = get_user_model().objects.get(username="nina")
    assert nina.email == "nina@example.org" and nina.check_password(password)
    profile = Profile.objects.get(user=nina)
    assert (profile.role, profile.site.code, profile.must_change_password) == (
        "clinician",
        "WRO",
        True,
    )
    (uh,) = nina.history.all()
    assert uh.history_user == people["admin"] and uh.history_change_reason == "new physiotherapist"
    # the account page shows the audit trail, never the password again
    page = admin.get(f"/users/{nina.pk}/").content.decode()
    assert "new physiotherapist" in page and password not in page and "ada" in page

    # the first log-in leads to the password page, whatever page is asked for
    c = Client()
    assert _login(c, "nina", password)
    for url in ("/patients/", "/worklist/", "/dashboard/"):
        r = c.get(url)
        assert r.status_code == 302 and r.url == "/accounts/password/", url
    r = c.post(
        "/accounts/password/",
        {
            "old_password": password,
            "new_password1": "nina-own-secret-31",
            "new_password2": "nina-own-secret-31",
        },
    )
    assert r.status_code == 302
    assert c.get("/patients/").status_code == 200
    assert not Profile.objects.get(user=nina).must_change_password
    assert _history_reasons(nina)[-1] == "password changed by the user"


def test_new_user_form_refuses_what_it_cannot_do(web, sites):
    admin = web("admin")
    r = admin.post("/users/new/", {"username": "x1", "role": "monitor", "reason": "r"})
    assert r.status_code == 200 and "a monitor needs a site" in r.content.decode()
    r = admin.post("/users/new/", {"username": "CLARA", "role": "researcher", "reason": "r"})
    assert "user CLARA already exists" in r.content.decode()
    r = admin.post("/users/new/", {"username": "x2", "role": "nurse", "reason": "r"})
    assert "Select a valid choice" in r.content.decode()
    r = admin.post("/users/new/", {"username": "x3", "role": "researcher", "reason": ""})
    assert "This field is required" in r.content.decode()
    assert not get_user_model().objects.filter(username__startswith="x").exists()


@pytest.mark.parametrize("role", ["clin", "monitor", "researcher", "clin_b"])
def test_only_administrators_manage_accounts(web, people, role):
    c = web(role)
    target = people["clin"].pk
    for url in ("/users/", "/users/new/", "/users/sites/new/", f"/users/{target}/"):
        r = c.get(url)
        assert r.status_code == 403, url
        assert "only administrators manage users and sites" in r.content.decode()
    for url in (f"/users/{target}/password/", f"/users/{target}/active/"):
        assert c.post(url, {"reason": "x", "active": "0"}).status_code == 403
    assert (
        people["clin"].check_password(PASSWORD)
        and get_user_model().objects.get(pk=target).is_active
    )
    anon = Client().get("/users/")
    assert anon.status_code == 302 and anon.url.startswith("/accounts/login/")


def test_admin_changes_a_role_and_the_audit_says_who_when_why(web, people, sites):
    admin = web("admin")
    clara = people["clin"]
    r = admin.post(
        f"/users/{clara.pk}/role/",
        {"role": "monitor", "site": sites[1].pk, "email": "", "reason": "moved to Krakow"},
    )
    assert r.status_code == 302
    p = Profile.objects.get(user=clara)
    assert (p.role, p.site.code) == ("monitor", "KRK")
    last = Profile.history.filter(user_id=clara.pk).latest("history_date")
    assert last.history_user == people["admin"] and last.history_change_reason == "moved to Krakow"
    assert {c.field: (c.old, c.new) for c in last.diff_against(last.prev_record).changes} == {
        "role": ("clinician", "monitor"),
        "site": (sites[0].pk, sites[1].pk),
    }
    page = admin.get(f"/users/{clara.pk}/").content.decode()
    assert "role: clinician → monitor" in page and "site: LUB → KRK" in page
    assert "moved to Krakow" in page
    # researchers see all sites: their site is cleared
    admin.post(
        f"/users/{clara.pk}/role/",
        {"role": "researcher", "site": sites[1].pk, "email": "", "reason": "joins the analysis"},
    )
    p.refresh_from_db()
    assert (p.role, p.site) == ("researcher", None)
    # an administrator cannot demote themselves (nor leave the registry without one)
    r = admin.post(
        f"/users/{people['admin'].pk}/role/",
        {"role": "researcher", "site": "", "email": "", "reason": "oops"},
    )
    assert r.status_code == 422 and "cannot take the administrator role from yourself" in (
        r.content.decode()
    )
    with pytest.raises(RegistryError) as err:
        users.set_role("ada", "researcher")
    assert err.value.code == "last_admin"


def test_password_reset_shows_a_one_time_password_and_revokes_the_tokens(web, people, patient):
    clara = people["clin"]
    token = Api(clara)
    assert token.get(f"/patients/{patient.pk}").status_code == 200
    r = web("admin").post(f"/users/{clara.pk}/password/", {"reason": "forgotten"})
    assert r.status_code == 200
    password = _one_time_password(r.content.decode())
    clara.refresh_from_db()
    assert clara.check_password(password) and not clara.check_password(PASSWORD)
    assert Profile.objects.get(user=clara).must_change_password
    assert token.get(f"/patients/{patient.pk}").status_code == 401
    t = ApiToken.objects.get(user=clara)
    assert t.revoked and t.revoked_at is not None
    assert _history_reasons(clara)[-1] == "forgotten"
    # an empty reason is refused, nothing changes
    r = web("admin").post(f"/users/{clara.pk}/password/", {"reason": ""})
    assert r.status_code == 302
    clara.refresh_from_db()
    assert clara.check_password(password)


def test_own_password_change_revokes_own_tokens_only(web, people, patient):
    mine, other = Api(people["clin"]), Api(people["monitor"])
    c = web("clin")
    r = c.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "clara-new-secret-8",
            "new_password2": "clara-new-secret-8",
        },
    )
    assert r.status_code == 302
    assert mine.get(f"/patients/{patient.pk}").status_code == 401
    assert other.get(f"/patients/{patient.pk}").status_code == 200
    # a new token after the change works
    assert Api(people["clin"]).get(f"/patients/{patient.pk}").status_code == 200


def test_deactivation_ends_log_in_sessions_and_tokens(web, people, patient):
    clara = people["clin"]
    token, session = Api(clara), web("clin")
    assert session.get("/patients/").status_code == 200
    r = web("admin").post(
        f"/users/{clara.pk}/active/", {"reason": "left the clinic", "active": "0"}
    )
    assert r.status_code == 302
    clara.refresh_from_db()
    assert not clara.is_active
    assert token.get(f"/patients/{patient.pk}").status_code == 401
    assert session.get("/patients/").status_code == 302  # signed out
    assert not _login(Client(), "clara", PASSWORD)
    assert _history_reasons(clara)[-1] == "left the clinic"
    h = clara.history.latest("history_date")
    assert h.history_user == people["admin"] and h.is_active is False
    # the same service from the command line (no signed-in user) keeps the system user
    users.set_active("clara", True, reason=users.cli_reason("back from leave"))
    clara.refresh_from_db()
    assert clara.is_active
    h = clara.history.latest("history_date")
    assert h.history_user is None
    assert h.history_change_reason.startswith("back from leave (command line, system user ")
    # a reactivated account's old token stays revoked
    assert token.get(f"/patients/{patient.pk}").status_code == 401
    # administrators cannot lock themselves out
    r = web("admin").post(
        f"/users/{people['admin'].pk}/active/", {"reason": "x", "active": "0"}, follow=True
    )
    assert "you cannot deactivate your own account" in r.content.decode()


def test_django_admin_password_change_revokes_tokens(people, patient):
    """The revocation is on every path that saves a new password (here: plain ``save``)."""
    clara = people["clin"]
    token = Api(clara)
    clara.set_password("set-elsewhere-55")
    clara.save()
    assert token.get(f"/patients/{patient.pk}").status_code == 401


def test_log_ins_are_not_account_changes(people):
    clara = people["clin"]
    n = clara.history.count()
    for _ in range(2):
        assert _login(Client(), "clara", PASSWORD)
    clara.refresh_from_db()
    assert clara.last_login is not None and clara.history.count() == n
    assert "password" not in {f.name for f in clara.history.model._meta.fields}


# --- no role, error pages -----------------------------------------------------------------------


def test_an_account_without_a_role_gets_a_page_that_says_whom_to_ask(people):
    nobody = get_user_model().objects.create_user("nobody", password="x-long-password-1")
    c = Client()
    c.force_login(nobody)
    for url in ("/patients/", "/dashboard/", "/worklist/"):
        r = c.get(url)
        assert r.status_code == 403, url
        html = r.content.decode()
        assert "Your account has no role yet" in html and "<strong>ada</strong>" in html
        assert '<link rel="stylesheet"' in html  # the registry's layout


def test_styled_404_403_and_csrf_pages(web):
    c = web("clin")
    r = c.get("/patients/999999999/")
    assert r.status_code == 404
    html = r.content.decode()
    assert "Page not found" in html and "cpstem registry" in html and "Log out" in html
    r = web("monitor").get("/patients/new/")
    assert r.status_code == 403 and "your role is read-only" in r.content.decode()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(_user("clara"))
    r = strict.post("/patients/new/", {"study_id": "LUB-9"})
    assert r.status_code == 403 and "The form could not be sent" in r.content.decode()


def _user(name: str):
    return get_user_model().objects.get(username=name)


def test_the_500_page_needs_neither_the_database_nor_the_user(people):
    request = RequestFactory().get("/patients/")  # no user attribute at all
    with CaptureQueriesContext(connection) as queries:
        r = errors.server_error(request)
    assert r.status_code == 500 and len(queries) == 0
    html = r.content.decode()
    assert "Something went wrong on the server" in html and 'href="/static/registry/' in html
    assert "Log out" not in html
