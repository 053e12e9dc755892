"""The administrators' account pages: sites, users with role and site, role changes,
deactivation and password resets (one-time password shown once), each with its audit trail."""

from __future__ import annotations

from itertools import chain
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cpstem.registry import access, users
from cpstem.registry.account_forms import NewUserForm, ReasonForm, RoleForm, SiteForm
from cpstem.registry.errors import RegistryError
from cpstem.registry.models import Profile, Role, Site


def require_admin(request: HttpRequest) -> None:
    access.require_read(request.user)
    if access.role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("only administrators manage users and sites")


def _role_label(user: Any) -> str:
    return access.role_of(user) or "no role"


@login_required
@never_cache
def user_list(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    rows = []
    for u in get_user_model().objects.select_related("profile__site").order_by("username"):
        profile = getattr(u, "profile", None)
        rows.append(
            {
                "pk": u.pk,
                "username": u.get_username(),
                "email": u.email,
                "role": _role_label(u) if u.is_active else (profile.role if profile else "-"),
                "site": profile.site.code if profile and profile.site else "",
                "active": u.is_active,
                "must_change_password": bool(profile and profile.must_change_password),
                "last_login": u.last_login,
            }
        )
    return render(
        request,
        "registry/accounts/user_list.html",
        {"rows": rows, "sites": users.sites_with_counts()},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def site_new(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    form = SiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            site = users.create_site(d["code"], d["name"], by=request.user, reason=d["reason"])
        except RegistryError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(request, f"Site {site.code} created.")
            return redirect("accounts:users")
    return render(request, "registry/accounts/site_form.html", {"form": form})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    """Create a user; the one-time password is shown once, on the answer to the form."""
    require_admin(request)
    form = NewUserForm(request.POST or None, initial={"site": request.GET.get("site")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        password = users.one_time_password()
        try:
            user = users.create_user(
                d["username"],
                d["role"],
                d["site"].code if d["site"] else None,
                password,
                one_time=True,
                check_password=False,
                create_site=False,
                by=request.user,
                reason=d["reason"],
                email=d["email"],
            )
        except RegistryError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _one_time_password_page(request, user, password, created=True)
    return render(request, "registry/accounts/user_form.html", {"form": form})


def _one_time_password_page(
    request: HttpRequest, user: Any, password: str, created: bool
) -> HttpResponse:
    response = render(
        request,
        "registry/accounts/one_time_password.html",
        {"account": _account(user), "password": password, "created": created},
    )
    response["Cache-Control"] = "no-store"
    return response


def _account(user: Any) -> dict[str, Any]:
    profile = Profile.objects.select_related("site").filter(user=user).first()
    return {
        "pk": user.pk,
        "username": user.get_username(),
        "email": user.email,
        "role": _role_label(user) if user.is_active else (profile.role if profile else "-"),
        "role_value": profile.role if profile else (Role.ADMIN if user.is_superuser else ""),
        "site": profile.site if profile else None,
        "active": user.is_active,
        "must_change_password": bool(profile and profile.must_change_password),
        "last_login": user.last_login,
        "date_joined": user.date_joined,
        "tokens": user.api_tokens.filter(revoked=False).count(),
    }


def _changes(user: Any) -> list[dict[str, Any]]:
    """The account's audit trail (user and profile history), newest first."""
    records = chain(
        user.history.select_related("history_user").all(),
        Profile.history.filter(user_id=user.pk).select_related("history_user", "site"),
    )
    codes = dict(Site.objects.values_list("pk", "code"))

    def shown(field: str, value: Any) -> Any:
        return codes.get(value, value) if field == "site" else value

    out = []
    for h in records:
        prev = h.prev_record
        if prev is not None:
            delta = h.diff_against(prev)
            changes = [
                (c.field, shown(c.field, c.old), shown(c.field, c.new)) for c in delta.changes
            ]
        else:
            changes = []
        out.append(
            {
                "when": h.history_date,
                "who": h.history_user.get_username() if h.history_user else "command line",
                "kind": {"+": "created", "~": "changed", "-": "deleted"}[h.history_type],
                "what": "account" if h._meta.model_name == "historicaluser" else "role/site",
                "changes": changes,
                "reason": h.history_change_reason or "",
            }
        )
    return sorted(out, key=lambda c: c["when"], reverse=True)


@login_required
@never_cache
def user_detail(request: HttpRequest, uid: int) -> HttpResponse:
    require_admin(request)
    user = get_object_or_404(get_user_model(), pk=uid)
    account = _account(user)
    role_form = RoleForm(
        initial={
            "role": account["role_value"],
            "site": account["site"].pk if account["site"] else None,
            "email": user.email,
        }
    )
    return render(
        request,
        "registry/accounts/user_detail.html",
        {
            "account": account,
            "role_form": role_form,
            "reason_form": ReasonForm(),
            "changes": _changes(user),
        },
    )


@login_required
@never_cache
@require_POST
def user_role(request: HttpRequest, uid: int) -> HttpResponse:
    require_admin(request)
    user = get_object_or_404(get_user_model(), pk=uid)
    form = RoleForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            users.set_role(
                user.get_username(),
                d["role"],
                d["site"].code if d["site"] else None,
                by=request.user,
                reason=d["reason"],
            )
            users.set_email(user.get_username(), d["email"], by=request.user, reason=d["reason"])
        except RegistryError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"{user.get_username()}: role, site and e-mail saved.")
            return redirect("accounts:user", uid=user.pk)
    return render(
        request,
        "registry/accounts/user_detail.html",
        {
            "account": _account(user),
            "role_form": form,
            "reason_form": ReasonForm(),
            "changes": _changes(user),
        },
        status=422,
    )


def _reasoned(request: HttpRequest, uid: int) -> tuple[Any, str | None]:
    require_admin(request)
    user = get_object_or_404(get_user_model(), pk=uid)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason (it is kept in the audit trail).")
        return user, None
    return user, form.cleaned_data["reason"]


@login_required
@never_cache
@require_POST
def user_active(request: HttpRequest, uid: int) -> HttpResponse:
    """Deactivate (``active=0``) or reactivate (``active=1``) an account."""
    user, reason = _reasoned(request, uid)
    if reason is not None:
        active = request.POST.get("active") == "1"
        try:
            users.set_active(user.get_username(), active, by=request.user, reason=reason)
        except RegistryError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{user.get_username()} reactivated."
                if active
                else f"{user.get_username()} deactivated: it cannot log in, its API tokens and "
                "calendar feed are revoked.",
            )
    return redirect("accounts:user", uid=user.pk)


@login_required
@never_cache
@require_POST
def user_password(request: HttpRequest, uid: int) -> HttpResponse:
    """Reset to a one-time password, shown once; the user's API tokens are revoked."""
    user, reason = _reasoned(request, uid)
    if reason is None:
        return redirect("accounts:user", uid=user.pk)
    if user.pk == request.user.pk:
        messages.error(request, "Change your own password on the password page.")
        return redirect("accounts:user", uid=user.pk)
    password = users.reset_password(user.get_username(), by=request.user, reason=reason)
    return _one_time_password_page(request, user, password, created=False)
