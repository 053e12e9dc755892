"""Electronic signatures of a patient's data (21 CFR Part 11 style).

The signer -- an admin, or a clinician of the patient's site (the site's investigator); a
monitor verifies, a researcher reads, neither signs -- re-enters the password. The password is
checked through Django's ``authenticate`` and so through the log-in throttling (django-axes): a
wrong password is refused and counted as a failed log-in, and after
``CPSTEM_LOGIN_FAILURES`` failures the account is locked out for the cool-off time, for signing
and for logging in. The password is never stored or logged.

A signature keeps the signer (user, printed name, role), the time, the meaning (from
``data/signatures.toml``) and the SHA-256 of what was signed (the patient and each record of
the patient, serialised) with the version of each record. The write path calls
:func:`supersede` after every change of the patient's data: the signatures in force are then
marked superseded (kept, and shown as such).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from django.contrib.auth import authenticate
from django.core import serializers
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from cpstem.datafiles import toml_data
from cpstem.registry.errors import SignatureRefused
from cpstem.registry.models import PATIENT_RECORDS, Patient, Role, Signature
from cpstem.registry.models.sites import AnyUser, role_of, site_of

__all__ = [
    "content",
    "meanings",
    "sign",
    "supersede",
]


@cache
def meanings() -> dict[str, dict[str, Any]]:
    """code -> meaning (``text``, ``kind``, ``roles``) from ``data/signatures.toml``."""
    data = toml_data("cpstem.registry", "data/signatures.toml")
    return {m["code"]: m for m in data["meanings"]}


def content(patient: Patient) -> tuple[str, str]:
    """(SHA-256, versions) of the patient's data as it stands: the patient and every record,
    serialised field by field in a fixed order."""
    rows: list[Any] = []
    versions = [f"patient:{patient.pk}=v{patient.version}"]
    fresh = Patient.objects.filter(pk=patient.pk)
    rows += json.loads(serializers.serialize("json", fresh))
    for model in PATIENT_RECORDS:
        qs = model.objects.filter(patient_id=patient.pk).order_by("pk")
        rows += json.loads(serializers.serialize("json", qs))
        name = model._meta.model_name
        versions += [f"{name}:{pk}=v{v}" for pk, v in qs.values_list("pk", "version")]
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest(), ";".join(versions)


def may_sign(user: AnyUser, patient: Patient, meaning: dict[str, Any] | None = None) -> bool:
    role = role_of(user)
    roles = (meaning or {}).get("roles", [Role.ADMIN, Role.CLINICIAN])
    if role not in roles:
        return False
    if role == Role.ADMIN:
        return True
    site = site_of(user)
    return site is not None and site.pk == patient.site_id


def _locked_out(request: HttpRequest) -> bool:
    return bool(getattr(request, "axes_locked_out", False))


@sensitive_variables("password")
def sign(
    patient: Patient,
    user: Any,
    password: str,
    request: HttpRequest,
    meaning_code: str = "complete_and_correct",
) -> Signature:
    """Sign ``patient``'s data as ``user`` after re-entering ``password``.

    Raises :class:`SignatureRefused` with the code ``not_allowed``, ``unknown_meaning``,
    ``wrong_password`` (counted as a failed log-in) or ``locked_out`` (too many failures).
    """
    meaning = meanings().get(meaning_code)
    if meaning is None:
        raise SignatureRefused(
            f"unknown meaning {meaning_code!r} (allowed: {', '.join(sorted(meanings()))})",
            code="unknown_meaning",
            field="meaning",
        )
    if not may_sign(user, patient, meaning):
        raise SignatureRefused(
            "your role may not sign this patient's data (an administrator, or a clinician of "
            "the patient's site, signs)",
            code="not_allowed",
        )
    checked = authenticate(request, username=user.get_username(), password=password or "")
    if checked is None or checked.pk != user.pk:
        if _locked_out(request):
            raise SignatureRefused(
                "too many wrong passwords: this account is locked for a while (log-in "
                "throttling); try again later",
                code="locked_out",
                field="password",
            )
        raise SignatureRefused(
            "wrong password: the signature was not recorded (the failure is counted as a "
            "failed log-in)",
            code="wrong_password",
            field="password",
        )
    digest, versions = content(patient)
    name = user.get_full_name() or user.get_username()
    with transaction.atomic():
        signature = Signature(
            patient=patient,
            signer=user,
            signer_name=name,
            signer_username=user.get_username(),
            signer_role=role_of(user) or "",
            meaning_code=meaning_code,
            meaning=meaning["text"],
            signed_at=timezone.now(),
            content_hash=digest,
            content_version=versions[:4000],
        )
        signature._change_reason = meaning["text"][:100]
        signature.save()
    return signature


def supersede(patient_id: int | None, why: str) -> int:
    """Mark the signatures in force of the patient superseded by a change (``why``); returns
    how many. Called by the write path inside the change's transaction."""
    if patient_id is None:
        return 0
    n = 0
    now = timezone.now()
    for s in Signature.objects.filter(patient_id=patient_id, superseded_at__isnull=True):
        s.superseded_at = now
        s.superseded_reason = why[:200]
        s._change_reason = "superseded by a later change of the data"
        s.save()
        n += 1
    return n


def supersede_many(patient_ids: set[int], why: str) -> int:
    return sum(supersede(pid, why) for pid in patient_ids)


def describe(s: Signature) -> dict[str, Any]:
    """The signature as data (page and API)."""
    return {
        "id": s.pk,
        "signer_name": s.signer_name,
        "signer_username": s.signer_username,
        "signer_role": s.signer_role,
        "meaning_code": s.meaning_code,
        "meaning": s.meaning,
        "signed_at": s.signed_at.isoformat(),
        "content_hash": s.content_hash,
        "valid": s.valid,
        "superseded_at": s.superseded_at.isoformat() if s.superseded_at else None,
        "superseded_reason": s.superseded_reason or None,
    }
