"""Creating users with a role and a site, one-time passwords, API tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from cpstem.registry.errors import RegistryError
from cpstem.registry.models import ApiToken, Profile, Role, Site


def get_site(code: str, create: bool = False, name: str = "") -> Site:
    code = code.strip().upper()
    site = Site.objects.filter(code=code).first()
    if site is None:
        if not create:
            known = ", ".join(Site.objects.values_list("code", flat=True)) or "none yet"
            raise RegistryError(f"no site {code} (known sites: {known})")
        site = Site(code=code, name=name or code)
        try:
            site.full_clean()
        except ValidationError as exc:
            raise RegistryError(f"site code {code!r}: " + "; ".join(exc.messages)) from None
        site.save()
    return site


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(
    name: str,
    role: str,
    site: str | None,
    password: str,
    *,
    one_time: bool = False,
    create_site: bool = True,
    check_password: bool = True,
) -> AbstractBaseUser:
    """A user with a role (admin, clinician, monitor, researcher) and, except for
    administrators and researchers, a site (created if new)."""
    User = get_user_model()
    if role not in Role.values:
        raise RegistryError(f"role {role!r} is not valid: use {', '.join(Role.values)}")
    if role in (Role.CLINICIAN, Role.MONITOR) and not site:
        raise RegistryError(f"a {role} needs --site (the site whose patients they see)")
    if User.objects.filter(username=name).exists():
        raise RegistryError(f"user {name} already exists")
    user = User(username=name, is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN)
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise RegistryError("password: " + " ".join(exc.messages)) from None
    with transaction.atomic():
        site_obj = get_site(site, create=create_site) if site else None
        user.set_password(password)
        user.save()
        Profile.objects.create(user=user, role=role, site=site_obj, must_change_password=one_time)
    return user


def reset_password(name: str) -> str:
    """A new one-time password (must be changed at the next log-in)."""
    User = get_user_model()
    user = User.objects.filter(username=name).first()
    if user is None:
        raise RegistryError(f"no user {name}")
    password = one_time_password()
    with transaction.atomic():
        user.set_password(password)
        user.save()
        Profile.objects.filter(user=user).update(must_change_password=True)
    return password


def create_token(name: str, label: str = "") -> str:
    User = get_user_model()
    user = User.objects.filter(username=name).first()
    if user is None:
        raise RegistryError(f"no user {name}: create it first with `cpstem user create`")
    _, key = ApiToken.objects.issue(user, label)
    return key


def list_tokens(name: str | None = None) -> list[ApiToken]:
    """API tokens (of one user, or all), newest first."""
    qs = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    return list(qs.filter(user__username=name) if name else qs)


def revoke_tokens(prefix: str | None = None, user: str | None = None) -> int:
    """Revoke the token with this prefix (as ``token list`` shows it) or every token of a user;
    the number revoked. A revoked token is refused at once (401)."""
    if bool(prefix) == bool(user):
        raise RegistryError("give a token prefix or --user NAME (one of them)")
    qs = ApiToken.objects.filter(revoked=False)
    if prefix:
        qs = qs.filter(prefix=prefix)
        if not qs.exists():
            raise RegistryError(f"no active token {prefix} (see `cpstem token list`)")
    else:
        if not get_user_model().objects.filter(username=user).exists():
            raise RegistryError(f"no user {user}")
        qs = qs.filter(user__username=user)
    return qs.update(revoked=True)
