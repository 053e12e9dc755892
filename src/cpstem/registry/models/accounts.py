"""The audit trail of user accounts: django-simple-history on Django's ``User`` (as for the
registry's own ``Site`` and ``Profile``), without the password hash and the log-in times."""

from __future__ import annotations

from django.contrib.auth.models import User
from simple_history import register

register(User, app="cpstem.registry", excluded_fields=["password", "last_login"])
