"""Request and response bodies of the REST API (one place for every Schema)."""

import datetime as dt
from typing import Any, ClassVar, Literal, get_args

from django.db import models
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import ConfigDict, ValidationInfo, create_model, field_validator
from pydantic_core import PydanticCustomError

from cpstem.registry.models import Administration, AdverseEvent, Patient, RehabEpisode
from cpstem.registry.models.patients import PATIENT_FIELDS
from cpstem.registry.typed_input import has_bool, refusal


def _no_nul(value: Any) -> Any:
    """Text with a NUL character is refused (PostgreSQL cannot store it: it would be a 500)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL (\\x00) characters")
    return value


class In(Schema):
    """A request body: unknown fields and NUL characters in text are refused (422).

    ``confirm_*`` flags are stored as the record's ``*_confirmed`` field (:data:`CONFIRM`).
    """

    model_config = ConfigDict(extra="forbid")

    #: model field -> the body field through which it is entered (a refusal of the model field
    #: is reported under the body's name)
    error_fields: ClassVar[dict[str, str]] = {}

    _text = field_validator("*", mode="before")(_no_nul)

    @field_validator("*", mode="before")
    @classmethod
    def _typed(cls, value: Any, info: ValidationInfo) -> Any:
        """Coded and numeric fields: no JSON true/false where a number or code is expected
        (``bool_not_allowed``), no digits of other scripts or invisible characters
        (``non_ascii_digit``, ``control_character``; :mod:`cpstem.registry.typed_input`)."""
        name = info.field_name or ""
        if has_bool(value) and not _allows_bool(cls.model_fields[name].annotation):
            raise PydanticCustomError(
                "bool_not_allowed",
                "true/false is not a number or a code: give the value",
            )
        found = refusal(name, value)
        if found is not None:
            raise PydanticCustomError(found[0], found[1].replace("{", "(").replace("}", ")"))
        return value


def _allows_bool(annotation: Any) -> bool:
    return annotation is bool or bool in get_args(annotation)


#: API confirmation flag -> the model field that stores it (for the audit trail)
CONFIRM = {
    "confirm_dose": "dose_confirmed",
    "confirm_duplicate": "duplicate_confirmed",
    "confirm_relatedness": "relatedness_confirmed",
}


def model_data(payload: Schema) -> dict[str, Any]:
    """``payload.dict()`` with the confirmation flags renamed to their model fields."""
    data = payload.dict()
    for flag, name in CONFIRM.items():
        if flag in data:
            data[name] = data.pop(flag)
    return data


def choice(
    model: type[models.Model], name: str, default: Any = ..., *, blank: bool = False, **kwargs: Any
) -> Any:
    """A field documented with its model field's choices. The model validates it (its
    messages name the allowed values); the schema lists them for clients and fuzzers."""
    values = [c[0] for c in model._meta.get_field(name).choices]
    return Field(default, json_schema_extra={"enum": ["", *values] if blank else values}, **kwargs)


class Message(Schema):
    detail: str


class Invalid(Schema):
    detail: str = Field(..., examples=["invalid input"])
    errors: dict[str, list[str]] = Field(..., description="field -> messages")
    codes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="field -> machine-readable error codes, parallel to the messages",
    )


def answers(ok: dict[int, Any], *codes: int) -> dict[int, Any]:
    """The success response plus the documented error answers: 401 and 422 always, and the
    given ``codes`` (400 body is not JSON, 403 not allowed for the role, 404 no such patient,
    423 the patient or its site is locked)."""
    out = dict(ok)
    for code in sorted({401, 422, *codes}):
        out[code] = Invalid if code == 422 else LockedAnswer if code == 423 else Message
    return out


READ = (404,)  # reading one patient
WRITE = (400, 403, 404, 423)  # writing a patient's record (423: locked)


class Pages(LimitOffsetPagination):
    """Limit/offset paging with bounds: a limit or offset out of range is a 422 (an offset past
    the database's integer range used to be a 500)."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=1000)
        offset: int = Field(0, ge=0, le=10**9)


#: Documentation of patient fields beyond what the model says.
_PATIENT_DOCS: dict[str, dict[str, Any]] = {
    "study_id": {"examples": ["LUB-001"]},
    "sex": {"description": "F, M or U"},
}


class QualityFinding(Schema):
    """A data-quality finding (a warning, see ``GET /checks``)."""

    rule: str
    title: str
    patient_id: int
    study_id: str
    site: str
    record: str
    record_id: int | None
    date: str | None
    message: str


class WithQuality(Schema):
    data_quality: list[QualityFinding] | None = Field(
        None,
        description="On a write (POST, PATCH): the data-quality findings of the patient after "
        "the save, as warnings (empty list: none); null on a read.",
    )


class LockedAnswer(Schema):
    """423 Locked: the patient or its whole site is locked (``lock``: scope, locked_by,
    locked_at, reason); nothing was written."""

    detail: str
    code: str = Field(..., examples=["locked"])
    lock: dict[str, Any]


class Created(WithQuality):
    id: int


# --- patients ------------------------------------------------------------------------------


def model_field(model: type[models.Model], name: str, **kwargs: Any) -> tuple[Any, Any]:
    """``(type, default)`` of a request-body field read from the model field ``name``: choices
    are documented (:func:`choice`); optional fields default to ``None`` ("" for text), flags to
    their model default."""
    f = model._meta.get_field(name)
    optional = f.null or f.blank
    if f.choices:
        default = f.default if isinstance(f.default, str) and f.default else None
        if default is None:
            default = "" if f.blank else ...
        return str, choice(model, name, default, blank=f.blank, **kwargs)
    if isinstance(f, models.BooleanField):
        return bool, Field(f.default, **kwargs)
    if isinstance(f, models.CharField | models.TextField):
        return str, Field("" if optional else ..., **kwargs)
    kind = next(t for base, t in _TYPES if isinstance(f, base))
    return (kind | None, Field(None, **kwargs)) if optional else (kind, Field(..., **kwargs))


_TYPES = (
    (models.DateField, dt.date),
    (models.DecimalField, float),
    (models.FloatField, float),
    (models.IntegerField, int),
)

#: The patient's request body: the model's entry fields (``PATIENT_FIELDS``, the list the web
#: form uses too) plus the site code.
PatientIn = create_model(
    "PatientIn",
    __base__=In,
    site=(
        str | None,
        Field(None, description="Site code (administrators only; default: own site)"),
    ),
    **{name: model_field(Patient, name, **_PATIENT_DOCS.get(name, {})) for name in PATIENT_FIELDS}
    | {
        # a number, so that 1.45 (kilograms in the grams field) is answered "did you mean
        # 1450 g?" by the model (code weight_in_kg), not "not a valid integer"
        "birth_weight_g": (float | None, Field(None, description="grams, e.g. 1850")),
    },
)


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
    group: str | None = Field(
        "cells", description="enrolment group: cells or control; null to a blinded role"
    )


class PatientFilter(Schema):
    _text = field_validator("*", mode="before")(_no_nul)

    q: str | None = Field(None, description="Study ID (research ID for researchers) contains")
    site: str | None = None
    gmfcs: str | None = Field(None, description="I-V")


class ClassificationIn(In):
    date: dt.date
    system: Literal["gmfcs", "macs", "cfcs"]
    level: str | int = Field(..., description="I-V or 1-5")


# --- treatment -----------------------------------------------------------------------------


class RehabIn(In):
    error_fields: ClassVar[dict[str, str]] = {"date": "start_date"}

    therapy: str = choice(RehabEpisode, "therapy")
    hours_per_week: float = Field(..., json_schema_extra={"exclusiveMinimum": 0, "maximum": 168})
    start_date: dt.date
    end_date: dt.date | None = None
    therapy_other: str = ""
    notes: str = ""


class AdministrationIn(In):
    error_fields: ClassVar[dict[str, str]] = {"cells_total": "cell_count"}

    date: dt.date
    product: str = choice(Administration, "product")
    origin: str = choice(Administration, "origin")
    route: str = choice(Administration, "route")
    cell_count: float | str = Field(..., description="e.g. 5e7 or '5 x 10^7'")
    cell_count_unit: Literal["total", "per_kg"] = "total"
    weight_kg: float
    confirm_dose: bool = Field(
        False,
        description="confirm a dose outside the published range of its product "
        "(outcomes/data/dose_ranges.toml; an unknown product: the range over all products). "
        "Without it such a dose is refused: 422, code dose_needs_confirmation on cell_count "
        "(params: cells_per_kg, range, likely_swap).",
    )
    hla_match: str = ""
    product_other: str = ""
    route_other: str = ""
    gcsf: bool = False
    epo: bool = False
    immunosuppression: bool = False
    adjunct_other: str = ""
    lot: str = ""
    notes: str = ""


class AdministrationOut(WithQuality):
    id: int
    date: dt.date
    product: str
    cells_total: float
    weight_kg: float
    dose_cells_per_kg: float


# --- assessments ---------------------------------------------------------------------------


class LabIn(In):
    date: dt.date
    analyte: str
    value: float
    unit: str
    notes: str = ""


class GMFMIn(In):
    #: a refusal of one item (``item_<n>`` in forms and import files) is reported on ``items``
    error_fields: ClassVar[dict[str, str]] = {f"item_{n}": "items" for n in range(1, 89)}

    date: dt.date
    items: dict[str, int | str | None] = Field(
        ..., description='item number -> score 0-3; "NT", 9 or null = not tested; missing = NT'
    )
    with_aids: bool = False
    blinded_assessor: bool = Field(
        False, description="assessed by an assessor blinded to the randomised allocation"
    )
    goal_dimensions: str = Field("", description="e.g. D,E")
    notes: str = ""
    confirm_duplicate: bool = Field(
        False,
        description="confirm a second assessment of this kind for the child on the same day. "
        "Without it: 422, code duplicate_assessment on date.",
    )


class GMFM66Out(WithQuality):
    id: int
    score: float
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    source: str
    blinded_assessor: bool = False


class GMFMOut(WithQuality):
    id: int
    date: dt.date
    total: float
    dimension_percent: dict[str, float]
    dimension_raw: dict[str, int]
    goal_total: float | None
    goal_dimensions: list[str]
    not_tested: list[int]
    with_aids: bool
    blinded_assessor: bool = False
    gmfm66: GMFM66Out | None = None


class GMFM66In(In):
    date: dt.date
    score: float
    se: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    blinded_assessor: bool = Field(
        False, description="assessed by an assessor blinded to the randomised allocation"
    )
    notes: str = ""
    confirm_duplicate: bool = Field(
        False,
        description="confirm a second assessment of this kind for the child on the same day. "
        "Without it: 422, code duplicate_assessment on date.",
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
    blinded_assessor: bool = Field(
        False, description="assessed by an assessor blinded to the randomised allocation"
    )
    notes: str = ""
    confirm_duplicate: bool = Field(
        False,
        description="confirm a second assessment of this kind for the child on the same day. "
        "Without it: 422, code duplicate_assessment on date.",
    )


class SpasticityOut(WithQuality):
    id: int
    date: dt.date
    mas: list[dict[str, Any]]
    tardieu: list[dict[str, Any]]
    blinded_assessor: bool = False


# --- safety --------------------------------------------------------------------------------


class AdverseEventIn(In):
    error_fields: ClassVar[dict[str, str]] = {
        "date": "onset_date",
        "administration": "administration_id",
    }

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
        AdverseEvent,
        "outcome",
        "",
        blank=True,
        description="blank: recovered when a resolution date is given, else unknown",
    )
    notes: str = ""
    confirm_relatedness: bool = Field(
        False,
        description="confirm a probable or definite relatedness of an event that began before "
        "any cell administration of the child. Without it: 422, code "
        "related_before_administration on relatedness.",
    )


class AdverseEventOut(WithQuality):
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


# --- analysis: trajectory, schedule, history -----------------------------------------------


class When(Schema):
    """A calendar date, or for researchers the child's age in months instead."""

    date: dt.date | None = Field(None, description="calendar date (not for researchers)")
    age_months: int | None = Field(None, description="age in months (researchers only)")


class ObservationOut(When):
    gmfm66: float = Field(..., description="the day's score; the mean of several (same_day_rule)")
    se: float | None
    n_scores: int = Field(1, description="how many GMFM-66 scores of the day were combined")
    scores: list[float] = Field(default_factory=list, description="the day's scores, as entered")


class BaselineOut(When):
    score: float


class FollowUpOut(When):
    age_years: float | None = Field(None, description="age in years (not for researchers)")
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
    administration: int | None = Field(None, description="empty: a control's enrolment")
    age_years: float | None = Field(None, description="age in years (not for researchers)")
    gmfcs: str | None
    baseline: BaselineOut | None
    follow_up: list[FollowUpOut]
    note: str


class TrajectoryOut(Schema):
    curve_set: str
    curve_set_verified: str
    gmfcs: str | None
    same_day_rule: str = Field(..., description="how several scores of one day are used")
    observations: list[ObservationOut]
    administrations: list[AdministrationChangeOut]


class VisitOut(Schema):
    administration_id: int | None = Field(
        description="the administration the visit follows; null: a control's enrolment, or "
        "hidden from a role blind to the allocation"
    )
    visit: str
    months: int
    date: dt.date
    window_start: dt.date
    window_end: dt.date
    done_on: dt.date | None
    status: str


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
