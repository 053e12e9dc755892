"""Users with a role and a site, sites, one-time passwords, API tokens and calendar keys.

Every change of an account or a site is audited by django-simple-history (``User``, ``Profile``,
``Site``): who (``by``, or the signed-in user of a web request), when, and why (``reason``).
Changing or resetting a password and deactivating an account revoke the user's API tokens and
calendar feed (:func:`on_user_pre_save`, whatever the path: these functions, the password page,
the Django admin).
"""

from __future__ import annotations

import getpass
import hashlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.utils import timezone

from cpstem.registry.errors import RegistryError
from cpstem.registry.models import ApiToken, Profile, Role, Site
from cpstem.registry.models.sites import SITE_ROLES


def cli_reason(reason: str | None) -> str:
    """The audit reason of a command-line change: the reason given, and who ran the command
    (the command line has no signed-in user)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"{reason or 'no reason given'} (command line, system user {who})"


def _audit(obj: models.Model, by: Any, reason: str | None) -> None:
    """Who changes ``obj`` and why, for its django-simple-history record (a web request's user
    is filled in by the history middleware when ``by`` is None)."""
    if by is not None:
        obj._history_user = by  # type: ignore[attr-defined]
    obj._change_reason = reason or ""  # type: ignore[attr-defined]


def _user(name: str) -> Any:
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise RegistryError(f"no user {name}", code="unknown_user", params={"user": name})
    return user


def get_site(
    code: str, create: bool = False, name: str = "", *, by: Any = None, reason: str | None = None
) -> Site:
    code = code.strip().upper()
    site = Site.objects.filter(code=code).first()
    if site is None:
        if not create:
            known = ", ".join(Site.objects.values_list("code", flat=True)) or "none yet"
            raise RegistryError(
                f"no site {code} (known sites: {known}; create it with `cpstem site create "
                f"{code}` or add --create-site)",
                code="unknown_site",
                field="site",
                params={"site": code},
            )
        site = Site(code=code, name=name or code)
        try:
            site.full_clean()
        except ValidationError as exc:
            raise RegistryError(
                f"site code {code!r}: " + "; ".join(exc.messages),
                code="invalid_site",
                field="site",
                params={"site": code},
            ) from None
        _audit(site, by, reason or "site created")
        site.save()
    return site


def create_site(code: str, name: str = "", *, by: Any = None, reason: str | None = None) -> Site:
    """A new site (an error if the code exists, in any case)."""
    if Site.objects.filter(code__iexact=code.strip()).exists():
        raise RegistryError(
            f"site {code.strip().upper()} already exists", code="duplicate", field="code"
        )
    return get_site(code, create=True, name=name, by=by, reason=reason)


def sites_with_counts() -> list[Site]:
    """Every site with ``n_users`` (active accounts) and ``n_patients``."""
    return list(
        Site.objects.annotate(
            n_users=Count("users", filter=models.Q(users__user__is_active=True), distinct=True),
            n_patients=Count("patients", distinct=True),
        ).order_by("code")
    )


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
    by: Any = None,
    reason: str | None = None,
    email: str = "",
) -> AbstractBaseUser:
    """A user with a role (admin, clinician, monitor, researcher) and, except for
    administrators and researchers, a site (created if new unless ``create_site`` is false)."""
    User = get_user_model()
    _check_role(role, site)
    if not name or not name.strip():
        raise RegistryError("a user name is needed", code="required", field="username")
    if User.objects.filter(username__iexact=name).exists():
        raise RegistryError(f"user {name} already exists", code="duplicate", field="username")
    user = User(
        username=name,
        email=email,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise RegistryError(
                "password: " + " ".join(exc.messages), code="weak_password", field="password"
            ) from None
    why = reason or "account created"
    with transaction.atomic():
        site_obj = get_site(site, create=create_site, by=by, reason=why) if site else None
        user.set_password(password)
        _audit(user, by, why)
        user.save()
        profile = Profile(user=user, role=role, site=site_obj, must_change_password=one_time)
        _audit(profile, by, why)
        profile.save()
    return user


def _check_role(role: str, site: Any) -> None:
    if role not in Role.values:
        raise RegistryError(
            f"role {role!r} is not valid: use {', '.join(Role.values)}",
            code="invalid_choice",
            field="role",
            params={"role": role},
        )
    if role in SITE_ROLES and not site:
        raise RegistryError(
            f"a {role} needs --site (the site whose patients they see)",
            code="required",
            field="site",
        )


def reset_password(name: str, *, by: Any = None, reason: str | None = None) -> str:
    """A new one-time password (must be changed at the next log-in); the user's API tokens and
    calendar feed are revoked."""
    user = _user(name)
    password = one_time_password()
    why = reason or "password reset"
    with transaction.atomic():
        user.set_password(password)
        _audit(user, by, why)
        user.save()
        profile = Profile.objects.filter(user=user).first()
        if profile is not None:
            profile.must_change_password = True
            _audit(profile, by, why)
            profile.save()
    return password


def set_role(
    name: str, role: str, site: str | None = None, *, by: Any = None, reason: str | None = None
) -> AbstractBaseUser:
    """Give a user another role (and site: clinicians and monitors need one; administrators and
    researchers see all sites, so theirs is cleared)."""
    user = _user(name)
    profile = Profile.objects.filter(user=user).first()
    if site is None and role in SITE_ROLES and profile and profile.site:
        site = profile.site.code
    _check_role(role, site)
    if by is not None and by.pk == user.pk and role != Role.ADMIN:
        raise RegistryError(
            "you cannot take the administrator role from yourself (ask another administrator)",
            code="own_account",
            field="role",
        )
    _not_the_last_admin(user, role)
    why = reason or f"role changed to {role}"
    with transaction.atomic():
        site_obj = get_site(site) if site and role in SITE_ROLES else None
        user.is_staff = user.is_superuser = role == Role.ADMIN
        _audit(user, by, why)
        user.save()
        if profile is None:
            profile = Profile(user=user)
        profile.role, profile.site = role, site_obj
        _audit(profile, by, why)
        profile.save()
    return user


def set_email(name: str, email: str, *, by: Any = None, reason: str | None = None) -> None:
    """The address the user's reminders go to (empty: none)."""
    user = _user(name)
    if user.email != email:
        user.email = email
        _audit(user, by, reason or "e-mail address changed")
        user.save()


