"""Password change that also ends a one-time password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.views.decorators.debug import sensitive_variables

from cpstem.registry.models import Profile


class NewPasswordForm(PasswordChangeForm):
    """The new password must differ from the current one (else a one-time password could be
    "changed" to itself and stay in use)."""

    @sensitive_variables()
    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        old, new = data.get("old_password"), data.get("new_password1")
        if old and new and old == new and "new_password2" not in self.errors:
            self.add_error(
                "new_password2",
                ValidationError(
                    "choose a new password: this is the password you have now",
                    code="password_unchanged",
                ),
            )
        return data


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = NewPasswordForm

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        # the audit trail's reason; saving the new password revokes the API tokens (users.py)
        form.user._change_reason = "password changed by the user"
        response = super().form_valid(form)
        profile = Profile.objects.filter(user=self.request.user).first()
        if profile is not None and profile.must_change_password:
            profile.must_change_password = False
            profile._change_reason = "one-time password replaced by the user"
            profile.save()
        return response
