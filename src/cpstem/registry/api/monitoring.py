"""Monitoring: queries (``/queries``) and source data verification (``/verifications``,
``/sdv/progress``), with the same roles and site rules as the pages
(:mod:`cpstem.registry.services.queries`, :mod:`cpstem.registry.services.verification`).

- Monitors and administrators open, close and re-open queries and mark records verified;
  clinicians (and administrators) answer. Another role: 403. Researchers: 403 on every
  monitoring operation (not part of the pseudonymised research view).
- A query, patient or record of another site is a 404 (its existence is not revealed).
- A step the query's state does not allow (closing a closed query) is a 422 with the code
  ``invalid_transition`` on ``state``; a message that is empty, longer than 2000 characters or
  holds control characters is a 422 (``required``, ``max_length``, ``control_characters``).
- Records are named by ``kind`` (``patient``, ``classification``, ``administration``,
  ``rehab``, ``gmfm88``, ``gmfm66``, ``spasticity``, ``lab``, ``ae``) and ``record_id`` (for
  ``patient``: the patient's id).
"""

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from ninja import Query as QueryParams
from ninja.pagination import paginate

from cpstem.registry import access
from cpstem.registry.api.common import patient_for, reject_unknown_query
from cpstem.registry.api.schemas import In, Pages, answers
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import Patient
from cpstem.registry.models.monitoring import (
    RECORD_MODELS,
    Query,
    QueryState,
    RecordKind,
    Verification,
)
from cpstem.registry.services import queries, verification

router = Router()

#: keys are database integers (64-bit)
KEY = {"ge": 1, "le": 2**63 - 1}
KINDS_DOC = "record kind: " + ", ".join(RecordKind.values)
MESSAGE = Field(
    ...,
    min_length=1,
    max_length=queries.MESSAGE_MAX_LENGTH,
    description="plain text (line breaks allowed; no other control characters)",
)


class QueryIn(In):
    patient_id: int = Field(..., **KEY)
    kind: str = Field(..., description=KINDS_DOC, json_schema_extra={"enum": RecordKind.values})
    record_id: int = Field(..., description="the record's id (kind patient: the patient's)", **KEY)
    field: str = Field("", max_length=64, description="a field of the record; empty: the record")
    message: str = MESSAGE


class QueryStepIn(In):
    message: str = MESSAGE


class QueryMessageOut(Schema):
    action: str = Field(..., description="open, answer, correction, close or reopen")
    author: str | None
    at: dt.datetime
    text: str
    record_version: int | None = Field(None, description="a correction: the version it saved")


class QueryOut(Schema):
    id: int
    patient_id: int
    site: str
    kind: str
    record_id: int
    field: str
    state: str = Field(..., description="open, answered or closed")
    opened_by: str
    opened_at: dt.datetime
    updated_at: dt.datetime
    messages: list[QueryMessageOut]


class VerificationIn(In):
    kind: str = Field(..., description=KINDS_DOC, json_schema_extra={"enum": RecordKind.values})
    record_id: int = Field(..., description="the record's id (kind patient: the patient's)", **KEY)


class VerificationOut(Schema):
    kind: str
    record_id: int
    patient_id: int
    version: int = Field(..., description="the record's version that was verified")
    verified_by: str
    verified_at: dt.datetime
    current: bool = Field(
        True, description="still valid: not cleared, and the record is still at that version"
    )


class VerificationFilter(Schema):
    patient: int = Field(..., description="a patient's id", **KEY)
    kind: str = Field("", description=KINDS_DOC + " (empty: all)")


class ProgressOut(Schema):
    site: str
    kind: str = Field(..., description="record kind, or all")
    label: str
    verified: int
    total: int
    percent: float | None = Field(None, description="verified / total x 100 (none: no records)")


def query_out(q: Query) -> dict[str, Any]:
    return {
        "id": q.pk,
        "patient_id": q.patient_id,
        "site": q.patient.site.code,
        "kind": q.kind,
        "record_id": q.record_id,
        "field": q.field,
        "state": q.state,
        "opened_by": q.opened_by.get_username(),
        "opened_at": q.opened_at,
        "updated_at": q.updated_at,
        "messages": [
            {
                "action": m.action,
                "author": m.author.get_username() if m.author_id else None,
                "at": m.created_at,
                "text": m.text,
                "record_version": m.record_version,
            }
            for m in q.messages.select_related("author").order_by("created_at", "id")
        ],
    }


def _one(request: HttpRequest, qid: int) -> Query:
    return queries.get_visible(request.user, qid)


class QueryFilter(Schema):
    state: str = Field("", description="open, answered or closed (empty: all)")
    site: str = Field("", max_length=16, description="site code (one of the caller's)")
    patient: int | None = Field(None, description="a patient's id", **KEY)


class _Rows:
    """The page of queries asked for, turned into bodies only for that page."""

    def __init__(self, qs: Any):
        self.qs = qs

    def __len__(self) -> int:
        return self.qs.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [query_out(q) for q in self.qs[item]]


