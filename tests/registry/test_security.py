"""Security settings: argon2, login throttling, CSRF, cookies, one-time passwords."""

from __future__ import annotations

import pytest
from django.test import Client

from cpstem.registry import settings as production
from cpstem.registry.models import Profile
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_argon2_is_the_first_hasher_in_production():
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    from django.contrib.auth.hashers import Argon2PasswordHasher

    encoded = Argon2PasswordHasher().encode("pw-123456789", Argon2PasswordHasher().salt())
    assert encoded.startswith("argon2$") and Argon2PasswordHasher().verify("pw-123456789", encoded)


def test_cookie_and_header_settings():
    assert production.SESSION_COOKIE_HTTPONLY and production.CSRF_COOKIE_HTTPONLY
    assert production.SESSION_COOKIE_SAMESITE == "Lax" and production.X_FRAME_OPTIONS == "DENY"
    assert production.SECURE_CONTENT_TYPE_NOSNIFF


def test_login_works_then_throttles(people):
    c = Client()
    assert (
        c.post("/accounts/login/", {"username": "clara", "password": PASSWORD}).status_code == 302
    )
    c = Client()
    for _ in range(5):
        r = c.post("/accounts/login/", {"username": "moni", "password": "wrong"})
    assert r.status_code in (403, 429)
    r = c.post("/accounts/login/", {"username": "moni", "password": PASSWORD})
    assert r.status_code in (403, 429) and b"Too many failed" in r.content


def test_csrf_is_enforced(people):
    c = Client(enforce_csrf_checks=True)
    c.force_login(people["clin"])
    r = c.post("/patients/new/", {"study_id": "LUB-5", "birth_date": "2020-01-01", "sex": "F"})
    assert r.status_code == 403


def test_one_time_password_must_be_changed(people):
    user = people["clin"]
    Profile.objects.filter(user=user).update(must_change_password=True)
    c = Client()
    c.force_login(user)
    r = c.get("/patients/")
    assert r.status_code == 302 and r.url == "/accounts/password/"
    r = c.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-secret-42",
            "new_password2": "a-new-secret-42",
        },
    )
    assert r.status_code == 302
    assert c.get("/patients/").status_code == 200


def test_one_time_password_cannot_be_changed_to_itself(people):
    """Re-entering the one-time password as the new one used to clear the flag, leaving the
    printed password in use."""
    user = people["clin"]
    Profile.objects.filter(user=user).update(must_change_password=True)
    c = Client()
    c.force_login(user)
    r = c.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert r.status_code == 200 and b"this is the password you have now" in r.content
    assert Profile.objects.get(user=user).must_change_password
    assert c.get("/patients/").status_code == 302


def test_data_dir_and_backups_are_owner_only(db, tmp_path, monkeypatch, patient):
    """The data dir (database, secret key) was created world-readable (0755, database 0644),
    and so were backups, which hold every patient and the password hashes."""
    import os
    import stat

    from cpstem.registry import backup, config

    monkeypatch.setenv("CPSTEM_DATA_DIR", str(tmp_path / "new" / "data"))
    old = os.umask(0o022)
    try:
        folder = config.data_dir()
        path = backup.backup(tmp_path / "out" / "registry.json.gz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size > 0


def test_patient_edit_page_is_not_cached(web, patient):
    r = web("clin").get(f"/patients/{patient.pk}/edit/")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
