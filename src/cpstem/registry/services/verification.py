"""Source data verification (SDV): a monitor marks a record verified against the source
documents; a later change of the record makes it unverified; per-site progress.

A :class:`~cpstem.registry.models.monitoring.Verification` keeps the record's version at the
moment it was verified. It counts only while it is not cleared *and* the record is still at that
version, so a change by any path (the write path, which also clears it explicitly with
:func:`record_changed`, or a derived record recomputed) leaves the record unverified.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from cpstem.registry import access
from cpstem.registry.models import Patient, Site
from cpstem.registry.models.monitoring import RECORD_MODELS, RecordKind, Verification, kind_of
from cpstem.registry.models.sites import AnyUser
from cpstem.registry.services.queries import check_kind, record_for


@dataclass(frozen=True)
class Status:
    """The verification status of one record (for the record pages and the API)."""

    verified: bool
    version: int | None  # the version that was verified (None: never verified)
    by: str
    at: datetime | None
    cleared: bool  # verified once, then changed (or cleared)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def status(kind: str, record: models.Model) -> Status:
    """Whether ``record`` is verified at its current version."""
    v = (
        Verification.objects.select_related("verified_by")
        .filter(kind=kind, record_id=record.pk)
        .first()
    )
    if v is None:
        return Status(False, None, "", None, False)
    valid = v.cleared_at is None and v.version == getattr(record, "version", None)
    return Status(valid, v.version, v.verified_by.get_username(), v.verified_at, not valid)


@transaction.atomic
def verify(user: AbstractBaseUser, patient: Patient, kind: object, record_id: int) -> Verification:
    """Mark a record of ``patient`` (visible to ``user``) verified at its current version."""
    access.require_monitor(user)
    name = check_kind(kind)
    record = record_for(patient, name, record_id)
    v = Verification.objects.select_for_update().filter(kind=name, record_id=record.pk).first()
    if v is None:
        v = Verification(patient=patient, kind=name, record_id=record.pk)
    v.version = record.version  # type: ignore[attr-defined]
    v.verified_by = user  # type: ignore[assignment]
    v.verified_at = timezone.now()
    v.cleared_at = None
    v._change_reason = f"source data verified (version {v.version})"  # type: ignore[attr-defined]
    v.save()
    return v


def record_changed(instance: models.Model, deleted: bool = False) -> int:
    """Clear the verification of a record that was changed (or deleted) by the write path;
    the number cleared. Called inside the write path's transaction."""
    kind = kind_of(instance)
    if kind is None or instance.pk is None:
        return 0
    rows = Verification.objects.filter(kind=kind, record_id=instance.pk, cleared_at__isnull=True)
    if not deleted:
        rows = rows.exclude(version=getattr(instance, "version", None))
    n = 0
    for v in rows:
        v.cleared_at = timezone.now()
        what = "deleted" if deleted else f"changed (now version {getattr(instance, 'version', '')})"
        v._change_reason = f"verification cleared: record {what}"  # type: ignore[attr-defined]
        v.save()
        n += 1
    return n


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Records verified of one kind at one site (``kind`` ``all``: every kind)."""

    site: str
    kind: str
    label: str
    verified: int
    total: int

    @property
    def percent(self) -> float | None:
        """Verified / total in percent, one decimal (None: no records)."""
        return round(100 * self.verified / self.total, 1) if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"percent": self.percent}


def _valid(kind: str) -> Exists:
    return Exists(
        Verification.objects.filter(
            kind=kind,
            record_id=OuterRef("pk"),
            version=OuterRef("version"),
            cleared_at__isnull=True,
        )
    )


def progress(user: AnyUser, site: str = "") -> list[Progress]:
    """Per site the user may see (``site``: that one only), per record kind and for all kinds:
    records verified at their current version / records. Monitors and administrators."""
    if not access.can_monitor(user):
        raise PermissionDenied("the SDV progress is for monitors and administrators")
    site_ids = access.visible_site_ids(user)
    sites = Site.objects.all() if site_ids is None else Site.objects.filter(pk__in=site_ids)
    if site:
        sites = sites.filter(code=site)
    return site_progress(list(sites.order_by("code").values_list("code", flat=True)))


def site_progress(codes: list[str]) -> list[Progress]:
    """:func:`progress` of the sites with these codes, for whoever may see them (the command
    line: the registry's administrator)."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for kind, model in RECORD_MODELS.items():
        path = "site__code" if model is Patient else "patient__site__code"
        rows = (
            model._default_manager.filter(**{f"{path}__in": codes})
            .annotate(sdv=_valid(kind))
            .values(path)
            .annotate(total=Count("pk"), verified=Count("pk", filter=Q(sdv=True)))
            .order_by()
        )
        for r in rows:
            found[(r[path], kind)] = (r["verified"], r["total"])
    out = []
    for code in codes:
        done = all_ = 0
        for kind in RECORD_MODELS:
            verified, total = found.get((code, kind), (0, 0))
            done, all_ = done + verified, all_ + total
            out.append(Progress(code, str(kind), RecordKind(kind).label, verified, total))
        out.append(Progress(code, "all", "All records", done, all_))
    return out


__all__ = [
    "Progress",
    "Status",
    "progress",
    "record_changed",
    "site_progress",
    "status",
    "verify",
]
