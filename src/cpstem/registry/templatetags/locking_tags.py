"""The patient page's banner of locks, signatures and data-quality findings."""

from __future__ import annotations

from typing import Any

from django import template

from cpstem.registry import access
from cpstem.registry.models import Patient, Role, Signature
from cpstem.registry.services import data_quality, locking, signatures

register = template.Library()


@register.inclusion_tag("registry/locking/_patient_banner.html", takes_context=True)
def patient_monitoring(context: template.Context, pk: int) -> dict[str, Any]:
    """Lock in force, latest signature (valid or superseded), data-quality findings and the
    sign / lock links the role may use; nothing for researchers (staff, times, dates)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    patient = Patient.objects.filter(pk=pk).first()
    if patient is None or access.is_pseudonymised(user):
        return {}  # researchers: staff names, times and dates are not in their view
    role = access.role_of(user)
    return {
        "pk": pk,
        "lock": locking.active_lock(patient.pk, patient.site_id),
        "latest": Signature.objects.filter(patient=patient).order_by("-signed_at", "-id").first(),
        "findings": [] if access.is_pseudonymised(user) else data_quality.check_patient(patient.pk),
        "may_sign": signatures.may_sign(user, patient),
        "is_admin": role == Role.ADMIN,
    }
