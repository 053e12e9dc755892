"""The patient an API call is about, within the caller's sites (else 404)."""

from django.shortcuts import get_object_or_404

from cpstem.registry import access
from cpstem.registry.models import Patient


def patient_for(request, pk: int) -> Patient:
    """A patient the caller may see (another site's patient is a 404: not revealed)."""
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("site"), pk=pk)


def writable_patient(request, pk: int) -> Patient:
    """A patient the caller may see and whose records the caller's role may write (else 403)."""
    patient = patient_for(request, pk)
    access.require_write(request.user)
    return patient
