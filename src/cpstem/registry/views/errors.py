"""Error pages in the registry's layout: 403 (with the reason, and for an account without a role
whom to ask), 404, 500 (drawn without the database or the request's user) and a refused form
(CSRF)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from cpstem.registry import access, users


def no_role(request: HttpRequest, status: int = 403) -> HttpResponse:
    """The page of a signed-in account without a role: what it means and whom to ask."""
    return render(
        request,
        "registry/no_role.html",
        {"administrators": users.administrators()},
        status=status,
    )


@requires_csrf_token
def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and access.role_of(user) is None:
        return no_role(request)
    return render(request, "403.html", {"exception": str(exception or "")}, status=403)


@requires_csrf_token
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {"path": request.path}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Drawn without a request context: no database query, no user (they may be what failed)."""
    return HttpResponseServerError(loader.get_template("500.html").render({}))


@requires_csrf_token
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", {}, status=403)
