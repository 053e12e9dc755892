"""Sites, user roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Site(models.Model):
    """A treating centre (the registry is multi-centre from day one)."""

    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9_-]*$", "use capitals, digits, - or _")],
        help_text="Short code, e.g. LUB",
    )
    name = models.CharField(max_length=200)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator (all sites, read/write, Django admin)"
    CLINICIAN = "clinician", "Clinician (own site, read/write)"
    MONITOR = "monitor", "Monitor (own site, read-only)"
    RESEARCHER = "researcher", "Researcher (all sites, pseudonymised, read-only)"
    ASSESSOR = "assessor", "Blinded assessor (own site, read-only, blind to allocation)"


#: Roles that see one site's patients (and need a site).
SITE_ROLES = ("clinician", "monitor", "assessor")
#: Roles blind to the randomised allocation (see :mod:`cpstem.registry.privacy`).
BLINDED_ROLES = ("assessor",)


class Profile(models.Model):
    """A user's role and site."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    must_change_password = models.BooleanField(default=False)
    # SHA-256 of the secret in the user's calendar-feed URL (calendar apps cannot log in);
    # empty: no feed. Revoked with the API tokens (password change or reset, deactivation).
    calendar_key_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)

    history = HistoricalRecords(excluded_fields=["calendar_key_hash"])

    def __str__(self) -> str:
        return f"{self.user} ({self.role}, {self.site or 'all sites'})"


#: Whoever asks: a signed-in user, an anonymous one, or nobody (``None``).
AnyUser = AbstractBaseUser | AnonymousUser | None


def role_of(user: AnyUser) -> str | None:
    """The user's role, or None (no access to patient data)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile else None


def site_of(user: AnyUser) -> Site | None:
    profile = getattr(user, "profile", None)
    return profile.site if profile else None


def visible_site_ids(user: AnyUser) -> list[int] | None:
    """Site ids a user may see; None = all sites; [] = none (see :mod:`cpstem.registry.access`,
    which re-exports these role lookups; they live here so that the models need not import it)."""
    role = role_of(user)
    if role in (Role.ADMIN, Role.RESEARCHER):
        return None
    if role in SITE_ROLES:
        site = site_of(user)
        return [site.pk] if site else []
    return []


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenManager(models.Manager["ApiToken"]):
    def issue(self, user: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
        """Create a token; the clear key is returned once and only its hash is stored."""
        key = "cps_" + secrets.token_urlsafe(32)
        token = self.create(user=user, name=name, key_hash=_hash(key), prefix=key[:10])
        return token, key

    def authenticate(self, key: str) -> AbstractBaseUser | None:
        """The active user of a clear key, or None."""
        token = (
            self.select_related("user", "user__profile", "user__profile__site")
            .filter(key_hash=_hash(key), revoked=False, user__is_active=True)
            .first()
        )
        if token is None:
            return None
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            # a time stamp: never worth making a read wait for the write lock (skipped if busy)
            from cpstem.registry.dblock import if_not_busy

            if_not_busy(lambda: type(token).objects.filter(pk=token.pk).update(last_used_at=now))
        return token.user


class ApiToken(models.Model):
    """A bearer token of the REST API (stored as a SHA-256 hash)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenManager()

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.user})"
