"""Randomisation in the registry: the study's scheme, its concealed list, allocations, unblinding.

- :class:`RandomisationScheme` -- one per registry: arms (``cells`` / ``control``, the
  enrolment groups) and their ratio, the stratification factors (site, GMFCS band, age band),
  the method (permuted blocks from a concealed list, or Pocock--Simon minimisation), the
  eligibility checklist and the state of the list (generated or uploaded, its SHA-256, when it
  was last verified). Its audit trail is kept by django-simple-history; the seed is not in it.
- :class:`ConcealedSeed` -- the seed of a generated list, in a table of its own that no page, API
  answer, export or audit trail reads (only ``verify`` does, to regenerate the list).
- :class:`AllocationSlot` -- one slot of the concealed list (stratum, sequence number, arm); a
  randomised child takes the next free slot of its stratum (``patient`` unique: a child is
  randomised once). Under minimisation a slot is created at allocation.
- :class:`Unblinding` -- who revealed which child's allocation, when and why.
- :class:`RandomisationEvent` -- the append-only log of every step (generation, upload,
  verification, randomisation, unblinding) with who, when and why.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from cpstem.registry.models.patients import Patient


class Method(models.TextChoices):
    BLOCKS = "blocks", "Stratified permuted blocks (concealed list)"
    MINIMISATION = "minimisation", "Pocock-Simon minimisation"


class ListSource(models.TextChoices):
    NONE = "", "No list yet"
    GENERATED = "generated", "Generated in the registry"
    UPLOADED = "uploaded", "Uploaded"


class RandomisationScheme(models.Model):
    """The randomisation of the registry's study (see the module docs)."""

    name = models.CharField(max_length=100, unique=True)
    arms = models.JSONField(default=list, help_text='arm names, e.g. ["cells", "control"]')
    ratio = models.JSONField(default=list, help_text="allocation ratio, one whole number per arm")
    factors = models.JSONField(
        default=list, help_text='stratification factors, of "site", "gmfcs", "age_band"'
    )
    gmfcs_bands = models.JSONField(default=dict, help_text="band label -> GMFCS levels (1-5)")
    age_bands = models.JSONField(
        default=list, help_text="[label, from_years, below_years] in order"
    )
    sites = models.JSONField(default=list, help_text="site codes of the site factor")
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.BLOCKS)
    block_sizes = models.JSONField(default=list)
    per_stratum = models.PositiveIntegerField(default=24)
    probability = models.FloatField(
        default=0.8, help_text="minimisation: chance of the least-imbalance arm"
    )
    eligibility = models.JSONField(
        default=list, help_text="the checklist confirmed at randomisation: [key, text]"
    )
    list_source = models.CharField(
        max_length=10, choices=ListSource.choices, blank=True, default=ListSource.NONE
    )
    list_sha256 = models.CharField(
        "SHA-256 of the list", max_length=64, blank=True, help_text="of its canonical text"
    )
    design_sha256 = models.CharField(
        "SHA-256 of the generated design",
        max_length=64,
        blank=True,
        help_text="cpstem.design.randomisation: parameters, seed and slots",
    )
    upload_sha256 = models.CharField("SHA-256 of the uploaded file", max_length=64, blank=True)
    list_created_at = models.DateTimeField(null=True, blank=True)
    list_created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_ok = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "randomisation scheme"

    def __str__(self) -> str:
        return self.name


class ConcealedSeed(models.Model):
    """The seed of a generated list: read only by ``verify`` (see the module docs)."""

    scheme = models.OneToOneField(
        RandomisationScheme, on_delete=models.CASCADE, related_name="concealed_seed"
    )
    seed = models.BigIntegerField()


class AllocationSlot(models.Model):
    """One slot of the concealed list; ``patient`` is set when a child takes it."""

    scheme = models.ForeignKey(RandomisationScheme, on_delete=models.CASCADE, related_name="slots")
    stratum = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    arm = models.CharField(max_length=40)
    patient = models.OneToOneField(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="allocation",
    )
    allocated_at = models.DateTimeField(null=True, blank=True)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    eligibility = models.JSONField(default=dict, blank=True, help_text="the confirmed checklist")

    class Meta:
        ordering = ["scheme", "stratum", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "stratum", "sequence"], name="one_slot_per_sequence"
            )
        ]
        indexes = [models.Index(fields=["scheme", "stratum", "patient"])]

    def __str__(self) -> str:
        return f"{self.stratum} #{self.sequence}"


class Unblinding(models.Model):
    """The allocation of one child revealed (emergency unblinding), by whom, when and why."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="unblindings")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(max_length=16)
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-at"]


class EventKind(models.TextChoices):
    SCHEME = "scheme", "Scheme defined"
    GENERATED = "generated", "List generated"
    UPLOADED = "uploaded", "List uploaded"
    VERIFIED = "verified", "List verified"
    VERIFY_FAILED = "verify_failed", "List verification FAILED"
    RANDOMISED = "randomised", "Child randomised"
    UNBLINDED = "unblinded", "Allocation unblinded"


class RandomisationEvent(models.Model):
    """One step of the randomisation, append-only: who, when, what and why."""

    scheme = models.ForeignKey(RandomisationScheme, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
