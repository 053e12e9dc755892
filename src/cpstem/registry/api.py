"""REST API under /api/v1/ (django-ninja; OpenAPI schema at /api/v1/openapi.json).

Bearer-token auth (``cpstem token create NAME``). Invalid input -> 422 with field-level
messages ``{"detail": ..., "errors": {"field": ["message"]}}``; a body that is not JSON -> 400;
no token -> 401; read-only role -> 403; a patient of another site -> 404 (its existence is not
revealed). Every operation documents these answers in the schema.
"""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer
from pydantic import ConfigDict, field_validator

from cpstem.measures import MeasureError, gmfcs
from cpstem.outcomes import OutcomeError
from cpstem.outcomes.dates import age_months
from cpstem.outcomes.dose import compute_dose, parse_cell_count
from cpstem.registry import access
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    ApiToken,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    RehabEpisode,
    Site,
    SpasticityAssessment,
)
from cpstem.registry.services import history, trajectory
from cpstem.registry.services.records import save_validated


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = ApiToken.objects.authenticate(token)
        if user is None or access.role_of(user) is None:
            return None
        request.user = user  # so the audit trail records who did it
        return user


api = NinjaAPI(
    title="cpstem registry API",
    version="1",
    description="Children with cerebral palsy treated with cells: patients, administrations, "
    "assessments, adverse events, trajectories and the audit trail.",
    auth=TokenAuth(),
    urls_namespace="api",
)


@api.exception_handler(FieldErrors)
def field_errors(request, exc: FieldErrors):
    return api.create_response(
        request, {"detail": "invalid input", "errors": exc.errors}, status=422
    )


@api.exception_handler(NinjaValidationError)
def schema_errors(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for e in exc.errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        errors.setdefault(".".join(loc) or "__all__", []).append(e.get("msg", "invalid"))
    return api.create_response(request, {"detail": "invalid input", "errors": errors}, status=422)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or "not allowed"}, status=403)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "not found"}, status=404)


def _no_nul(value: Any) -> Any:
    """Text with a NUL character is refused (PostgreSQL cannot store it: it would be a 500)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL (\\x00) characters")
    return value


class In(Schema):
    """A request body: unknown fields and NUL characters in text are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    _text = field_validator("*", mode="before")(_no_nul)


def choice(model, name: str, default: Any = ..., *, blank: bool = False, **kwargs: Any) -> Any:
    """A field documented with its model field's choices. The model validates it (its
    messages name the allowed values); the schema lists them for clients and fuzzers."""
    values = [c[0] for c in model._meta.get_field(name).choices]
    return Field(default, json_schema_extra={"enum": ["", *values] if blank else values}, **kwargs)


class Message(Schema):
    detail: str


class Invalid(Schema):
    detail: str = Field(..., examples=["invalid input"])
    errors: dict[str, list[str]] = Field(..., description="field -> messages")


def answers(ok: dict[int, Any], *codes: int) -> dict[int, Any]:
    """The success response plus the documented error answers: 401 and 422 always, and the
    given ``codes`` (400 body is not JSON, 403 not allowed for the role, 404 no such patient)."""
    out = dict(ok)
    for code in sorted({401, 422, *codes}):
        out[code] = Invalid if code == 422 else Message
    return out


READ = (404,)  # reading one patient
WRITE = (400, 403, 404)  # writing a patient's record


