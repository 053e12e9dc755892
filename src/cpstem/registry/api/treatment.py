"""Treatment: cell administrations (dose from count and weight) and rehabilitation episodes."""

from django.http import HttpRequest
from ninja import Router, Status

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.dose import compute_dose, parse_cell_count
from cpstem.registry.api.common import save, writable_patient
from cpstem.registry.api.schemas import (
    WRITE,
    AdministrationIn,
    AdministrationOut,
    Created,
    RehabIn,
    answers,
)
from cpstem.registry.errors import FieldError, FieldErrors
from cpstem.registry.models import Administration, RehabEpisode

router = Router()


@router.post(
    "/patients/{pk}/rehabilitation", response=answers({201: Created}, *WRITE), tags=["records"]
)
def add_rehab(request: HttpRequest, pk: int, payload: RehabIn) -> Status:
    patient = writable_patient(request, pk)
    data = payload.dict()
    data["date"] = data.pop("start_date")
    obj = save(RehabEpisode(patient=patient, **data), payload)
    return Status(201, {"id": obj.pk})


@router.post(
    "/patients/{pk}/administrations",
    response=answers({201: AdministrationOut}, *WRITE),
    tags=["records"],
)
def add_administration(request: HttpRequest, pk: int, payload: AdministrationIn) -> Status:
    patient = writable_patient(request, pk)
    data = payload.dict()
    unit = data.pop("cell_count_unit")
    try:
        count = parse_cell_count(data.pop("cell_count"))
        dose = compute_dose(count, data["weight_kg"], per_kg=unit == "per_kg")
    except OutcomeError as exc:  # the dose layer names the field: cell_count or weight_kg
        raise FieldErrors({exc.field or "cell_count": [FieldError.of(exc)]}) from None
    data["dose_confirmed"] = data.pop("confirm_dose")
    obj = Administration(patient=patient, cells_total=dose.cells_total, **data)
    obj.dose_entered = unit  # the hint about a total typed as per kg (or back) points this way
    obj = save(obj, payload)
    return Status(
        201,
        {
            "id": obj.pk,
            "date": obj.date,
            "product": obj.product,
            "cells_total": obj.cells_total,
            "weight_kg": obj.weight_kg,
            "dose_cells_per_kg": obj.dose_cells_per_kg,
        },
    )
