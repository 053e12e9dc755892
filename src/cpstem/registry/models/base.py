"""Shared pieces of the patient-record models: dated events with date checks."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.dispatch import Signal

from cpstem.registry.clock import today

#: Sent with ``patient=`` by :meth:`Patient.refresh_derived` after the records that derived data
#: depend on changed. The follow-up schedule service listens (connected in
#: ``RegistryConfig.ready``): the models do not import the services.
derived_stale = Signal()


def check_event_date(day: date | None, birth: date | None, what: str) -> list[str]:
    """Messages for a date before birth or in the future."""
    problems = []
    if day is None:
        return problems
    if birth is not None and day < birth:
        problems.append(
            f"{what} {day.isoformat()} is before the child's birth ({birth.isoformat()})"
        )
    if day > today():
        problems.append(f"{what} {day.isoformat()} is in the future")
    return problems


class PatientRecord(models.Model):
    """A dated record of one patient; saving it refreshes the patient's derived fields."""

    patient = models.ForeignKey(
        "registry.Patient", on_delete=models.CASCADE, related_name="%(class)s_set"
    )
    date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    date_label = "date"
    affects_schedule = False

    class Meta:
        abstract = True
        ordering = ["date", "id"]

    def clean_date(self) -> None:
        if self.patient_id is None or self.date is None:
            return
        problems = check_event_date(self.date, self.patient.birth_date, self.date_label)
        withdrawn = self.patient.consent_withdrawn_date
        if withdrawn is not None and self.date > withdrawn:
            problems.append(
                f"consent was withdrawn on {withdrawn.isoformat()}: no data after that day"
            )
        if problems:
            raise ValidationError({"date": problems})

    def clean(self) -> None:
        """Date checks, then :meth:`validate_record`; all messages together, per field."""
        super().clean()
        errors: dict[str, list[str]] = {}
        try:
            self.clean_date()
        except ValidationError as exc:
            errors.update(exc.message_dict)
        self.validate_record(errors)
        if errors:
            raise ValidationError(errors)

    def validate_record(self, errors: dict[str, list[str]]) -> None:
        """Checks of one kind of record: add messages to ``errors`` (field -> messages)."""

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            super().save(*args, **kwargs)
            if self.affects_schedule:
                self.patient.refresh_derived()

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            patient = self.patient
            result = super().delete(*args, **kwargs)
            if self.affects_schedule:
                patient.refresh_derived()
            return result
