"""Monitoring: queries (discrepancy notes) and source data verification (SDV).

A :class:`Query` is a monitor's question about one record of a patient, or about one field of
it (REDCap's Data Resolution Workflow, OpenClinica's discrepancy notes): opened by a monitor or
an administrator, answered by the site's clinicians, closed or re-opened by the monitor. Each
step is a :class:`QueryMessage` of the thread (who, when, what); the query's state changes are
kept in its audit trail (django-simple-history).

A :class:`Verification` records that a monitor checked a record against the source documents:
it holds the record's version at that moment, so any later change of the record (which raises
its version) makes it unverified; the write path also clears it explicitly
(:func:`cpstem.registry.services.verification.record_changed`).

Records are addressed by a kind (the slug of the record pages, ``patient`` for the child's own
data) and the record's key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from cpstem.registry.models.assessments import (
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    SpasticityAssessment,
)
from cpstem.registry.models.patients import Classification, Patient
from cpstem.registry.models.safety import AdverseEvent
from cpstem.registry.models.treatment import Administration, RehabEpisode


class RecordKind(models.TextChoices):
    """The kinds of record a query or a verification is about (the record pages' slugs)."""

    PATIENT = "patient", "Child (patient data)"
    CLASSIFICATION = "classification", "GMFCS / MACS / CFCS level"
    ADMINISTRATION = "administration", "Cell administration"
    REHAB = "rehab", "Rehabilitation episode"
    GMFM88 = "gmfm88", "GMFM-88"
    GMFM66 = "gmfm66", "GMFM-66"
    SPASTICITY = "spasticity", "Spasticity (MAS, Tardieu)"
    LAB = "lab", "Laboratory value"
    AE = "ae", "Adverse event"


#: kind -> the model of its records.
RECORD_MODELS: dict[str, type[models.Model]] = {
    RecordKind.PATIENT: Patient,
    RecordKind.CLASSIFICATION: Classification,
    RecordKind.ADMINISTRATION: Administration,
    RecordKind.REHAB: RehabEpisode,
    RecordKind.GMFM88: GMFM88Assessment,
    RecordKind.GMFM66: GMFM66Assessment,
    RecordKind.SPASTICITY: SpasticityAssessment,
    RecordKind.LAB: LabValue,
    RecordKind.AE: AdverseEvent,
}


def kind_of(obj: models.Model) -> str | None:
    """The kind of a record (``None``: not a patient record)."""
    for kind, model in RECORD_MODELS.items():
        if type(obj) is model:
            return str(kind)
    return None


class QueryState(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class Query(models.Model):
    """A monitor's question about a record (or one field of it); see the module docs."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="queries")
    kind = models.CharField(max_length=16, choices=RecordKind.choices)
    record_id = models.BigIntegerField(help_text="The key of the record queried")
    field = models.CharField(
        max_length=64, blank=True, help_text="The field queried (empty: the record as a whole)"
    )
    state = models.CharField(max_length=8, choices=QueryState.choices, default=QueryState.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="queries_opened"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name_plural = "queries"
        indexes = [
            models.Index(fields=["kind", "record_id"]),
            models.Index(fields=["state"]),
        ]

    def __str__(self) -> str:
        where = f"{self.kind} {self.record_id}" + (f", {self.field}" if self.field else "")
        return f"Query #{self.pk} ({where}): {self.state}"

    @property
    def number(self) -> str:
        return f"#{self.pk}"

    @property
    def last_text(self) -> str:
        """The text of the thread's latest step ('' before the first)."""
        last = self.messages.order_by("-created_at", "-id").first()
        return last.text if last else ""


class QueryAction(models.TextChoices):
    OPEN = "open", "opened"
    ANSWER = "answer", "answered"
    CORRECTION = "correction", "corrected the record"
    CLOSE = "close", "closed"
    REOPEN = "reopen", "re-opened"


class QueryMessage(models.Model):
    """One step of a query's thread: who did what when, with the message."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="messages")
    action = models.CharField(max_length=12, choices=QueryAction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="query_messages",
    )
    text = models.TextField(max_length=2000)
    record_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="A correction: the record's version it saved"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.author or 'system'}"


class Verification(models.Model):
    """Source data verification of one record: by whom, when, at which version.

    Valid while ``cleared_at`` is empty and the record is still at ``version``."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="verifications")
    kind = models.CharField(max_length=16, choices=RecordKind.choices)
    record_id = models.BigIntegerField(help_text="The key of the record verified")
    version = models.PositiveIntegerField(help_text="The record's version that was verified")
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="verifications"
    )
    verified_at = models.DateTimeField()
    cleared_at = models.DateTimeField(
        null=True, blank=True, help_text="When a change of the record cleared the verification"
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "record_id"], name="one_verification_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id} verified at version {self.version}"
