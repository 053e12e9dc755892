"""Bodies of the single-record operations (``GET``/``PATCH``/``DELETE`` of the patient and of
each record): the partial request bodies of ``PATCH`` -- every field of the create body,
optional, plus the required ``reason`` -- and the full record answers (clinicians, monitors,
administrators; the version is also the ``ETag``)."""

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict, create_model

from cpstem.registry.api.schemas import (
    AdministrationIn,
    AdverseEventIn,
    AdverseEventOut,
    ClassificationIn,
    GMFM66In,
    GMFMIn,
    GMFMOut,
    In,
    LabIn,
    PatientIn,
    RehabIn,
    SpasticityIn,
    WithQuality,
)

REASON_DOC = (
    "Required: the reason for the change (GCP), kept in the audit trail; one line of plain text, "
    "at most 100 characters."
)


def _require_reason(schema: dict[str, Any]) -> None:
    schema.setdefault("required", [])
    if "reason" not in schema["required"]:
        schema["required"].append("reason")


class PatchIn(In):
    """A ``PATCH`` body: fields left out stay as they are; ``reason`` is required."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_require_reason)


def partial(schema: type[In], name: str, drop: tuple[str, ...] = ()) -> type[In]:
    """The ``PATCH`` body of a create body: the same fields (names, types, documented choices),
    each optional (a field left out is left unchanged), and the required ``reason``."""
    fields: dict[str, Any] = {}
    for field_name, info in schema.model_fields.items():
        if field_name in drop:
            continue
        kind = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        fields[field_name] = (
            kind,
            Field(
                None,
                description=info.description,
                json_schema_extra=info.json_schema_extra,
                examples=info.examples,
            ),
        )
    fields["reason"] = (str | None, Field(None, description=REASON_DOC, examples=["typo"]))
    model = create_model(name, __base__=PatchIn, **fields)
    model.error_fields = dict(schema.error_fields)
    return model


PatientPatch = partial(PatientIn, "PatientPatch", drop=("site",))
ClassificationPatch = partial(ClassificationIn, "ClassificationPatch")
AdministrationPatch = partial(AdministrationIn, "AdministrationPatch")
RehabPatch = partial(RehabIn, "RehabPatch")
LabPatch = partial(LabIn, "LabPatch")
GMFMPatch = partial(GMFMIn, "GMFMPatch")
GMFM66Patch = partial(GMFM66In, "GMFM66Patch")
SpasticityPatch = partial(SpasticityIn, "SpasticityPatch")
AdverseEventPatch = partial(AdverseEventIn, "AdverseEventPatch")


class Stale(Schema):
    """412: the ``If-Match`` version is not the current one (or someone saved in between)."""

    detail: str
    code: str = Field(..., examples=["stale_version"])
    expected: int | None = Field(None, description="the version the request was based on")
    current: int | None = Field(None, description="the version now stored (null: deleted)")
    etag: str | None = Field(None, description="the current ETag")


class Dependants(Schema):
    """409: the record cannot be deleted while other records depend on it."""

    detail: str
    code: str = Field(..., examples=["has_dependants"])
    dependants: list[str]


class Versioned(WithQuality):
    id: int
    version: int = Field(..., description="+1 on every change; the ETag is this number quoted")


class ClassificationRecord(Versioned):
    date: dt.date
    system: str
    level: int


class AdministrationRecord(Versioned):
    date: dt.date
    product: str
    product_other: str
    origin: str
    hla_match: str
    cells_total: float
    weight_kg: float
    dose_cells_per_kg: float
    dose_confirmed: bool
    route: str
    route_other: str
    gcsf: bool
    epo: bool
    immunosuppression: bool
    adjunct_other: str
    lot: str
    notes: str


class RehabRecord(Versioned):
    therapy: str
    therapy_other: str
    hours_per_week: float
    start_date: dt.date
    end_date: dt.date | None
    notes: str


class LabRecord(Versioned):
    date: dt.date
    analyte: str
    value: float
    unit: str
    notes: str


class GMFMRecord(GMFMOut):
    version: int
    items: dict[str, int | None] = Field(..., description="item -> 0-3, null = not tested")
    notes: str


class GMFM66Record(Versioned):
    date: dt.date
    score: float
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    source: str
    sheet_id: int | None = Field(None, description="the GMFM-88 sheet it was computed from")
    blinded_assessor: bool = False
    notes: str


class SpasticityRecord(Versioned):
    date: dt.date
    mas: list[dict[str, Any]]
    tardieu: list[dict[str, Any]]
    blinded_assessor: bool = False
    notes: str


class AdverseEventRecord(AdverseEventOut):
    version: int
    notes: str
