"""Middleware: a one-time password must be changed before anything else."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse


class PasswordChangeRequired:
    """Send a user whose password is one-time (``must_change_password``) to the change form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = getattr(user, "profile", None)
            allowed = {
                reverse("password_change"),
                reverse("password_change_done"),
                reverse("logout"),
            }
            if (
                profile is not None
                and profile.must_change_password
                and request.path not in allowed
                and not request.path.startswith(("/static/", "/api/"))
            ):
                return redirect("password_change")
        return self.get_response(request)
