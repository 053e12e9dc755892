"""Analysis of one child: GMFM-66 trajectory, follow-up schedule and the audit trail."""

from dataclasses import replace
from typing import Any

from django.http import HttpRequest
from ninja import Router

from cpstem.errors import CpstemError
from cpstem.registry import privacy
from cpstem.registry.api.common import patient_for
from cpstem.registry.api.schemas import READ, ChangeOut, TrajectoryOut, VisitOut, answers
from cpstem.registry.clock import today
from cpstem.registry.errors import FieldErrors
from cpstem.registry.services import history, trajectory

router = Router()


@router.get(
    "/patients/{pk}/trajectory",
    response=answers({200: TrajectoryOut}, *READ),
    exclude_unset=True,
    tags=["analysis"],
)
def get_trajectory(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Observed GMFM-66 and observed vs expected change after each administration (population
    and child-anchored methods of the configured reference curves). Researchers get ages in
    months instead of dates."""
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    try:
        t = trajectory.trajectory(patient)
    except CpstemError as exc:  # the child's data cannot be analysed: say why (422), not a 500
        raise FieldErrors({"__all__": [proj.error(exc)]}) from None
    if proj.masks(patient):  # a blinded role: no administrations (they reveal the arm)
        t = replace(t, changes=[])
    return proj.trajectory(t, patient.birth_date)


@router.get(
    "/patients/{pk}/schedule",
    response=answers({200: list[VisitOut]}, 403, *READ),
    tags=["analysis"],
)
def get_schedule(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    """The follow-up visits of each administration and their status today (not for researchers:
    it is a list of calendar dates)."""
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    proj.require("schedule")
    on = today()
    masked = proj.masks(patient)
    return [
        visit_out(proj.data(v, patient.birth_date), str(v.status_on(on)))
        | ({"administration_id": None} if masked else {})
        for v in patient.visits.all()
    ]


def visit_out(v: dict[str, Any], status: str) -> dict[str, Any]:
    """A projected follow-up visit in the shape of ``VisitOut``."""
    return {
        "administration_id": v["administration_id"],
        "visit": v["label"],
        "months": v["months"],
        "date": v["target_date"],
        "window_start": v["window_start"],
        "window_end": v["window_end"],
        "done_on": v["done_on"],
        "status": status,
    }


@router.get(
    "/patients/{pk}/history", response=answers({200: list[ChangeOut]}, 403, *READ), tags=["audit"]
)
def get_history(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    """The audit trail of the patient and all its records: who, when, what (newest first)."""
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    proj.require("audit_trail")
    return [c.to_dict() for c in history.patient_history(patient)]