@router.get("/queries", response=answers({200: list[QueryOut]}, 403, 404), tags=["monitoring"])
@paginate(Pages)
def list_queries(request: HttpRequest, filters: QueryParams[QueryFilter]) -> _Rows:
    """The queries of the caller's sites, newest change first; filters: state, site, patient."""
    reject_unknown_query(request, {"state", "site", "patient", "limit", "offset"})
    qs = queries.visible(request.user)
    if filters.state:
        if filters.state not in QueryState.values:
            raise FieldErrors.one(
                "state", f"use one of {', '.join(QueryState.values)}", "invalid_choice"
            )
        qs = qs.filter(state=filters.state)
    if filters.site:
        qs = qs.filter(patient__site__code=filters.site.strip().upper())
    if filters.patient is not None:
        qs = qs.filter(patient=patient_for(request, filters.patient))
    return _Rows(qs.order_by("-updated_at", "-id"))


@router.post("/queries", response=answers({201: QueryOut}, 400, 403, 404), tags=["monitoring"])
def open_query(request: HttpRequest, payload: QueryIn) -> Status:
    """Open a query on a record, or on one field of it (monitors and administrators)."""
    access.require_monitor(request.user)
    patient = patient_for(request, payload.patient_id)
    q = queries.open_query(
        request.user, patient, payload.kind, payload.record_id, payload.field, payload.message
    )
    return Status(201, query_out(q))


@router.get("/queries/{qid}", response=answers({200: QueryOut}, 403, 404), tags=["monitoring"])
def get_query(request: HttpRequest, qid: int) -> dict[str, Any]:
    """One query with its thread (who, when, what)."""
    return query_out(_one(request, qid))


def _step(request: HttpRequest, qid: int, action: str, payload: QueryStepIn) -> dict[str, Any]:
    q = queries.ACTIONS[action](request.user, _one(request, qid), payload.message)
    return query_out(q)


STEP = answers({200: QueryOut}, 400, 403, 404)


@router.post("/queries/{qid}/answer", response=STEP, tags=["monitoring"])
def answer_query(request: HttpRequest, qid: int, payload: QueryStepIn) -> dict[str, Any]:
    """Answer a query (clinicians and administrators): open or answered -> answered."""
    return _step(request, qid, "answer", payload)


@router.post("/queries/{qid}/close", response=STEP, tags=["monitoring"])
def close_query(request: HttpRequest, qid: int, payload: QueryStepIn) -> dict[str, Any]:
    """Close a query (monitors and administrators): open or answered -> closed."""
    return _step(request, qid, "close", payload)


@router.post("/queries/{qid}/reopen", response=STEP, tags=["monitoring"])
def reopen_query(request: HttpRequest, qid: int, payload: QueryStepIn) -> dict[str, Any]:
    """Re-open a query (monitors and administrators): answered or closed -> open."""
    return _step(request, qid, "reopen", payload)


def _record_patient(request: HttpRequest, kind: str, record_id: int) -> Patient:
    """The patient of a record the caller may see (404 otherwise)."""
    model = RECORD_MODELS[queries.check_kind(kind)]
    if model is Patient:
        return patient_for(request, record_id)
    row = model._default_manager.filter(pk=record_id).values_list("patient_id", flat=True).first()
    if row is None:
        raise Http404("no such record")
    return patient_for(request, row)


def verification_out(v: Verification, current: bool = True) -> dict[str, Any]:
    return {
        "current": current,
        "kind": v.kind,
        "record_id": v.record_id,
        "patient_id": v.patient_id,
        "version": v.version,
        "verified_by": v.verified_by.get_username(),
        "verified_at": v.verified_at,
    }


@router.post(
    "/verifications",
    response=answers({201: VerificationOut}, 400, 403, 404),
    tags=["monitoring"],
)
def verify_record(request: HttpRequest, payload: VerificationIn) -> Status:
    """Mark a record verified against the source documents at its current version (monitors
    and administrators); a later change of the record makes it unverified."""
    access.require_monitor(request.user)
    patient = _record_patient(request, payload.kind, payload.record_id)
    v = verification.verify(request.user, patient, payload.kind, payload.record_id)
    return Status(201, verification_out(v))


@router.get(
    "/verifications",
    response=answers({200: list[VerificationOut]}, 403, 404),
    tags=["monitoring"],
)
def list_verifications(
    request: HttpRequest, filters: QueryParams[VerificationFilter]
) -> list[dict[str, Any]]:
    """The verifications of one patient's records (``current``: still valid), for the sites'
    own staff."""
    reject_unknown_query(request, {"patient", "kind"})
    if not access.sees_monitoring(request.user):
        access.require_monitor(request.user)  # 403 with the reason
    patient = patient_for(request, filters.patient)
    rows = Verification.objects.filter(patient=patient).select_related("verified_by")
    if filters.kind:
        rows = rows.filter(kind=queries.check_kind(filters.kind))
    out = []
    for v in rows.order_by("kind", "record_id"):
        model = RECORD_MODELS[v.kind]
        version = model._default_manager.filter(pk=v.record_id).values_list("version", flat=True)
        now = version.first()
        out.append(verification_out(v, v.cleared_at is None and now == v.version))
    return out


@router.get(
    "/sdv/progress", response=answers({200: list[ProgressOut]}, 403, 404), tags=["monitoring"]
)
def sdv_progress(
    request: HttpRequest,
    site: str = QueryParams("", max_length=16, description="site code (one of the caller's)"),
) -> list[dict[str, Any]]:
    """Per site and record kind (and ``all``): records verified at their current version,
    records, percent (monitors and administrators)."""
    reject_unknown_query(request, {"site"})
    rows = verification.progress(request.user, site.strip().upper())
    if site and not rows:
        raise Http404("no such site")
    return [r.to_dict() for r in rows]