def _not_the_last_admin(user: Any, new_role: str | None) -> None:
    """Refuse to leave the registry without an active administrator."""
    from cpstem.registry.access import role_of

    if role_of(user) != Role.ADMIN or new_role == Role.ADMIN:
        return
    others = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(models.Q(is_superuser=True) | models.Q(profile__role=Role.ADMIN))
        .exclude(pk=user.pk)
    )
    if not others.exists():
        raise RegistryError(
            f"{user.get_username()} is the last active administrator: make another one first",
            code="last_admin",
        )


def set_active(
    name: str, active: bool, *, by: Any = None, reason: str | None = None
) -> AbstractBaseUser:
    """Deactivate an account (it can no longer log in; its sessions end and its API tokens and
    calendar feed are revoked) or reactivate it (with a one-time password reset advised)."""
    user = _user(name)
    if not active:
        if by is not None and by.pk == user.pk:
            raise RegistryError(
                "you cannot deactivate your own account", code="own_account", field="user"
            )
        _not_the_last_admin(user, None)
    user.is_active = active
    _audit(user, by, reason or ("account deactivated" if not active else "account reactivated"))
    user.save()
    return user


def deactivate(name: str, *, by: Any = None, reason: str | None = None) -> AbstractBaseUser:
    return set_active(name, False, by=by, reason=reason)


def revoke_access(user_id: int) -> int:
    """Revoke every API token and the calendar feed of a user; the number of tokens revoked."""
    n = ApiToken.objects.filter(user_id=user_id, revoked=False).update(
        revoked=True, revoked_at=timezone.now()
    )
    Profile.objects.filter(user_id=user_id).exclude(calendar_key_hash="").update(
        calendar_key_hash=""
    )
    return n


def on_user_pre_save(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A changed password or a deactivation revokes the user's API tokens and calendar feed
    (connected in ``apps.py``: every path that saves a user passes here)."""
    fields = kwargs.get("update_fields")
    if (
        raw
        or instance.pk is None
        or (fields is not None and not {"password", "is_active"} & set(fields))
    ):
        return
    old = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if old is None:
        return
    if old["password"] != instance.password or (old["is_active"] and not instance.is_active):
        revoke_access(instance.pk)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_calendar_key(user: Any) -> str:
    """A new secret for the user's calendar-feed URL (the previous one stops working); only its
    hash is kept, so the URL is shown once."""
    key = "cal_" + secrets.token_urlsafe(32)
    updated = Profile.objects.filter(user=user).update(calendar_key_hash=_key_hash(key))
    if not updated:
        raise RegistryError("this account has no role in the registry", code="no_role")
    return key


def calendar_user(key: str) -> Any:
    """The active user whose calendar secret this is, or None."""
    if not key or not key.startswith("cal_"):
        return None
    profile = (
        Profile.objects.select_related("user", "site")
        .filter(calendar_key_hash=_key_hash(key), user__is_active=True)
        .first()
    )
    return profile.user if profile else None


def administrators() -> list[str]:
    """User names of the active administrators (whom a user without a role should ask)."""
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(models.Q(is_superuser=True) | models.Q(profile__role=Role.ADMIN))
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )


def create_token(name: str, label: str = "") -> str:
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise RegistryError(
            f"no user {name}: create it first with `cpstem user create`", code="unknown_user"
        )
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
    return qs.update(revoked=True, revoked_at=timezone.now())
