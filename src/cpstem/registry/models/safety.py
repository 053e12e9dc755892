"""Adverse events (CTCAE grade, seriousness, relatedness to the cell product)."""

from __future__ import annotations

from datetime import date

from django.db import models
from simple_history.models import HistoricalRecords

from cpstem.outcomes.catalog import choices, ctcae_grades
from cpstem.registry.models.base import Errors, PatientRecord, add_error, check_event_date

GRADES = [(g, f"{g} - {label}") for g, label, _ in ctcae_grades()]
RELATED = {"possible", "probable", "definite"}
#: Relatedness that needs confirming for an event before any cell administration.
STRONGLY_RELATED = {"probable", "definite"}
RELATED_BEFORE_ADMINISTRATION = "related_before_administration"


class AdverseEvent(PatientRecord):
    """An adverse event; ``date`` is the onset date."""

    term = models.CharField(max_length=200, help_text="e.g. fever, vomiting, headache")
    resolution_date = models.DateField(null=True, blank=True)
    grade = models.PositiveSmallIntegerField("CTCAE grade", choices=GRADES)
    serious = models.BooleanField(default=False, help_text="ICH E2A serious adverse event")
    relatedness = models.CharField(
        "relatedness to the cell product", max_length=12, choices=choices("relatedness")
    )
    administration = models.ForeignKey(
        "registry.Administration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="adverse_events",
        help_text="The administration it followed (default: the latest before onset)",
    )
    action = models.CharField(
        "action taken", max_length=12, choices=choices("action"), default="none"
    )
    outcome = models.CharField(
        max_length=14,
        choices=choices("outcome"),
        blank=True,
        help_text="Blank: recovered when a resolution date is given, else unknown",
    )
    notes = models.TextField(blank=True)
    relatedness_confirmed = models.BooleanField(
        "confirm the relatedness",
        default=False,
        help_text="Probable or definite relatedness of an event before any cell administration",
    )
    history = HistoricalRecords()

    date_label = "onset date"

    class Meta(PatientRecord.Meta):
        indexes = [models.Index(fields=["patient", "date"])]

    def __str__(self) -> str:
        return f"{self.term} (grade {self.grade}, {self.date})"

    @property
    def onset_date(self) -> date:
        return self.date

    @property
    def is_related(self) -> bool:
        return self.relatedness in RELATED

    def validate_record(self, errors: Errors) -> None:
        if not (self.term or "").strip():
            add_error(errors, "term", "name the event, e.g. fever", "required")
        if self.grade is not None and not 1 <= self.grade <= 5:
            add_error(errors, "grade", "CTCAE grades run from 1 to 5", "out_of_range")
        if self.resolution_date is not None and self.date is not None:
            if self.resolution_date < self.date:
                add_error(
                    errors,
                    "resolution_date",
                    "the event resolves before its onset",
                    "before_onset",
                )
            problems = check_event_date(self.resolution_date, None, "resolution date")
            if problems:
                errors.setdefault("resolution_date", []).extend(problems)
        if not self.outcome:  # not given: a resolved event recovered; else nobody said
            self.outcome = "recovered" if self.resolution_date else "unknown"
        if self.grade == 5:
            if not self.serious:
                add_error(
                    errors,
                    "serious",
                    "a fatal event (grade 5) is serious (ICH E2A)",
                    "fatal_not_serious",
                )
            if self.outcome != "fatal":
                add_error(
                    errors,
                    "outcome",
                    "a grade 5 event has the outcome 'fatal'",
                    "grade5_not_fatal",
                )
        elif self.outcome == "fatal" and self.grade is not None:
            add_error(errors, "grade", "a fatal outcome is CTCAE grade 5", "fatal_not_grade5")
        if (
            self.administration_id
            and self.patient_id
            and self.administration.patient_id != self.patient_id
        ):
            add_error(
                errors,
                "administration",
                "that administration belongs to another patient",
                "other_patient",
            )
        if not self.administration_id and self.patient_id and self.date:
            self.administration = (
                self.patient.administration_set.filter(date__lte=self.date)
                .order_by("-date", "-id")
                .first()
            )
        self.clean_relatedness(errors)

    def clean_relatedness(self, errors: Errors) -> None:
        """An event with onset before any cell administration cannot have been caused by one:
        ``probable`` or ``definite`` needs ``relatedness_confirmed`` (code
        ``related_before_administration`` on ``relatedness``)."""
        if (
            self.relatedness not in STRONGLY_RELATED
            or self.relatedness_confirmed
            or self.patient_id is None
            or self.date is None
        ):
            return
        if not self.patient.administration_set.filter(date__lte=self.date).exists():
            first = self.patient.administration_set.order_by("date").values_list("date", flat=True)
            when = (
                f"before the first cell administration ({first[0].isoformat()})"
                if first
                else "and the child has no cell administration recorded"
            )
            add_error(
                errors,
                "relatedness",
                f"the event began on {self.date.isoformat()}, {when}: a {self.relatedness} "
                "relation to the cell product needs confirming (or choose another relatedness)",
                RELATED_BEFORE_ADMINISTRATION,
                relatedness=self.relatedness,
            )
