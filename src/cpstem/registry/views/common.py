"""Helpers shared by the views: the visible patient, role checks."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from cpstem.registry import access
from cpstem.registry.models import Patient


def visible_patient(request, pk: int) -> Patient:
    """The patient if the user's role and site allow it; otherwise 404 (existence not revealed)."""
    access.require_read(request.user)
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("site"), pk=pk)
