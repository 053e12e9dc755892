"""Safety: adverse events (CTCAE grade, seriousness, relatedness)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from cpstem.registry.api.common import save, writable_patient
from cpstem.registry.api.schemas import (
    WRITE,
    AdverseEventIn,
    AdverseEventOut,
    answers,
    model_data,
)
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import AdverseEvent

router = Router()


def adverse_event_out(ae: AdverseEvent) -> dict[str, Any]:
    return {
        "id": ae.pk,
        "onset_date": ae.date,
        "resolution_date": ae.resolution_date,
        "term": ae.term,
        "grade": ae.grade,
        "serious": ae.serious,
        "relatedness": ae.relatedness,
        "administration_id": ae.administration_id,
        "action": ae.action,
        "outcome": ae.outcome,
    }


@router.post(
    "/patients/{pk}/adverse-events",
    response=answers({201: AdverseEventOut}, *WRITE),
    tags=["safety"],
)
def add_adverse_event(request: HttpRequest, pk: int, payload: AdverseEventIn) -> Status:
    patient = writable_patient(request, pk)
    data = model_data(payload)
    data["date"] = data.pop("onset_date")
    aid = data.pop("administration_id")
    if aid is not None and not patient.administration_set.filter(pk=aid).exists():
        raise FieldErrors.one(
            "administration_id", "no such administration for this patient", "does_not_exist"
        )
    ae = save(AdverseEvent(patient=patient, administration_id=aid, **data), payload)
    return Status(201, adverse_event_out(ae))
