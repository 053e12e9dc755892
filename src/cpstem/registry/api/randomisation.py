"""Randomisation: the scheme's status, the concealed list (administrators: define, generate,
upload, verify), randomising a child, its allocation (never to a blinded role) and unblinding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, field_validator

from cpstem.errors import CpstemError
from cpstem.registry import access, privacy
from cpstem.registry.api.common import patient_for
from cpstem.registry.api.schemas import READ, WRITE, In, _no_nul, answers
from cpstem.registry.errors import FieldError, FieldErrors
from cpstem.registry.models.randomisation import AllocationSlot, Method
from cpstem.registry.services import randomisation as rz

router = Router(tags=["randomisation"])

T = TypeVar("T")


def _coded(call: Callable[[], T]) -> T:
    """A service refusal as a 422 (coded), never a 500."""
    try:
        return call()
    except rz.ListFileError as exc:
        raise exc.as_field_errors() from None
    except FieldErrors:
        raise
    except CpstemError as exc:  # the registry's and the design layer's coded refusals
        raise FieldErrors({exc.field or "__all__": [FieldError.of(exc)]}) from None


def _page_roles(request: HttpRequest) -> privacy.Projection:
    proj = privacy.project(request.user)
    if not proj.may_see_randomisation:
        raise PermissionDenied(
            "the randomisation status is for administrators, clinicians and monitors"
        )
    return proj


def _scheme() -> Any:
    s = rz.scheme()
    if s is None:
        raise Http404("no randomisation scheme")
    return s


#: A ratio or a block size (a sanity bound, a cpstem policy: a block holds at most 100 children).
Small = Annotated[int, Field(ge=1, le=100)]
_FACTORS = ", ".join(rz.FACTORS)


class StratumCountOut(Schema):
    stratum: str
    levels: dict[str, str]
    allocated: dict[str, int] = Field(description="children allocated per arm")
    free_slots: int


class SchemeOut(Schema):
    name: str
    method: str
    arms: list[str]
    ratio: list[int]
    factors: list[str]
    strata: dict[str, list[str]]
    block_sizes: list[int]
    per_stratum: int
    eligibility: list[dict[str, str]] = Field(description="the checklist: key and text")
    list_source: str | None = Field(description="generated, uploaded or null (no list)")
    list_sha256: str | None
    design_sha256: str | None
    upload_sha256: str | None
    list_created_at: dt.datetime | None
    verified_at: dt.datetime | None
    verified_ok: bool | None
    slots: int
    allocated_total: dict[str, int]
    strata_counts: list[StratumCountOut]
    unblinded: int


class SchemeIn(In):
    name: str = Field(..., min_length=1, max_length=100)
    method: str = Field(Method.BLOCKS, json_schema_extra={"enum": list(Method.values)})
    ratio: list[Small] = Field([1, 1], max_length=2, description="cells, control")
    factors: list[str] = Field(list(rz.FACTORS), max_length=3, description="of " + _FACTORS)
    block_sizes: list[Small] = Field([2, 4, 6], min_length=1, max_length=10)
    per_stratum: int = Field(24, ge=1, le=10000)
    probability: float = Field(0.8, gt=0, le=1)
    reason: str = Field(..., min_length=1)


class ReasonIn(In):
    reason: str = Field(..., min_length=1, description="kept in the audit trail")


class GenerateIn(ReasonIn):
    seed: int | None = Field(
        None, ge=0, le=2**62, description="default: a fresh random seed (kept concealed)"
    )


class _FileIn(Schema):
    """A body carrying a file's text (line breaks allowed; the list parser checks it)."""

    model_config = ConfigDict(extra="forbid")

    _text = field_validator("*", mode="before")(_no_nul)


class UploadIn(_FileIn):
    csv: str = Field(..., description="the list as CSV text: header stratum,sequence,arm")
    reason: str = Field(..., min_length=1, description="kept in the audit trail")


class VerifyIn(_FileIn):
    csv: str | None = Field(None, description="the uploaded file, to compare with (optional)")
    reason: str = ""


class ListOut(Schema):
    source: str
    slots: int
    strata: int
    list_sha256: str
    design_sha256: str
    upload_sha256: str


class VerifyOut(Schema):
    ok: bool
    recorded_sha256: str
    computed_sha256: str
    problems: list[str]


class RandomiseIn(In):
    eligibility: dict[str, bool] = Field(
        ..., description="criterion key -> confirmed (every criterion of the scheme: true)"
    )


class AllocationOut(Schema):
    patient_id: int
    scheme: str
    arm: str = Field(description="cells or control: the enrolment group set")
    stratum: str
    sequence: int
    allocated_at: dt.datetime | None
    unblinded: bool


class UnblindingOut(Schema):
    patient_id: int
    by: str
    role: str
    at: dt.datetime
    reason: str


def _allocation_out(slot: AllocationSlot) -> dict[str, Any]:
    return {
        "patient_id": slot.patient_id,
        "scheme": slot.scheme.name,
        "arm": slot.arm,
        "stratum": slot.stratum,
        "sequence": slot.sequence,
        "allocated_at": slot.allocated_at,
        "unblinded": slot.patient.unblindings.exists(),
    }


