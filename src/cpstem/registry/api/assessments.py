"""Assessments: GMFM-88 sheets (with the GMFM-66 computed from them), GMFM-66 scores,
spasticity (Modified Ashworth, Tardieu) and laboratory values."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from cpstem.registry import privacy
from cpstem.registry.api.common import patient_for, save, writable_patient
from cpstem.registry.api.schemas import (
    READ,
    WRITE,
    Created,
    GMFM66In,
    GMFM66Out,
    GMFMIn,
    GMFMOut,
    LabIn,
    SpasticityIn,
    SpasticityOut,
    answers,
    model_data,
)
from cpstem.registry.models import (
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    SpasticityAssessment,
)

router = Router()


@router.post("/patients/{pk}/labs", response=answers({201: Created}, *WRITE), tags=["records"])
def add_lab(request: HttpRequest, pk: int, payload: LabIn) -> Status:
    patient = writable_patient(request, pk)
    return Status(201, {"id": save(LabValue(patient=patient, **payload.dict()), payload).pk})


def gmfm66_out(obj: GMFM66Assessment) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "score": obj.score,
        "se": obj.se,
        "ci_lower": obj.ci_lower,
        "ci_upper": obj.ci_upper,
        "source": obj.source,
        "blinded_assessor": obj.blinded_assessor,
    }


def gmfm_out(sheet: GMFM88Assessment) -> dict[str, Any]:
    r = sheet.result
    g66 = GMFM66Assessment.objects.filter(sheet=sheet).first()
    return {
        "id": sheet.pk,
        "date": sheet.date,
        "total": r.total,
        "dimension_percent": dict(r.dimension_percent),
        "dimension_raw": dict(r.dimension_raw),
        "goal_total": r.goal_total,
        "goal_dimensions": list(r.goal_dimensions),
        "not_tested": list(r.not_tested),
        "with_aids": r.with_aids,
        "blinded_assessor": sheet.blinded_assessor,
        "gmfm66": None if g66 is None else gmfm66_out(g66),
    }


@router.post(
    "/patients/{pk}/assessments/gmfm",
    response=answers({201: GMFMOut}, *WRITE),
    tags=["assessments"],
)
def add_gmfm(request: HttpRequest, pk: int, payload: GMFMIn) -> Status:
    patient = writable_patient(request, pk)
    sheet = GMFM88Assessment(patient=patient, assessor=request.user, **model_data(payload))
    save(sheet, payload)
    return Status(201, gmfm_out(sheet))


@router.get(
    "/patients/{pk}/assessments/gmfm",
    response=answers({200: list[GMFMOut]}, 403, *READ),
    tags=["assessments"],
)
def list_gmfm(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    proj.require("gmfm_sheets")
    return [gmfm_out(s) for s in patient.gmfm88assessment_set.order_by("date", "id")]


@router.post(
    "/patients/{pk}/assessments/gmfm66",
    response=answers({201: GMFM66Out}, *WRITE),
    tags=["assessments"],
)
def add_gmfm66(request: HttpRequest, pk: int, payload: GMFM66In) -> Status:
    patient = writable_patient(request, pk)
    obj = save(GMFM66Assessment(patient=patient, source="gmae", **model_data(payload)), payload)
    return Status(201, gmfm66_out(obj))


@router.post(
    "/patients/{pk}/assessments/spasticity",
    response=answers({201: SpasticityOut}, *WRITE),
    tags=["assessments"],
)
def add_spasticity(request: HttpRequest, pk: int, payload: SpasticityIn) -> Status:
    patient = writable_patient(request, pk)
    obj = save(SpasticityAssessment(patient=patient, **model_data(payload)), payload)
    return Status(
        201,
        {
            "id": obj.pk,
            "date": obj.date,
            "mas": obj.mas,
            "tardieu": obj.tardieu,
            "blinded_assessor": obj.blinded_assessor,
        },
    )
