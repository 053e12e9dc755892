"""The work-list: follow-up visits due in the next N days and overdue, of the caller's sites
(not for researchers: it names children by study ID and gives calendar dates)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cpstem.registry.api.common import reject_unknown_query
from cpstem.registry.api.schemas import answers
from cpstem.registry.clock import today
from cpstem.registry.errors import FieldError, FieldErrors, RegistryError
from cpstem.registry.services import worklist
from cpstem.registry.views.worklist import allowed_sites, parse_days

router = Router()


class WorkItemOut(Schema):
    patient_id: int
    study_id: str
    site: str
    visit: str
    months: int
    administration_date: dt.date
    date: dt.date = Field(description="target date of the visit")
    window_start: dt.date
    window_end: dt.date
    status: str = Field(description="due, overdue or upcoming")
    days_from_today: int = Field(description="target date minus today (negative: overdue)")


class WorkListOut(Schema):
    on: dt.date
    days: int
    overdue: int
    due: int
    items: list[WorkItemOut]


@router.get("/worklist", response=answers({200: WorkListOut}, 403, 404), tags=["schedule"])
def get_worklist(request: HttpRequest, days: str = "", site: str = "") -> dict[str, Any]:
    """Visits not done whose target date is at most ``days`` (default 14, at most 366) days
    ahead, overdue ones included, of the caller's sites (``site``: one of them)."""
    reject_unknown_query(request, {"days", "site"})
    try:
        n = parse_days(days)
    except RegistryError as exc:
        raise FieldErrors({"days": [FieldError.of(exc)]}) from None
    rows = worklist.items(allowed_sites(request.user, site), today(), n)
    return {
        "on": today(),
        "days": n,
        "overdue": sum(r.overdue for r in rows),
        "due": sum(not r.overdue for r in rows),
        "items": [r.to_dict() for r in rows],
    }
