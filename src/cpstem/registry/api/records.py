"""Single-record operations: ``GET``, ``PATCH`` and ``DELETE`` of the patient
(``/patients/{pk}``) and of every record at the path it is created at
(``/patients/{pk}/adverse-events/{rid}``, ``/patients/{pk}/assessments/gmfm/{rid}``, ...).

- ``GET`` answers the record with an ``ETag`` (its version, quoted: ``"3"``).
- ``PATCH`` is partial (fields left out stay as they are; a GMFM-88 ``items`` object is merged
  item by item) and needs ``"reason"``; ``DELETE`` needs ``?reason=``. Both go through the
  registry's one write path (:mod:`cpstem.registry.services.write`: the same rules as every
  entry, the reason in the audit trail). A missing or blank reason is a 422 (code
  ``required`` on ``reason``).
- ``If-Match`` (optional) makes the change conditional: a stale ETag gets 412 (code
  ``stale_version``), and so does a change someone else saved in between (the write path claims
  the version with ``UPDATE ... WHERE version = n``).
- A record others depend on: derived data is deleted with it, entered data refuses the delete
  (409, code ``has_dependants``, naming them); see :mod:`cpstem.registry.services.changes`.

Researchers read records through the pseudonymised export: single records (calendar dates,
free text) are closed to them (403), as the GMFM-88 sheets are.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Header, Query, Router, Status

from cpstem.measures import MeasureError
from cpstem.outcomes import OutcomeError
from cpstem.outcomes.dose import compute_dose, parse_cell_count
from cpstem.registry import access, privacy
from cpstem.registry.api import record_schemas as rs
from cpstem.registry.api.assessments import gmfm_out
from cpstem.registry.api.common import patient_for
from cpstem.registry.api.patients import LEVEL_PARSERS, patient_out
from cpstem.registry.api.patients import router as patients_router
from cpstem.registry.api.safety import adverse_event_out
from cpstem.registry.api.schemas import In, PatientOut, answers
from cpstem.registry.errors import FieldError, FieldErrors, StaleVersion
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    RehabEpisode,
    SpasticityAssessment,
)
from cpstem.registry.services import write

router = Router()

REASON_DOC = "Required: the reason for the deletion (GCP), kept in the audit trail."
IF_MATCH_DOC = (
    'Optional: the ETag the change is based on (e.g. "3"); a stale one is refused with 412.'
)
_TAG = re.compile(r'^"(\d{1,12})"$')


# --- versions and ETags ----------------------------------------------------------------------


def etag(obj: models.Model) -> str:
    """The ETag of a record: its version, quoted (``"3"``)."""
    return f'"{obj.version}"'


def expected_version(obj: models.Model, if_match: str | None) -> int | None:
    """The version an ``If-Match`` header asks for (``None``: no condition); 412 when it names
    none of the current version (RFC 9110 strong comparison; ``*`` matches any)."""
    if if_match is None:
        return None
    tags = [t.strip() for t in if_match.split(",") if t.strip()]
    if "*" in tags:
        return obj.version
    for tag in tags:
        m = _TAG.match(tag)
        if m and int(m[1]) == obj.version:
            return obj.version
    asked = next((int(m[1]) for t in tags if (m := _TAG.match(t))), None)
    raise StaleVersion(asked or 0, obj.version, obj, "this record") from None


def stale_body(exc: StaleVersion) -> dict[str, Any]:
    """The 412 body (``Stale``)."""
    return {
        "detail": exc.message,
        "code": exc.code,
        "expected": exc.expected or None,
        "current": exc.current,
        "etag": None if exc.current is None else f'"{exc.current}"',
    }


# --- the record kinds --------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One record kind: where it lives, its bodies and how a ``PATCH`` body applies."""

    name: str  # operation ids: get_<name>, patch_<name>, delete_<name>
    path: str  # the collection path it is created at
    model: type[models.Model]
    patch: type[In]
    out_schema: type
    out: Callable[[Any], dict[str, Any]]
    apply: Callable[[Any, dict[str, Any]], None]
    tag: str
    section: str = "records"


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names if n != "data_quality"}  # filled on a write


def _set(obj: Any, data: dict[str, Any], renames: dict[str, str] | None = None) -> None:
    for key, value in data.items():
        setattr(obj, (renames or {}).get(key, key), value)


def _apply_classification(obj: Classification, data: dict[str, Any]) -> None:
    if "system" in data:
        obj.system = data.pop("system")
    if "level" in data:
        level = data.pop("level")
        parser = LEVEL_PARSERS.get(obj.system)
        if parser is None:
            raise FieldErrors.one("system", "use gmfcs, macs or cfcs", "invalid_choice")
        try:
            obj.level = int(parser.parse(level))
        except MeasureError as exc:
            raise FieldErrors({"level": [FieldError.of(exc)]}) from None
    _set(obj, data)


