"""Locks, electronic signatures and data-quality findings.

- ``POST /patients/{pk}/lock`` / ``/unlock`` and ``POST /sites/{code}/lock`` / ``/unlock``
  (admin only, ``{"reason": ...}`` required): 201 with the lock (its state after the call).
  While a lock is in force every write of the patient's data is answered with **423 Locked**
  and a JSON body
  ``{"detail", "code": "locked", "lock": {scope, locked_by, locked_at, reason, ...}}``.
- ``POST /patients/{pk}/signatures`` (``{"password": ..., "meaning": "complete_and_correct"}``;
  an admin or a clinician of the patient's site): 201 with the signature; a wrong password is
  a 403 (code ``wrong_password``), counted by the log-in throttling (then 429, ``locked_out``).
  The password is never stored, logged or echoed. ``GET /patients/{pk}/signatures``: all of
  them, newest first, with ``valid`` false once a later change superseded them.
- ``GET /checks?site=CODE``: the data-quality findings of the caller's patients.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from cpstem.registry import access, privacy
from cpstem.registry.api.common import patient_for, reject_unknown_query
from cpstem.registry.api.schemas import In, Message, _no_nul, answers
from cpstem.registry.errors import FieldErrors, SignatureRefused
from cpstem.registry.models import Patient, Role, Signature, Site
from cpstem.registry.services import data_quality, locking, signatures

router = Router()


class ReasonIn(In):
    reason: str = Field(
        ...,
        max_length=1000,
        description="Required: why the data are locked or unlocked (kept in the audit trail).",
    )


class LockOut(Schema):
    id: int
    scope: str = Field(..., description="patient or site")
    patient_id: int | None
    site: str | None
    locked_by: str
    locked_at: str
    reason: str
    unlocked_by: str | None
    unlocked_at: str | None
    unlock_reason: str | None


class LockedOut(Schema):
    """423: the patient or its site is locked."""

    detail: str
    code: str
    lock: LockOut


class SignIn(In):
    password: str = Field(
        ..., max_length=4096, description="The signer's password, re-entered (never stored)."
    )
    meaning: str = Field(
        "complete_and_correct",
        max_length=40,
        description="The meaning of the signature (data/signatures.toml).",
    )


class SignatureOut(Schema):
    id: int
    signer_name: str
    signer_username: str
    signer_role: str
    meaning_code: str
    meaning: str
    signed_at: str
    content_hash: str
    valid: bool
    superseded_at: str | None
    superseded_reason: str | None


class Refused(Schema):
    detail: str
    code: str


class FindingOut(Schema):
    rule: str
    title: str
    patient_id: int
    study_id: str
    site: str
    record: str
    record_id: int | None
    date: str | None
    message: str


class RuleOut(Schema):
    id: str
    title: str
    why: str
    fix: str
    source: str


class ChecksOut(Schema):
    rules: list[RuleOut]
    findings: list[FindingOut]


def _admin(request: HttpRequest) -> None:
    if access.role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("only an administrator locks or unlocks data")


LOCK_ANSWERS = answers({201: LockOut}, 400, 403, 404)


@router.post("/patients/{pk}/lock", response=LOCK_ANSWERS, tags=["monitoring"])
def lock_patient(request: HttpRequest, pk: int, payload: ReasonIn) -> Status:
    """Lock a patient (admin only): every change of its data is then refused with 423."""
    patient = patient_for(request, pk)
    _admin(request)
    return Status(
        201, locking.describe(locking.lock_patient(patient, request.user, payload.reason))
    )


@router.post("/patients/{pk}/unlock", response=LOCK_ANSWERS, tags=["monitoring"])
def unlock_patient(request: HttpRequest, pk: int, payload: ReasonIn) -> Status:
    """Unlock a patient (admin only; a reason is required)."""
    patient = patient_for(request, pk)
    _admin(request)
    return Status(
        201, locking.describe(locking.unlock_patient(patient, request.user, payload.reason))
    )


def _site(request: HttpRequest, code: str) -> Site:
    _admin(request)
    return get_object_or_404(Site, code=code)


@router.post("/sites/{code}/lock", response=LOCK_ANSWERS, tags=["monitoring"])
def lock_site(request: HttpRequest, code: str, payload: ReasonIn) -> Status:
    """Lock a whole site (admin only), e.g. for an analysis freeze."""
    site = _site(request, code)
    return Status(201, locking.describe(locking.lock_site(site, request.user, payload.reason)))


@router.post("/sites/{code}/unlock", response=LOCK_ANSWERS, tags=["monitoring"])
def unlock_site(request: HttpRequest, code: str, payload: ReasonIn) -> Status:
    """Unlock a site (admin only; a reason is required)."""
    site = _site(request, code)
    return Status(201, locking.describe(locking.unlock_site(site, request.user, payload.reason)))


@router.post(
    "/patients/{pk}/signatures",
    response=answers({201: SignatureOut}, 400, 404) | {403: Refused, 429: Refused},
    tags=["monitoring"],
)
def sign_patient(request: HttpRequest, pk: int, payload: SignIn) -> Status:
    """Sign the patient's data electronically by re-entering the password (21 CFR Part 11
    style): an admin, or a clinician of the patient's site. A wrong password is refused (403,
    code ``wrong_password``) and counted by the log-in throttling; after too many failures the
    account is locked out for the cool-off time (429, code ``locked_out``)."""
    patient = patient_for(request, pk)
    try:
        s = signatures.sign(patient, request.user, payload.password, request, payload.meaning)
    except SignatureRefused as exc:
        if exc.code == "unknown_meaning":
            raise FieldErrors.one("meaning", exc.message, exc.code) from None
        if exc.code == "locked_out":
            # answered here as JSON (the lock-out itself stays recorded by django-axes),
            # instead of the log-in page's HTML lock-out answer of the axes middleware
            request.axes_locked_out = False  # type: ignore[attr-defined]
            return Status(429, {"detail": exc.message, "code": exc.code})
        return Status(403, {"detail": exc.message, "code": exc.code})
    return Status(201, signatures.describe(s))


@router.get(
    "/patients/{pk}/signatures",
    response=answers({200: list[SignatureOut]}, 403, 404),
    tags=["monitoring"],
)
def list_signatures(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    """The patient's signatures, newest first (``valid`` false: superseded by a change).
    Closed to researchers, as the audit trail is (names of staff, times)."""
    patient = patient_for(request, pk)
    privacy.project(request.user).require("audit_trail")
    return [
        signatures.describe(s)
        for s in Signature.objects.filter(patient=patient).order_by("-signed_at", "-id")
    ]


class ChecksFilter(Schema):
    _text = field_validator("*", mode="before")(_no_nul)

    site: str | None = Field(None, max_length=16, description="A site code, e.g. LUB")


@router.get("/checks", response=answers({200: ChecksOut}, 403), tags=["monitoring"])
def list_checks(request: HttpRequest, filters: Query[ChecksFilter]) -> dict[str, Any]:
    """The data-quality findings of the patients the caller may see (monitors, clinicians and
    admins; researchers get 403: findings name study IDs and dates), with every rule
    explained."""
    reject_unknown_query(request, {"site"})
    if len(request.GET.getlist("site")) > 1:
        raise FieldErrors.one("site", "give one site code", "repeated_parameter")
    if access.is_pseudonymised(request.user):
        raise PermissionDenied("data-quality findings name study IDs: not for researchers")
    qs = Patient.objects.visible_to(request.user)
    if filters.site:
        qs = qs.filter(site__code=filters.site)
    return {
        "rules": [r.to_dict() for r in data_quality.RULES.values()],
        "findings": [f.to_dict() for f in data_quality.check_patients(qs)],
    }


__all__ = ["LockedOut", "Message", "router"]
