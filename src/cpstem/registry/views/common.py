"""Helpers shared by the views: the visible patient, role checks."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from cpstem.registry import privacy
from cpstem.registry.models import Patient


def visible_patient(request: HttpRequest, pk: int) -> Patient:
    """The patient if the user's role and site allow it; otherwise 404 (existence not revealed)."""
    return get_object_or_404(privacy.project(request.user).patients(), pk=pk)
