"""Shared pieces of the patient-record models: dated events with date checks."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.dispatch import Signal

from cpstem.registry.clock import today

#: Sent with ``patient=`` by :meth:`Patient.refresh_derived` after the records that derived data
#: depend on changed. The follow-up schedule service listens (connected in
#: ``RegistryConfig.ready``): the models do not import the services.
derived_stale = Signal()


#: The code of a second assessment of one kind on the same day, not confirmed.
DUPLICATE_ASSESSMENT = "duplicate_assessment"

#: field -> coded errors, collected by the ``clean`` methods (see :func:`add_error`).
Errors = dict[str, list[ValidationError]]


def coded(message: str, code: str, /, **params: object) -> ValidationError:
    """A ``ValidationError`` with a code and params (``%`` in the message kept literally)."""
    if params:
        return ValidationError(message.replace("%", "%%"), code=code, params=params)
    return ValidationError(message, code=code)


def add_error(errors: Errors, field: str, message: str, code: str, /, **params: object) -> None:
    """Collect one coded error of ``field``."""
    errors.setdefault(field, []).append(coded(message, code, **params))


def check_event_date(day: date | None, birth: date | None, what: str) -> list[ValidationError]:
    """Coded errors for a date before birth (``before_birth``) or in the future
    (``in_future``)."""
    problems: list[ValidationError] = []
    if day is None:
        return problems
    if birth is not None and day < birth:
        problems.append(
            coded(
                f"{what} {day.isoformat()} is before the child's birth ({birth.isoformat()})",
                "before_birth",
                date=day.isoformat(),
                birth_date=birth.isoformat(),
            )
        )
    if day > today():
        problems.append(
            coded(f"{what} {day.isoformat()} is in the future", "in_future", date=day.isoformat())
        )
    return problems


class Versioned(models.Model):
    """A row with a version number for optimistic locking: 1 when created, one more on every
    update. The write path (:func:`cpstem.registry.services.write.save`) first claims the version
    the editor started from with ``UPDATE ... SET version = n + 1 WHERE version = n`` in its
    transaction, so that a stale edit is refused instead of overwriting (a lost update); the
    ETag of the API and the hidden field of the forms carry it."""

    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Optimistic-locking version: +1 on every update"
    )

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and self.pk is not None:
            self.version = (self.version or 0) + 1
            fields = kwargs.get("update_fields")
            if fields is not None:
                kwargs["update_fields"] = {*fields, "version"}
        super().save(*args, **kwargs)


class PatientRecord(Versioned):
    """A dated record of one patient; saving it refreshes the patient's derived fields."""

    patient = models.ForeignKey(
        "registry.Patient", on_delete=models.CASCADE, related_name="%(class)s_set"
    )
    date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    date_label = "date"
    affects_schedule = False

    class Meta(Versioned.Meta):
        abstract = True
        ordering = ["date", "id"]

    def clean_date(self, errors: Errors) -> None:
        """The record's date: not before birth, not in the future, not after consent was
        withdrawn (``after_consent_withdrawal``)."""
        if self.patient_id is None or self.date is None:
            return
        problems = check_event_date(self.date, self.patient.birth_date, self.date_label)
        withdrawn = self.patient.consent_withdrawn_date
        if withdrawn is not None and self.date > withdrawn:
            problems.append(
                coded(
                    f"consent was withdrawn on {withdrawn.isoformat()}: no data after that day",
                    "after_consent_withdrawal",
                    date=self.date.isoformat(),
                    withdrawn=withdrawn.isoformat(),
                )
            )
        if problems:
            errors.setdefault("date", []).extend(problems)

    def clean(self) -> None:
        """Date checks, then :meth:`validate_record`; all coded errors together, per field."""
        super().clean()
        errors: Errors = {}
        self.clean_date(errors)
        self.validate_record(errors)
        if errors:
            raise ValidationError(errors)

    def validate_record(self, errors: Errors) -> None:
        """Checks of one kind of record: add coded errors to ``errors`` (see
        :func:`add_error`)."""

    #: Set (not stored) by a bulk path that checks same-day duplicates itself (the import).
    same_day_checked = False

    def clean_same_day(self, errors: Errors, what: str) -> None:
        """A second record of this kind for the child on the same day needs the record's
        ``duplicate_confirmed`` (code ``duplicate_assessment`` on ``date``): two GMFM-88 sheets
        of one day are usually the same sheet entered twice. Asked when a record is created on,
        or moved to, a day that has one already; not when a record is edited on its day."""
        if (
            self.patient_id is None
            or self.date is None
            or self.same_day_checked
            or getattr(self, "duplicate_confirmed", True)
        ):
            return
        manager = type(self)._default_manager
        if self.pk is not None and manager.filter(pk=self.pk, date=self.date).exists():
            return  # an edit that keeps the day: the pair was confirmed when the second came
        others = manager.filter(patient_id=self.patient_id, date=self.date)
        if self.pk is not None:
            others = others.exclude(pk=self.pk)
        n = others.count()
        if n:
            add_error(
                errors,
                "date",
                f"a {what} of this child on {self.date.isoformat()} is already recorded: "
                "confirm that this is a second assessment of the same day, or edit the first",
                DUPLICATE_ASSESSMENT,
                date=self.date.isoformat(),
                existing=n,
            )

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            super().save(*args, **kwargs)
            if self.affects_schedule:
                self.patient.refresh_derived()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic():
            patient = self.patient
            result = super().delete(*args, **kwargs)
            if self.affects_schedule:
                patient.refresh_derived()
            return result