class Pages(LimitOffsetPagination):
    """Limit/offset paging with bounds: a limit or offset out of range is a 422 (an offset past
    the database's integer range used to be a 500)."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=1000)
        offset: int = Field(0, ge=0, le=10**9)


# --- patients ------------------------------------------------------------------------------


class PatientIn(In):
    study_id: str = Field(..., examples=["LUB-001"])
    birth_date: dt.date
    sex: str = choice(Patient, "sex", description="F, M or U")
    site: str | None = Field(None, description="Site code (administrators only; default: own site)")
    gestational_age_weeks: float | None = None
    birth_weight_g: int | None = None
    subtype: str = choice(Patient, "subtype", "", blank=True)
    topography: str = choice(Patient, "topography", "", blank=True)
    mrics: str = choice(Patient, "mrics", "", blank=True)
    preterm_birth: bool = False
    growth_restriction: bool = False
    maternal_infection: bool = False
    nsaid_paracetamol_exposure: bool = False
    hie: bool = False
    risk_other: str = ""
    consent_date: dt.date | None = None
    consent_version: str = ""
    consent_withdrawn_date: dt.date | None = None


class PatientOut(Schema):
    id: int
    study_id: str | None
    research_id: str
    site: str
    birth_date: dt.date | None
    age_months: int
    sex: str
    gmfcs: str | None
    subtype: str
    topography: str
    mrics: str
    consent_active: bool
    synthetic: bool


def patient_out(p: Patient, pseudo: bool) -> dict[str, Any]:
    return {
        "id": p.pk,
        "study_id": None if pseudo else p.study_id,
        "research_id": p.research_id,
        "site": p.site.code,
        "birth_date": None if pseudo else p.birth_date,
        "age_months": p.age_months(),
        "sex": p.sex,
        "gmfcs": p.gmfcs_roman or None,
        "subtype": p.subtype,
        "topography": p.topography,
        "mrics": p.mrics,
        "consent_active": p.consent_active,
        "synthetic": p.is_synthetic,
    }


def _patient(request, pk: int) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("site"), pk=pk)


def _writable_patient(request, pk: int) -> Patient:
    patient = _patient(request, pk)
    access.require_write(request.user)
    return patient


class PatientFilter(Schema):
    _text = field_validator("*", mode="before")(_no_nul)

    q: str | None = Field(None, description="Study ID (research ID for researchers) contains")
    site: str | None = None
    gmfcs: str | None = Field(None, description="I-V")


@api.get("/patients", response=answers({200: list[PatientOut]}), tags=["patients"])
@paginate(Pages)
def list_patients(request, filters: Query[PatientFilter]):
    """Researchers get the list in research-ID order (random), not in the order of entry."""
    access.require_read(request.user)
    pseudo = access.is_pseudonymised(request.user)
    qs = (
        Patient.objects.visible_to(request.user)
        .select_related("site")
        .order_by("research_id" if pseudo else "id")
    )
    if filters.q:
        qs = qs.filter(**{("research_id" if pseudo else "study_id") + "__icontains": filters.q})
    if filters.site:
        qs = qs.filter(site__code=filters.site)
    if filters.gmfcs:
        try:
            qs = qs.filter(gmfcs=int(gmfcs.Level.parse(filters.gmfcs)))
        except MeasureError as exc:
            raise FieldErrors({"gmfcs": [str(exc)]}) from None
    return _PseudoList(qs, pseudo)


class _PseudoList:
    """A lazily serialised queryset for pagination (only the page is turned into dicts)."""

    def __init__(self, qs, pseudo: bool):
        self.qs, self.pseudo = qs, pseudo

    def __len__(self) -> int:
        return self.qs.count()

    def count(self) -> int:
        return self.qs.count()

    def __getitem__(self, item):
        rows = self.qs[item]
        return [patient_out(p, self.pseudo) for p in rows]


@api.post("/patients", response=answers({201: PatientOut}, 400, 403), tags=["patients"])
def create_patient(request, payload: PatientIn):
    access.require_write(request.user)
    data = payload.dict()
    code = data.pop("site")
    site = None
    if code:
        site = Site.objects.filter(code=code).first()
        if site is None:
            raise FieldErrors({"site": [f"no site with code {code}"]})
        if access.role_of(request.user) != "admin" and site != access.site_of(request.user):
            raise FieldErrors({"site": ["you can add patients only to your own site"]})
    try:
        site = access.writable_site(request.user, site)
    except PermissionDenied as exc:
        raise FieldErrors({"site": [str(exc)]}) from None
    patient = save_validated(Patient(site=site, **data))
    return Status(201, patient_out(patient, False))


@api.get("/patients/{pk}", response=answers({200: PatientOut}, *READ), tags=["patients"])
def get_patient(request, pk: int):
    access.require_read(request.user)
    return patient_out(_patient(request, pk), access.is_pseudonymised(request.user))


# --- classifications, rehabilitation, labs -----------------------------------------------------


class ClassificationIn(In):
    date: dt.date
    system: Literal["gmfcs", "macs", "cfcs"]
    level: str | int = Field(..., description="I-V or 1-5")


class Created(Schema):
    id: int


@api.post(
    "/patients/{pk}/classifications", response=answers({201: Created}, *WRITE), tags=["records"]
)
def add_classification(request, pk: int, payload: ClassificationIn):
    patient = _writable_patient(request, pk)
    try:
        level = int(gmfcs.Level.parse(payload.level))
    except MeasureError as exc:
        raise FieldErrors({"level": [str(exc).replace("GMFCS", payload.system.upper())]}) from None
    obj = save_validated(
        Classification(patient=patient, date=payload.date, system=payload.system, level=level)
    )
    return Status(201, {"id": obj.pk})


class RehabIn(In):
    therapy: str = choice(RehabEpisode, "therapy")
    hours_per_week: float = Field(..., json_schema_extra={"exclusiveMinimum": 0, "maximum": 168})
    start_date: dt.date
    end_date: dt.date | None = None
    therapy_other: str = ""
    notes: str = ""


@api.post(
    "/patients/{pk}/rehabilitation", response=answers({201: Created}, *WRITE), tags=["records"]
)
def add_rehab(request, pk: int, payload: RehabIn):
    patient = _writable_patient(request, pk)
    data = payload.dict()
    data["date"] = data.pop("start_date")
    try:
        obj = save_validated(RehabEpisode(patient=patient, **data))
    except FieldErrors as exc:
        raise FieldErrors(
            {("start_date" if k == "date" else k): v for k, v in exc.errors.items()}
        ) from None
    return Status(201, {"id": obj.pk})


class LabIn(In):
    date: dt.date
    analyte: str
    value: float
    unit: str
    notes: str = ""


@api.post("/patients/{pk}/labs", response=answers({201: Created}, *WRITE), tags=["records"])
def add_lab(request, pk: int, payload: LabIn):
    patient = _writable_patient(request, pk)
    return Status(201, {"id": save_validated(LabValue(patient=patient, **payload.dict())).pk})


# --- administrations ------------------------------------------------------------------------


class AdministrationIn(In):
    date: dt.date
    product: str = choice(Administration, "product")
    origin: str = choice(Administration, "origin")
    route: str = choice(Administration, "route")
    cell_count: float | str = Field(..., description="e.g. 5e7 or '5 x 10^7'")
    cell_count_unit: Literal["total", "per_kg"] = "total"
    weight_kg: float
    confirm_dose: bool = Field(False, description="confirm a dose outside the published range")
    hla_match: str = ""
    product_other: str = ""
    route_other: str = ""
    gcsf: bool = False
    epo: bool = False
    immunosuppression: bool = False
    adjunct_other: str = ""
    lot: str = ""
    notes: str = ""


class AdministrationOut(Schema):
    id: int
    date: dt.date
    product: str
    cells_total: float
    weight_kg: float
    dose_cells_per_kg: float


@api.post(
    "/patients/{pk}/administrations",
    response=answers({201: AdministrationOut}, *WRITE),
    tags=["records"],
)
def add_administration(request, pk: int, payload: AdministrationIn):
    patient = _writable_patient(request, pk)
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


# --- assessments -----------------------------------------------------------------------------


class GMFMIn(In):
    date: dt.date
    items: dict[str, int | str | None] = Field(
        ..., description='item number -> score 0-3; "NT", 9 or null = not tested; missing = NT'
    )
    with_aids: bool = False
    goal_dimensions: str = Field("", description="e.g. D,E")
    notes: str = ""


class GMFM66Out(Schema):
    id: int
    score: float
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    source: str


class GMFMOut(Schema):
    id: int
    date: dt.date
    total: float
    dimension_percent: dict[str, float]
    dimension_raw: dict[str, int]
    goal_total: float | None
    goal_dimensions: list[str]
    not_tested: list[int]
    with_aids: bool
    gmfm66: GMFM66Out | None = None


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
        "gmfm66": None
        if g66 is None
        else {
            "id": g66.pk,
            "score": g66.score,
            "se": g66.se,
            "ci_lower": g66.ci_lower,
            "ci_upper": g66.ci_upper,
            "source": g66.source,
        },
    }


@api.post(
    "/patients/{pk}/assessments/gmfm",
    response=answers({201: GMFMOut}, *WRITE),
    tags=["assessments"],
)
def add_gmfm(request, pk: int, payload: GMFMIn):
    patient = _writable_patient(request, pk)
    sheet = GMFM88Assessment(patient=patient, assessor=request.user, **payload.dict())
    save_validated(sheet)
    return Status(201, gmfm_out(sheet))


@api.get(
    "/patients/{pk}/assessments/gmfm",
    response=answers({200: list[GMFMOut]}, 403, *READ),
    tags=["assessments"],
)
def list_gmfm(request, pk: int):
    access.require_read(request.user)
    patient = _patient(request, pk)
    if access.is_pseudonymised(request.user):
        raise PermissionDenied("researchers read assessments through the pseudonymised export")
    return [gmfm_out(s) for s in patient.gmfm88assessment_set.order_by("date")]


class GMFM66In(In):
    date: dt.date
    score: float
    se: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    notes: str = ""


@api.post(
    "/patients/{pk}/assessments/gmfm66",
    response=answers({201: GMFM66Out}, *WRITE),
    tags=["assessments"],
)
def add_gmfm66(request, pk: int, payload: GMFM66In):
    patient = _writable_patient(request, pk)
    obj = save_validated(GMFM66Assessment(patient=patient, source="gmae", **payload.dict()))
    return Status(
        201,
        {
            "id": obj.pk,
            "score": obj.score,
            "se": obj.se,
            "ci_lower": obj.ci_lower,
            "ci_upper": obj.ci_upper,
            "source": obj.source,
        },
    )


class MASIn(In):
    muscle: str
    side: str
    grade: str | int


class TardieuIn(In):
    muscle: str
    side: str
    r1_deg: float | None = None
    r2_deg: float | None = None
    quality: int | None = None
    velocity: str = "V3"
    scale_version: str = "0-5"


class SpasticityIn(In):
    date: dt.date
    mas: list[MASIn] = []
    tardieu: list[TardieuIn] = []
    notes: str = ""


class SpasticityOut(Schema):
    id: int
    date: dt.date
    mas: list[dict[str, Any]]
    tardieu: list[dict[str, Any]]


@api.post(
    "/patients/{pk}/assessments/spasticity",
    response=answers({201: SpasticityOut}, *WRITE),
    tags=["assessments"],
)
def add_spasticity(request, pk: int, payload: SpasticityIn):
    patient = _writable_patient(request, pk)
    data = payload.dict()
    obj = save_validated(SpasticityAssessment(patient=patient, **data))
    return Status(201, {"id": obj.pk, "date": obj.date, "mas": obj.mas, "tardieu": obj.tardieu})


# --- adverse events --------------------------------------------------------------------------


class AdverseEventIn(In):
    onset_date: dt.date
    term: str
    grade: int = Field(
        ..., description="CTCAE grade 1-5", json_schema_extra={"minimum": 1, "maximum": 5}
    )
    serious: bool
    relatedness: str = choice(AdverseEvent, "relatedness")
    resolution_date: dt.date | None = None
    administration_id: int | None = None
    action: str = choice(AdverseEvent, "action", "none")
    outcome: str = choice(
        AdverseEvent, "outcome", "", blank=True, description="default: from the resolution date"
    )
    notes: str = ""


class AdverseEventOut(Schema):
    id: int
    onset_date: dt.date
    resolution_date: dt.date | None
    term: str
    grade: int
    serious: bool
    relatedness: str
    administration_id: int | None
    action: str
    outcome: str


@api.post(
    "/patients/{pk}/adverse-events",
    response=answers({201: AdverseEventOut}, *WRITE),
    tags=["safety"],
)
def add_adverse_event(request, pk: int, payload: AdverseEventIn):
    patient = _writable_patient(request, pk)
    data = payload.dict()
    data["date"] = data.pop("onset_date")
    aid = data.pop("administration_id")
    if aid is not None and not patient.administration_set.filter(pk=aid).exists():
        raise FieldErrors({"administration_id": ["no such administration for this patient"]})
    try:
        ae = save_validated(AdverseEvent(patient=patient, administration_id=aid, **data))
    except FieldErrors as exc:
        raise FieldErrors(
            {("onset_date" if k == "date" else k): v for k, v in exc.errors.items()}
        ) from None
    return Status(
        201,
        {
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
        },
    )


# --- trajectory, schedule, history -------------------------------------------------------------


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


class When(Schema):
    """A calendar date, or for researchers the child's age in months instead."""

    date: dt.date | None = Field(None, description="calendar date (not for researchers)")
    age_months: int | None = Field(None, description="age in months (researchers only)")


