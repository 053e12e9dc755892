"""The follow-up visits planned from each administration (derived; rebuilt on changes)."""

from __future__ import annotations

from datetime import date

from django.db import models

from cpstem.outcomes import schedule
from cpstem.outcomes.schedule import Status


class FollowUpVisit(models.Model):
    """A planned visit; its status on a day is computed from the dates (see outcomes.schedule)."""

    patient = models.ForeignKey("registry.Patient", on_delete=models.CASCADE, related_name="visits")
    #: the administration the visit follows; empty for a control's visits (from enrolment)
    administration = models.ForeignKey(
        "registry.Administration",
        on_delete=models.CASCADE,
        related_name="visits",
        null=True,
        blank=True,
    )
    label = models.CharField(max_length=40)
    months = models.PositiveSmallIntegerField()
    target_date = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    done_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["target_date", "months"]
        indexes = [models.Index(fields=["patient", "done_on", "window_end", "target_date"])]

    def __str__(self) -> str:
        after = "enrolment" if self.administration_id is None else "administration"
        return f"{self.label} after {after} {self.anchor_date}"

    @property
    def anchor_date(self) -> date | None:
        """The day the visit's schedule starts: the administration, or the enrolment (a control's,
        or a randomised child's in either arm: its randomisation)."""
        if self.administration_id is not None:
            return self.administration.date
        return self.patient.enrolment_date

    def status_on(self, day: date) -> Status:
        """done, upcoming, due, overdue or missed on ``day`` (see cpstem.outcomes.schedule)."""
        return schedule.status(
            self.target_date, self.window_start, self.window_end, self.done_on, day
        )