def _made(m: rz.ListMade) -> dict[str, Any]:
    return {
        "source": m.source,
        "slots": m.slots,
        "strata": m.strata,
        "list_sha256": m.list_sha256,
        "design_sha256": m.design_sha256,
        "upload_sha256": m.upload_sha256,
    }


@router.get("/randomisation", response=answers({200: SchemeOut}, 403, 404))
def randomisation_status(request: HttpRequest) -> dict[str, Any]:
    """The scheme and its list: hashes, verification, children allocated per stratum and arm
    (never the arms of free slots). Administrators, clinicians and monitors; 404 without a
    scheme."""
    _page_roles(request)
    return rz.status(_scheme())


@router.post("/randomisation", response=answers({201: SchemeOut}, 400, 403))
def define_randomisation(request: HttpRequest, payload: SchemeIn) -> Status:
    """Define the registry's scheme (administrators; once)."""
    access.require_read(request.user)
    s = _coded(
        lambda: rz.define_scheme(
            payload.name,
            method=payload.method,
            ratio=payload.ratio,
            factors=payload.factors,
            block_sizes=payload.block_sizes,
            per_stratum=payload.per_stratum,
            probability=payload.probability,
            by=request.user,
            reason=payload.reason,
        )
    )
    return Status(201, rz.status(s))


@router.post("/randomisation/generate", response=answers({201: ListOut}, 400, 403, 404))
def generate_list(request: HttpRequest, payload: GenerateIn) -> Status:
    """Generate the concealed list (administrators): its hashes, never its arms."""
    access.require_read(request.user)
    s = _scheme()
    made = _coded(lambda: rz.generate(s, seed=payload.seed, by=request.user, reason=payload.reason))
    return Status(201, _made(made))


@router.post("/randomisation/upload", response=answers({201: ListOut}, 400, 403, 404))
def upload_list(request: HttpRequest, payload: UploadIn) -> Status:
    """Upload the list as CSV text (administrators); a malformed file is a 422 naming each
    line and column."""
    access.require_read(request.user)
    s = _scheme()
    made = _coded(
        lambda: rz.upload(s, payload.csv.encode(), by=request.user, reason=payload.reason)
    )
    return Status(201, _made(made))


@router.post("/randomisation/verify", response=answers({201: VerifyOut}, 400, 403, 404))
def verify_list(request: HttpRequest, payload: VerifyIn) -> Status:
    """Recompute the list's hash (and compare with the uploaded file if given): ``ok`` false
    when the list changed since it was made (administrators, monitors). 201: the check is
    recorded in the randomisation audit log."""
    access.require_read(request.user)
    s = _scheme()
    file = payload.csv.encode() if payload.csv is not None else None
    res = _coded(lambda: rz.verify(s, file=file, by=request.user, reason=payload.reason))
    body = {
        "ok": res.ok,
        "recorded_sha256": res.recorded_sha256,
        "computed_sha256": res.computed_sha256,
        "problems": list(res.problems),
    }
    return Status(201, body)


@router.post("/patients/{pk}/randomise", response=answers({201: AllocationOut}, *WRITE))
def randomise_patient(request: HttpRequest, pk: int, payload: RandomiseIn) -> Status:
    """Randomise an eligible child (clinicians of its site, administrators): the eligibility
    checklist confirmed in the body; consent recorded; not yet randomised; no cells given. The
    answer is the allocation (the only place it is shown before it is looked up)."""
    patient = patient_for(request, pk)
    access.require_write(request.user)
    slot = _coded(lambda: rz.randomise(patient, confirmed=payload.eligibility, by=request.user))
    return Status(201, _allocation_out(slot))


@router.get("/patients/{pk}/allocation", response=answers({200: AllocationOut}, 403, *READ))
def get_allocation(request: HttpRequest, pk: int) -> dict[str, Any]:
    """The child's allocation: 403 to a blinded role (unless the child was unblinded) and to
    researchers; 404 when the child is not randomised."""
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    proj.require_unmasked(patient)
    if proj.pseudonymised:
        raise PermissionDenied("researchers read the allocation through the pseudonymised export")
    slot = AllocationSlot.objects.filter(patient=patient).select_related("scheme").first()
    if slot is None:
        raise Http404("not randomised")
    return _allocation_out(slot)


@router.post("/patients/{pk}/unblind", response=answers({201: UnblindingOut}, *WRITE))
def unblind_patient(request: HttpRequest, pk: int, payload: ReasonIn) -> Status:
    """Emergency unblinding (administrators, clinicians of the child's site) with the reason:
    the blinded roles see the child's allocation from then on; audited."""
    patient = patient_for(request, pk)
    u = _coded(lambda: rz.unblind(patient, by=request.user, reason=payload.reason))
    return Status(
        201,
        {
            "patient_id": patient.pk,
            "by": u.by.get_username() if u.by else "",
            "role": u.role,
            "at": u.at,
            "reason": u.reason,
        },
    )