class ObservationOut(When):
    gmfm66: float
    se: float | None


class BaselineOut(When):
    score: float


class FollowUpOut(When):
    age_years: float
    months_since: float
    score: float
    observed_change: float
    expected_population: float | None
    expected_anchored: float | None
    excess_population: float | None
    excess_anchored: float | None
    se_change: float | None
    verdict_population: str | None
    verdict_anchored: str | None


class AdministrationChangeOut(When):
    administration: int
    age_years: float
    gmfcs: str | None
    baseline: BaselineOut | None
    follow_up: list[FollowUpOut]
    note: str


class TrajectoryOut(Schema):
    curve_set: str
    curve_set_verified: str
    gmfcs: str | None
    observations: list[ObservationOut]
    administrations: list[AdministrationChangeOut]


@api.get(
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
    patient = _patient(request, pk)
    out = trajectory.trajectory(patient).to_dict()
    if access.is_pseudonymised(request.user):
        out = _undated(out, patient.birth_date)
    return out


class VisitOut(Schema):
    administration_id: int
    visit: str
    months: int
    date: dt.date
    window_start: dt.date
    window_end: dt.date
    done_on: dt.date | None
    status: str


@api.get(
    "/patients/{pk}/schedule",
    response=answers({200: list[VisitOut]}, 403, *READ),
    tags=["analysis"],
)
def get_schedule(request, pk: int):
    """The follow-up visits of each administration and their status today (not for researchers:
    it is a list of calendar dates)."""
    access.require_read(request.user)
    patient = _patient(request, pk)
    if access.is_pseudonymised(request.user):
        raise PermissionDenied("the schedule is not part of the pseudonymised research view")
    from cpstem.registry.models.base import today

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


class FieldChangeOut(Schema):
    field: str
    old: str
    new: str


class ChangeOut(Schema):
    when: dt.datetime
    user: str
    action: str
    record: str
    record_id: int
    summary: str
    changes: list[FieldChangeOut]
    reason: str


@api.get(
    "/patients/{pk}/history", response=answers({200: list[ChangeOut]}, 403, *READ), tags=["audit"]
)
def get_history(request, pk: int):
    """The audit trail of the patient and all its records: who, when, what (newest first)."""
    access.require_read(request.user)
    patient = _patient(request, pk)
    if access.is_pseudonymised(request.user):
        raise PermissionDenied("the audit trail is not part of the pseudonymised research view")
    return [c.to_dict() for c in history.patient_history(patient)]
