"""Analysis of one child: GMFM-66 trajectory, follow-up schedule and the audit trail."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from ninja import Router

from cpstem.outcomes.dates import age_months
from cpstem.registry import access
from cpstem.registry.api.lookup import patient_for
from cpstem.registry.api.schemas import READ, ChangeOut, TrajectoryOut, VisitOut, answers
from cpstem.registry.clock import today
from cpstem.registry.services import history, trajectory

router = Router()


def _undated(obj: Any, birth: dt.date) -> Any:
    """Researchers get ages, not calendar dates."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "date" and isinstance(v, str):
                out["age_months"] = age_months(birth, dt.date.fromisoformat(v))
            else:
                out[k] = _undated(v, birth)
        return out
    if isinstance(obj, list):
        return [_undated(v, birth) for v in obj]
    return obj


@router.get(
    "/patients/{pk}/trajectory",
    response=answers({200: TrajectoryOut}, *READ),
    exclude_unset=True,
    tags=["analysis"],
)
def get_trajectory(request, pk: int):
    """Observed GMFM-66 and observed vs expected change after each administration (population
    and child-anchored methods of the configured reference curves). Researchers get ages in
    months instead of dates."""
    access.require_read(request.user)
    patient = patient_for(request, pk)
    out = trajectory.trajectory(patient).to_dict()
    if access.is_pseudonymised(request.user):
        out = _undated(out, patient.birth_date)
    return out


@router.get(
    "/patients/{pk}/schedule",
    response=answers({200: list[VisitOut]}, 403, *READ),
    tags=["analysis"],
)
def get_schedule(request, pk: int):
    """The follow-up visits of each administration and their status today (not for researchers:
    it is a list of calendar dates)."""
    access.require_read(request.user)
    patient = patient_for(request, pk)
    if access.is_pseudonymised(request.user):
        raise PermissionDenied("the schedule is not part of the pseudonymised research view")
    on = today()
    return [
        {
            "administration_id": v.administration_id,
            "visit": v.label,
            "months": v.months,
            "date": v.target_date,
            "window_start": v.window_start,
            "window_end": v.window_end,
            "done_on": v.done_on,
            "status": str(v.status_on(on)),
        }
        for v in patient.visits.all()
    ]


@router.get(
    "/patients/{pk}/history", response=answers({200: list[ChangeOut]}, 403, *READ), tags=["audit"]
)
def get_history(request, pk: int):
    """The audit trail of the patient and all its records: who, when, what (newest first)."""
    access.require_read(request.user)
    patient = patient_for(request, pk)
    if access.is_pseudonymised(request.user):
        raise PermissionDenied("the audit trail is not part of the pseudonymised research view")
    return [c.to_dict() for c in history.patient_history(patient)]
