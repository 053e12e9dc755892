"""Password change that also ends a one-time password."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from cpstem.registry.models import Profile


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        Profile.objects.filter(user=self.request.user).update(must_change_password=False)
        return response