def _apply_administration(obj: Administration, data: dict[str, Any]) -> None:
    text = data.pop("cell_count", None)
    unit = data.pop("cell_count_unit", None)
    if "confirm_dose" in data:
        data["dose_confirmed"] = data.pop("confirm_dose")
    _set(obj, data)
    if text is None and unit is not None:
        raise FieldErrors.one(
            "cell_count", "give the cell count with its unit (total or per kg)", "required"
        )
    if text is not None:
        try:
            count = parse_cell_count(text)
            dose = compute_dose(count, obj.weight_kg, per_kg=(unit or "total") == "per_kg")
        except OutcomeError as exc:  # the dose layer names the field: cell_count or weight_kg
            raise FieldErrors({exc.field or "cell_count": [FieldError.of(exc)]}) from None
        obj.cells_total = dose.cells_total


def _apply_ae(obj: AdverseEvent, data: dict[str, Any]) -> None:
    if "administration_id" in data:
        aid = data.pop("administration_id")
        if (
            aid is not None
            and not Administration.objects.filter(pk=aid, patient_id=obj.patient_id).exists()
        ):
            raise FieldErrors.one(
                "administration_id", "no such administration for this patient", "does_not_exist"
            )
        obj.administration_id = aid
    _set(obj, data, {"onset_date": "date"})


def _apply_gmfm(obj: GMFM88Assessment, data: dict[str, Any]) -> None:
    if "items" in data:  # merged item by item (JSON merge patch); null = not tested
        items = dict(obj.items or {})
        items.update({str(k): v for k, v in (data.pop("items") or {}).items()})
        obj.items = items
    _set(obj, data)


def _apply_spasticity(obj: SpasticityAssessment, data: dict[str, Any]) -> None:
    _set(obj, data)  # mas / tardieu are replaced as a whole (lists)


def _administration_out(a: Administration) -> dict[str, Any]:
    return _fields(a, tuple(rs.AdministrationRecord.model_fields)) | {"id": a.pk}


def _rehab_out(r: RehabEpisode) -> dict[str, Any]:
    names = tuple(n for n in rs.RehabRecord.model_fields if n != "start_date")
    return _fields(r, names) | {"id": r.pk, "start_date": r.date}


def _gmfm_record(s: GMFM88Assessment) -> dict[str, Any]:
    return gmfm_out(s) | {"version": s.version, "items": s.items, "notes": s.notes}


def _simple_out(schema: type) -> Callable[[Any], dict[str, Any]]:
    names = tuple(schema.model_fields)
    return lambda obj: _fields(obj, names) | {"id": obj.pk}


KINDS: tuple[Kind, ...] = (
    Kind(
        "classification",
        "/patients/{pk}/classifications",
        Classification,
        rs.ClassificationPatch,
        rs.ClassificationRecord,
        _simple_out(rs.ClassificationRecord),
        _apply_classification,
        "records",
    ),
    Kind(
        "administration",
        "/patients/{pk}/administrations",
        Administration,
        rs.AdministrationPatch,
        rs.AdministrationRecord,
        _administration_out,
        _apply_administration,
        "records",
    ),
    Kind(
        "rehabilitation",
        "/patients/{pk}/rehabilitation",
        RehabEpisode,
        rs.RehabPatch,
        rs.RehabRecord,
        _rehab_out,
        lambda obj, data: _set(obj, data, {"start_date": "date"}),
        "records",
    ),
    Kind(
        "lab",
        "/patients/{pk}/labs",
        LabValue,
        rs.LabPatch,
        rs.LabRecord,
        _simple_out(rs.LabRecord),
        _set,
        "records",
    ),
    Kind(
        "gmfm",
        "/patients/{pk}/assessments/gmfm",
        GMFM88Assessment,
        rs.GMFMPatch,
        rs.GMFMRecord,
        _gmfm_record,
        _apply_gmfm,
        "assessments",
        "gmfm_sheets",
    ),
    Kind(
        "gmfm66",
        "/patients/{pk}/assessments/gmfm66",
        GMFM66Assessment,
        rs.GMFM66Patch,
        rs.GMFM66Record,
        _simple_out(rs.GMFM66Record),
        _set,
        "assessments",
    ),
    Kind(
        "spasticity",
        "/patients/{pk}/assessments/spasticity",
        SpasticityAssessment,
        rs.SpasticityPatch,
        rs.SpasticityRecord,
        _simple_out(rs.SpasticityRecord),
        _apply_spasticity,
        "assessments",
    ),
    Kind(
        "adverse_event",
        "/patients/{pk}/adverse-events",
        AdverseEvent,
        rs.AdverseEventPatch,
        rs.AdverseEventRecord,
        lambda ae: adverse_event_out(ae) | {"version": ae.version, "notes": ae.notes},
        _apply_ae,
        "safety",
    ),
)

#: the model of each single-record path (``/patients/{pk}/labs/{rid}`` -> LabValue)
RECORD_PATHS: dict[str, type[models.Model]] = {k.path + "/{rid}": k.model for k in KINDS}


