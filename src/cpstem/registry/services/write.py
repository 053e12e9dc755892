"""The one write path of the registry: every create, update and delete of a patient or a
record -- web forms, API, ``cpstem import``, ``cpstem demo load`` -- goes through here.

:func:`save` runs the model's full validation (fields, ``clean``, uniqueness, constraints,
and for a patient the re-validation of its records against a changed birth date or consent
withdrawal) *inside* one transaction, saves, and refreshes what is derived from the record
(the GMFM-66 of a GMFM-88 sheet; the follow-up schedule through the models' save). A refusal is
a :class:`~cpstem.registry.errors.FieldErrors` with a code per field; a unique constraint that
fires because of a concurrent write (a double-click on Save) is mapped, by the constraint's
name, to the same coded field error as the check before it -- never a 500.

An update or a delete needs a reason for change (kept in the audit trail) and is checked
against lost updates: it claims the version it is based on (``UPDATE ... WHERE version = n``,
see :mod:`.changes`) first, and a stale one is refused with
:class:`~cpstem.registry.errors.StaleVersion`. Deleting a record that entered data depends on is
refused (:class:`~cpstem.registry.errors.HasDependants`); derived data goes with it.

Every write -- one record or a bulk import -- is refused while the patient or its site is
locked (:class:`~cpstem.registry.errors.Locked`, :mod:`.locking`), and every change marks the
patient's electronic signatures in force superseded (:mod:`.signatures`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from simple_history.utils import bulk_create_with_history

from cpstem.registry.errors import FieldError, FieldErrors
from cpstem.registry.models import GMFM88Assessment, Patient
from cpstem.registry.models.base import PatientRecord
from cpstem.registry.models.patients import DUPLICATE_STUDY_ID, STUDY_ID_CONSTRAINT
from cpstem.registry.services import changes, locking, queries, signatures, verification
from cpstem.registry.services.derived import attach_gmfm66, item_map
from cpstem.registry.services.schedule import refresh_many

M = TypeVar("M", bound=models.Model)

#: Database constraint name -> (field, code, message) of the field error it stands for.
CONSTRAINTS: dict[str, tuple[str, str, str]] = {
    STUDY_ID_CONSTRAINT: (
        "study_id",
        DUPLICATE_STUDY_ID,
        "this study ID is already used at this site",
    ),
    "one_level_per_day": (
        "date",
        "duplicate",
        "a level of this system is already recorded on that day",
    ),
}


def validate(instance: models.Model, exclude: Iterable[str] | None = None) -> None:
    """The model's full validation; raises :class:`FieldErrors` (coded, per field)."""
    try:
        instance.full_clean(exclude=list(exclude) if exclude else None)
    except ValidationError as exc:
        raise FieldErrors.of_validation_error(exc) from None


def constraint_error(exc: IntegrityError) -> FieldErrors:
    """The field error of a violated constraint, found by the constraint's name (PostgreSQL
    reports it in ``diag``; SQLite names an expression index in its message)."""
    diag = getattr(exc.__cause__, "diag", None)
    names = [getattr(diag, "constraint_name", None) or "", str(exc)]
    for name, (field_name, code, message) in CONSTRAINTS.items():
        if any(name in n for n in names):
            return FieldErrors({field_name: [FieldError(message, code, {"constraint": name})]})
    return FieldErrors({"__all__": [FieldError("conflicts with an existing record", "conflict")]})


def _lock_patient(instance: models.Model) -> None:
    """Writes of one patient's records are serialised on the patient row (PostgreSQL), so that a
    record and a change of the birth date cannot pass their checks side by side."""
    if isinstance(instance, PatientRecord) and instance.patient_id:
        list(Patient.objects.select_for_update().filter(pk=instance.patient_id).values("pk"))
    elif isinstance(instance, Patient) and instance.pk and not instance._state.adding:
        list(Patient.objects.select_for_update().filter(pk=instance.pk).values("pk"))


def _patient_id(instance: models.Model) -> int | None:
    if isinstance(instance, PatientRecord):
        return instance.patient_id
    if isinstance(instance, Patient):
        return instance.pk
    return None


def save(
    instance: M,
    exclude: Iterable[str] | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
) -> M:
    """Validate and save ``instance`` in one transaction, then refresh what derives from it.

    ``reason`` is recorded in the audit trail; an update of a saved record requires one
    (``FieldErrors`` on ``reason``). An update claims ``expected_version`` (default: the
    instance's own ``version``, the one it was read with) and raises
    :class:`~cpstem.registry.errors.StaleVersion` when someone else saved in between. Raises
    :class:`FieldErrors`; nothing is written then.
    """
    updating = changes.is_update(instance)
    if updating or reason:
        instance._change_reason = changes.check_reason(reason)
    try:
        with transaction.atomic():
            _lock_patient(instance)
            locking.refuse_if_locked(instance)  # before anything is written
            if updating:
                changes.claim(instance, expected_version)
            validate(instance, exclude)
            instance.save()
            if isinstance(instance, GMFM88Assessment):
                attach_gmfm66(instance)
            if updating:  # monitoring: a change clears the SDV mark, may answer a query
                verification.record_changed(instance)
                queries.link_correction(instance, reason)
            what = f"{'changed' if updating else 'created'}: {changes.label(instance)}"
            signatures.supersede(_patient_id(instance), what)
    except IntegrityError as exc:
        raise constraint_error(exc) from None
    return instance


def delete(
    instance: models.Model, reason: str | None = None, expected_version: int | None = None
) -> None:
    """Delete ``instance`` in one transaction, with a reason for change (required): the version
    is claimed as for an update, records that depend on it are refused or deleted with it (see
    :mod:`.changes`); its derived data is refreshed by the model."""
    text = changes.check_reason(reason)
    with transaction.atomic():
        _lock_patient(instance)
        locking.refuse_if_locked(instance)  # before anything is written
        patient_id = _patient_id(instance)
        what = changes.label(instance)
        if changes.is_update(instance):
            changes.claim(instance, expected_version)
        verification.record_changed(instance, deleted=True)  # before the key is gone
        changes.delete_with_dependants(instance, text)
        signatures.supersede(patient_id, f"deleted: {what}")


def create_many(
    instances: Sequence[M],
    user: AbstractBaseUser | None = None,
    reason: str | None = None,
    batch_size: int = 2000,
) -> list[M]:
    """Insert many new records of one model, with their audit-trail rows, in bulk.

    For the bulk paths (``cpstem import``): the caller has validated every instance with
    :func:`validate` inside the same transaction (all or nothing) and then calls
    :func:`refresh_derived_many` for the patients concerned.
    """
    if not instances:
        return []
    pids = {i.patient_id for i in instances if isinstance(i, PatientRecord)}
    sids = {i.site_id for i in instances if isinstance(i, Patient)}
    with transaction.atomic():
        locking.refuse_patients(pids, sids)  # nothing of a locked patient or site
        signatures.supersede_many(pids, f"{len(instances)} records created by an import")
        return bulk_create_with_history(
            list(instances),
            type(instances[0]),
            batch_size=batch_size,
            default_user=user,
            default_change_reason=reason,
        )


def refresh_derived_many(
    patient_ids: Iterable[int], sheets: Sequence[GMFM88Assessment] = ()
) -> None:
    """After :func:`create_many`: the patients' follow-up schedules, and with an item map
    configured the GMFM-66 of each new sheet (as :func:`save` does for one record)."""
    with transaction.atomic():
        if item_map() is not None:
            for sheet in sheets:
                attach_gmfm66(sheet)
        refresh_many(patient_ids)
