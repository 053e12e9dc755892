"""Locking a patient or a whole site (e.g. an analysis freeze), and the check the write path
makes before every change.

Only an admin locks and unlocks, each time with a reason (the same rule as a reason for change:
:func:`cpstem.registry.services.changes.check_reason`). While a lock is in force,
:func:`refuse_if_locked` -- called by :mod:`cpstem.registry.services.write` for every create,
update and delete, and so by the forms, the API, ``cpstem import``, the REDCap and FHIR imports
and the demo -- raises :class:`~cpstem.registry.errors.Locked`: nothing is written. The API
answers it with 423 Locked, the pages with a page that says who locked, since when and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from cpstem.registry.errors import FieldErrors, Locked
from cpstem.registry.models import Lock, Patient, Role, Site
from cpstem.registry.models.base import PatientRecord
from cpstem.registry.models.sites import AnyUser, role_of
from cpstem.registry.services import changes

__all__ = [
    "active_lock",
    "describe",
    "lock_patient",
    "lock_site",
    "refuse_if_locked",
    "refuse_patients",
    "unlock_patient",
    "unlock_site",
]


def _require_admin(user: AnyUser) -> None:
    if role_of(user) != Role.ADMIN:
        raise PermissionDenied("only an administrator locks or unlocks data")


def _who(user: Any) -> str:
    if user is None:
        return "system"
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{name} ({user.get_username()})" if name else user.get_username()


def describe(lock: Lock) -> dict[str, Any]:
    """The lock as data: scope, what, who, since when, why (pages, API, error answers)."""
    return {
        "id": lock.pk,
        "scope": lock.scope,
        "patient_id": lock.patient_id,
        "site": lock.site.code if lock.site_id else None,
        "locked_by": _who(lock.locked_by),
        "locked_at": lock.locked_at.isoformat(),
        "reason": lock.reason,
        "unlocked_by": _who(lock.unlocked_by) if lock.unlocked_at else None,
        "unlocked_at": lock.unlocked_at.isoformat() if lock.unlocked_at else None,
        "unlock_reason": lock.unlock_reason or None,
    }


def active_lock(patient_id: int | None = None, site_id: int | None = None) -> Lock | None:
    """The lock in force on the patient (its own, else its site's) or on the site."""
    if patient_id is not None and site_id is None:
        site_id = Patient.objects.filter(pk=patient_id).values_list("site_id", flat=True).first()
    cond = Q(site_id=site_id) if site_id is not None else Q(pk__in=[])
    if patient_id is not None:
        cond |= Q(patient_id=patient_id)
    return (
        Lock.objects.filter(cond, unlocked_at__isnull=True)
        .select_related("locked_by", "site", "patient")
        .order_by(F("patient_id").asc(nulls_last=True), "-locked_at")  # own lock first
        .first()
    )


def _message(lock: Lock) -> str:
    what = (
        f"patient {lock.patient.study_id} is locked"
        if lock.patient_id
        else f"site {lock.site.code} is locked (all its patients)"
    )
    return (
        f"{what} since {lock.locked_at:%Y-%m-%d %H:%M} UTC by {_who(lock.locked_by)} "
        f"(reason: {lock.reason}): no change is possible until an administrator unlocks it"
    )


def refuse(lock: Lock) -> Locked:
    return Locked(_message(lock), describe(lock))


def _target(instance: models.Model) -> tuple[int | None, int | None]:
    """(patient id, site id) of the data a write touches."""
    if isinstance(instance, PatientRecord):
        return instance.patient_id, None
    if isinstance(instance, Patient):
        if instance.pk is not None and not instance._state.adding:
            old_site = Patient.objects.filter(pk=instance.pk).values_list("site_id", flat=True)
            return instance.pk, (old_site.first() or instance.site_id)
        return None, instance.site_id
    return None, None


def refuse_if_locked(instance: models.Model) -> None:
    """:class:`Locked` when ``instance`` belongs to a locked patient or site (the write path
    calls this inside its transaction, after locking the patient row)."""
    patient_id, site_id = _target(instance)
    if patient_id is None and site_id is None:
        return
    if isinstance(instance, Patient) and site_id is not None and instance.site_id != site_id:
        moving = active_lock(site_id=instance.site_id)  # moved to a locked site
        if moving is not None:
            raise refuse(moving)
    lock = active_lock(patient_id, site_id)
    if lock is not None:
        raise refuse(lock)


def refuse_patients(patient_ids: Iterable[int], site_ids: Iterable[int] = ()) -> None:
    """For the bulk paths: :class:`Locked` when one of the patients or sites is locked."""
    pids, sids = set(patient_ids), set(site_ids)
    sids |= set(Patient.objects.filter(pk__in=pids).values_list("site_id", flat=True))
    lock = (
        Lock.objects.filter(Q(patient_id__in=pids) | Q(site_id__in=sids), unlocked_at__isnull=True)
        .select_related("locked_by", "site", "patient")
        .first()
    )
    if lock is not None:
        raise refuse(lock)


def _lock(user: AnyUser, reason: object, **target: Any) -> Lock:
    _require_admin(user)
    text = changes.check_reason(reason)
    try:
        with transaction.atomic():
            existing = Lock.objects.filter(unlocked_at__isnull=True, **target).first()
            if existing is not None:
                raise FieldErrors.one(
                    "__all__",
                    f"already locked since {existing.locked_at:%Y-%m-%d %H:%M} UTC "
                    f"(reason: {existing.reason})",
                    "already_locked",
                )
            lock = Lock(locked_by=user, locked_at=timezone.now(), reason=text, **target)
            lock._change_reason = text
            lock.save()
    except IntegrityError:  # a concurrent lock of the same patient or site
        raise FieldErrors.one("__all__", "already locked", "already_locked") from None
    return lock


def _unlock(user: AnyUser, reason: object, **target: Any) -> Lock:
    _require_admin(user)
    text = changes.check_reason(reason)
    with transaction.atomic():
        lock = Lock.objects.select_for_update().filter(unlocked_at__isnull=True, **target).first()
        if lock is None:
            raise FieldErrors.one("__all__", "not locked", "not_locked")
        lock.unlocked_by = user
        lock.unlocked_at = timezone.now()
        lock.unlock_reason = text
        lock._change_reason = text
        lock.save()
    return lock


def lock_patient(patient: Patient, user: AnyUser, reason: object) -> Lock:
    """Lock one patient (admin only; a reason is required)."""
    return _lock(user, reason, patient=patient)


def unlock_patient(patient: Patient, user: AnyUser, reason: object) -> Lock:
    """Unlock a patient's own lock (admin only; a reason is required)."""
    return _unlock(user, reason, patient=patient)


def lock_site(site: Site, user: AnyUser, reason: object) -> Lock:
    """Lock every patient of a site (admin only; a reason is required)."""
    return _lock(user, reason, site=site)


def unlock_site(site: Site, user: AnyUser, reason: object) -> Lock:
    """Unlock a site (admin only; a reason is required)."""
    return _unlock(user, reason, site=site)


def locks_of(patient: Patient) -> list[Lock]:
    """Every lock, in force or past, of the patient and of its site (newest first)."""
    return list(
        Lock.objects.filter(Q(patient=patient) | Q(site_id=patient.site_id))
        .select_related("locked_by", "unlocked_by", "site")
        .order_by("-locked_at", "-id")
    )