# --- the shared steps -------------------------------------------------------------------------


def _readable(request: HttpRequest, kind: Kind, pk: int, rid: int) -> models.Model:
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    proj.require(kind.section)
    if kind.model is Administration:
        proj.require_unmasked(patient, "administrations")
    return get_object_or_404(kind.model, pk=rid, patient=patient)


def _writable(request: HttpRequest, kind: Kind, pk: int, rid: int) -> models.Model:
    patient = patient_for(request, pk)
    access.require_write(request.user)
    return get_object_or_404(kind.model, pk=rid, patient=patient)


def _patch(
    obj: models.Model,
    payload: In,
    apply: Callable[[Any, dict[str, Any]], None],
    if_match: str | None,
) -> models.Model:
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", None)
    expected = expected_version(obj, if_match)
    try:
        apply(obj, data)
        return write.save(obj, reason=reason, expected_version=expected)
    except FieldErrors as exc:
        raise exc.renamed(type(payload).error_fields) from None


def _delete(obj: models.Model, reason: str | None, if_match: str | None) -> None:
    write.delete(obj, reason=reason, expected_version=expected_version(obj, if_match))


WRITE_ANSWERS = (400, 403, 404, 423)


def _register(kind: Kind) -> None:
    path = kind.path + "/{rid}"
    Patch = kind.patch

    def get_one(request: HttpRequest, pk: int, rid: int, response: HttpResponse) -> Any:
        obj = _readable(request, kind, pk, rid)
        response["ETag"] = etag(obj)
        return kind.out(obj)

    def patch_one(
        request: HttpRequest,
        pk: int,
        rid: int,
        payload: Patch,
        response: HttpResponse,
        if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC),
    ) -> Any:
        obj = _patch(_writable(request, kind, pk, rid), payload, kind.apply, if_match)
        response["ETag"] = etag(obj)
        return kind.out(obj)

    def delete_one(
        request: HttpRequest,
        pk: int,
        rid: int,
        reason: str | None = Query(None, description=REASON_DOC),
        if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC),
    ) -> Status:
        _delete(_writable(request, kind, pk, rid), reason, if_match)
        return Status(204, None)

    get_one.__name__ = f"get_{kind.name}"
    patch_one.__name__ = f"patch_{kind.name}"
    delete_one.__name__ = f"delete_{kind.name}"
    get_one.__doc__ = f"One {kind.model._meta.verbose_name}, with its version as the ETag."
    patch_one.__doc__ = (
        f"Change a {kind.model._meta.verbose_name}: the fields given (others stay), with the "
        "reason for change; If-Match makes it conditional (412 when stale)."
    )
    delete_one.__doc__ = (
        f"Delete a {kind.model._meta.verbose_name} with ?reason= (kept in the audit trail); "
        "If-Match makes it conditional (412 when stale)."
    )
    router.get(path, response=answers({200: kind.out_schema}, 403, 404), tags=[kind.tag])(get_one)
    router.patch(
        path,
        response=answers({200: kind.out_schema}, *WRITE_ANSWERS) | {412: rs.Stale},
        tags=[kind.tag],
    )(patch_one)
    router.delete(
        path,
        response=answers({204: None}, *WRITE_ANSWERS) | {409: rs.Dependants, 412: rs.Stale},
        tags=[kind.tag],
    )(delete_one)


for _kind in KINDS:
    _register(_kind)


# --- the patient (on the patients router: the same path as its GET) --------------------------


@patients_router.patch(
    "/patients/{pk}",
    response=answers({200: PatientOut}, *WRITE_ANSWERS) | {412: rs.Stale},
    tags=["patients"],
)
def patch_patient(
    request: HttpRequest,
    pk: int,
    payload: rs.PatientPatch,
    response: HttpResponse,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC),
) -> dict[str, Any]:
    """Change a patient: the fields given (others stay), with the reason for change; If-Match
    makes it conditional (412 when stale). The site is not changed here."""
    patient = patient_for(request, pk)
    access.require_write(request.user)
    patient = _patch(patient, payload, _set, if_match)
    response["ETag"] = etag(patient)
    return patient_out(patient, privacy.project(request.user))


@patients_router.delete(
    "/patients/{pk}",
    response=answers({204: None}, *WRITE_ANSWERS) | {409: rs.Dependants, 412: rs.Stale},
    tags=["patients"],
)
def delete_patient(
    request: HttpRequest,
    pk: int,
    reason: str | None = Query(None, description=REASON_DOC),
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC),
) -> Status:
    """Delete a patient enrolled by mistake, with ?reason=: refused (409) while it has records
    (each is deleted on its own, with its own reason)."""
    patient = patient_for(request, pk)
    access.require_write(request.user)
    _delete(patient, reason, if_match)
    return Status(204, None)


__all__ = ["KINDS", "RECORD_PATHS", "etag", "expected_version", "router"]
