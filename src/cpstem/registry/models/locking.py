"""Locks (an analysis freeze of a patient or a whole site) and electronic signatures.

A :class:`Lock` is in force from ``locked_at`` until an admin unlocks it (``unlocked_at``);
the row keeps who locked and unlocked, when and why, and django-simple-history keeps every
change of it. While a lock is in force the write path refuses every change of the patient's
data (see :mod:`cpstem.registry.services.locking`).

A :class:`Signature` is a 21 CFR Part 11 style electronic signature of a patient's data: the
signer (user and printed name), the time, the meaning (text from ``data/signatures.toml``) and
the SHA-256 of what was signed. A later change of the patient's data marks it superseded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Lock(models.Model):
    """A lock of one patient (``patient``) or of a whole site (``site``), exactly one of them."""

    patient = models.ForeignKey(
        "registry.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="locks"
    )
    site = models.ForeignKey(
        "registry.Site", null=True, blank=True, on_delete=models.CASCADE, related_name="locks"
    )
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField()
    reason = models.CharField("reason for locking", max_length=100)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.CharField("reason for unlocking", max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-locked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=False, site__isnull=True)
                | Q(patient__isnull=True, site__isnull=False),
                name="lock_patient_or_site",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(unlocked_at__isnull=True, patient__isnull=False),
                name="one_open_lock_per_patient",
            ),
            models.UniqueConstraint(
                fields=["site"],
                condition=Q(unlocked_at__isnull=True, site__isnull=False),
                name="one_open_lock_per_site",
            ),
        ]

    def __str__(self) -> str:
        what = f"patient {self.patient}" if self.patient_id else f"site {self.site}"
        return f"lock of {what} since {self.locked_at:%Y-%m-%d %H:%M}"

    @property
    def active(self) -> bool:
        return self.unlocked_at is None

    @property
    def scope(self) -> str:
        return "patient" if self.patient_id else "site"


class Signature(models.Model):
    """An electronic signature of a patient's data (see the module docs)."""

    patient = models.ForeignKey(
        "registry.Patient", on_delete=models.CASCADE, related_name="signatures"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    signer_name = models.CharField("printed name of the signer", max_length=300)
    signer_username = models.CharField(max_length=150)
    signer_role = models.CharField(max_length=16)
    meaning_code = models.CharField(max_length=40)
    meaning = models.CharField(max_length=300)
    signed_at = models.DateTimeField()
    content_hash = models.CharField("SHA-256 of the data signed", max_length=64)
    content_version = models.CharField(
        "versions of the records signed", max_length=4000, blank=True
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_reason = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at", "-id"]

    def __str__(self) -> str:
        return f"signed by {self.signer_name} ({self.meaning_code}) {self.signed_at:%Y-%m-%d}"

    @property
    def valid(self) -> bool:
        return self.superseded_at is None
