"""Treatment: cell administrations (dose from count and weight) and rehabilitation episodes."""

from ninja import Router, Status

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.dose import compute_dose, parse_cell_count
from cpstem.registry.api.lookup import writable_patient
from cpstem.registry.api.schemas import (
    WRITE,
    AdministrationIn,
    AdministrationOut,
    Created,
    RehabIn,
    answers,
)
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import Administration, RehabEpisode
from cpstem.registry.services.records import save_validated

router = Router()


@router.post(
    "/patients/{pk}/rehabilitation", response=answers({201: Created}, *WRITE), tags=["records"]
)
def add_rehab(request, pk: int, payload: RehabIn):
    patient = writable_patient(request, pk)
    data = payload.dict()
    data["date"] = data.pop("start_date")
    try:
        obj = save_validated(RehabEpisode(patient=patient, **data))
    except FieldErrors as exc:
        raise FieldErrors(
            {("start_date" if k == "date" else k): v for k, v in exc.errors.items()}
        ) from None
    return Status(201, {"id": obj.pk})


@router.post(
    "/patients/{pk}/administrations",
    response=answers({201: AdministrationOut}, *WRITE),
    tags=["records"],
)
def add_administration(request, pk: int, payload: AdministrationIn):
    patient = writable_patient(request, pk)
    data = payload.dict()
    unit = data.pop("cell_count_unit")
    try:
        count = parse_cell_count(data.pop("cell_count"))
        dose = compute_dose(count, data["weight_kg"], per_kg=unit == "per_kg")
    except OutcomeError as exc:
        key = "weight_kg" if str(exc).startswith("weight") else "cell_count"
        raise FieldErrors({key: [str(exc)]}) from None
    data["dose_confirmed"] = data.pop("confirm_dose")
    try:
        obj = save_validated(Administration(patient=patient, cells_total=dose.cells_total, **data))
    except FieldErrors as exc:
        raise FieldErrors(
            {("cell_count" if k == "cells_total" else k): v for k, v in exc.errors.items()}
        ) from None
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
