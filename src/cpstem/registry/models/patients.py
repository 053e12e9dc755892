"""Patients and their GMFCS / MACS / CFCS classifications over time."""

from __future__ import annotations

import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from simple_history.models import HistoricalRecords

from cpstem.measures.levels import ROMAN
from cpstem.measures.mrics import MRICS
from cpstem.measures.scpe import Subtype, Topography
from cpstem.outcomes.catalog import data
from cpstem.outcomes.dates import age_months, age_years
from cpstem.registry.clock import today
from cpstem.registry.models.base import PatientRecord, check_event_date, derived_stale
from cpstem.registry.models.sites import Site, visible_site_ids

#: Patient keys are drawn from 1 .. 2^53 - 1 (exact in JavaScript numbers).
_KEY_SPACE = 2**53 - 1


def random_patient_key() -> int:
    """A random primary key: URLs and API ids reveal neither the order of entry nor a count,
    so nothing in a researcher's view can be lined up with the sites' study-ID sequences."""
    return secrets.randbelow(_KEY_SPACE) + 1


def _research_id() -> str:
    return "R" + secrets.token_hex(5).upper()


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Undetermined / not recorded"


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user) -> PatientQuerySet:
        """Site separation: the patients a user may see (see :mod:`cpstem.registry.access`)."""
        sites = visible_site_ids(user)
        if sites is None:
            return self
        return self.filter(site_id__in=sites)


class Patient(models.Model):
    """A child in the registry, identified only by a study ID (a pseudonym, never a name)."""

    id = models.BigIntegerField(primary_key=True, default=random_patient_key, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    study_id = models.CharField(
        max_length=40,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                "a study ID is a pseudonym such as LUB-001: letters, digits, '.', '-' or '_'",
            )
        ],
        help_text="Pseudonym, e.g. LUB-001. Never a name.",
    )
    research_id = models.CharField(max_length=12, unique=True, default=_research_id, editable=False)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    gestational_age_weeks = models.DecimalField(
        "gestational age (weeks)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    birth_weight_g = models.PositiveIntegerField("birth weight (g)", null=True, blank=True)
    subtype = models.CharField(
        "CP subtype (SCPE)", max_length=32, choices=Subtype.choices(), blank=True
    )
    topography = models.CharField(max_length=16, choices=Topography.choices(), blank=True)
    mrics = models.CharField(
        "MRI classification (MRICS)", max_length=2, choices=MRICS.choices(), blank=True
    )
    # Perinatal risk factors
    preterm_birth = models.BooleanField(default=False)
    growth_restriction = models.BooleanField("fetal growth restriction", default=False)
    maternal_infection = models.BooleanField(default=False)
    nsaid_paracetamol_exposure = models.BooleanField(
        "prenatal NSAID / paracetamol exposure", default=False
    )
    hie = models.BooleanField("hypoxic-ischaemic encephalopathy", default=False)
    risk_other = models.CharField("other risk factors", max_length=200, blank=True)
    # Consent
    consent_date = models.DateField(null=True, blank=True)
    consent_version = models.CharField(max_length=40, blank=True)
    consent_withdrawn_date = models.DateField("consent withdrawn on", null=True, blank=True)
    is_synthetic = models.BooleanField(default=False, help_text="Synthetic demo record")
    # Derived, kept up to date by refresh_derived()
    gmfcs = models.PositiveSmallIntegerField("current GMFCS", null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["site__code", "study_id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "study_id"], name="unique_study_id_per_site")
        ]
        indexes = [models.Index(fields=["gmfcs"]), models.Index(fields=["study_id"])]

    def __str__(self) -> str:
        return self.study_id

    # --- validation -------------------------------------------------------------------
    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        plaus = data("plausibility")
        if self.birth_date and self.birth_date > today():
            errors.setdefault("birth_date", []).append("birth date is in the future")
        earliest = plaus["birth_date"]["earliest"]
        if self.birth_date and self.birth_date < earliest:
            errors.setdefault("birth_date", []).append(
                f"birth date {self.birth_date.isoformat()} is before {earliest.isoformat()}: "
                "check the year"
            )
        ga = self.gestational_age_weeks
        lim = plaus["gestational_age_weeks"]
        if ga is not None and not lim["min"] <= float(ga) <= lim["max"]:
            errors.setdefault("gestational_age_weeks", []).append(
                f"gestational age {ga} weeks is outside {lim['min']}-{lim['max']} weeks: enter "
                "completed weeks of pregnancy (e.g. 32.5)"
            )
        bw = self.birth_weight_g
        lim = plaus["birth_weight_g"]
        if bw is not None and not lim["min"] <= bw <= lim["max"]:
            hint = " (kilograms? enter grams, e.g. 1850)" if bw < lim["min"] else ""
            errors.setdefault("birth_weight_g", []).append(
                f"birth weight {bw} g is outside {lim['min']}-{lim['max']} g{hint}"
            )
        preterm = plaus["preterm"]["below_weeks"]
        if ga is not None and float(ga) < preterm and not self.preterm_birth:
            self.preterm_birth = True  # WHO: born before 37 completed weeks
        if self.consent_date:
            errors_c = check_event_date(self.consent_date, None, "consent date")
            if errors_c:
                errors.setdefault("consent_date", []).extend(errors_c)
            if not self.consent_version:
                errors.setdefault("consent_version", []).append(
                    "give the version of the consent form"
                )
        if self.consent_withdrawn_date:
            if not self.consent_date:
                errors.setdefault("consent_withdrawn_date", []).append(
                    "withdrawal needs a consent date"
                )
            elif self.consent_withdrawn_date < self.consent_date:
                errors.setdefault("consent_withdrawn_date", []).append(
                    "withdrawal is before consent"
                )
            if self.consent_withdrawn_date > today():
                errors.setdefault("consent_withdrawn_date", []).append(
                    "withdrawal date is in the future"
                )
        if errors:
            raise ValidationError(errors)

    def validate_unique(self, exclude=None) -> None:
        super().validate_unique(exclude)
        if self.site_id and self.study_id:
            clash = Patient.objects.filter(site_id=self.site_id, study_id__iexact=self.study_id)
            if self.pk:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError(
                    {"study_id": f"study ID {self.study_id} is already used at this site"}
                )

    # --- derived ----------------------------------------------------------------------
    def age_years(self, on: date | None = None) -> float:
        return age_years(self.birth_date, on or today())

    def age_months(self, on: date | None = None) -> int:
        return age_months(self.birth_date, on or today())

    @property
    def gmfcs_roman(self) -> str:
        return "" if self.gmfcs is None else ROMAN[self.gmfcs - 1]

    @property
    def consent_active(self) -> bool:
        return self.consent_date is not None and self.consent_withdrawn_date is None

    def level_on(self, system: str, on: date) -> int | None:
        """The level recorded on or before a day (else the first one recorded)."""
        rows = list(self.classification_set.filter(system=system).order_by("date"))
        before = [c for c in rows if c.date <= on]
        if before:
            return before[-1].level
        return rows[0].level if rows else None

    def refresh_derived(self) -> None:
        """Recompute the current GMFCS, then let the listeners of :data:`derived_stale` (the
        follow-up schedule) rebuild what they derive (after a record changed)."""
        with transaction.atomic():
            latest = self.classification_set.filter(system="gmfcs").order_by("-date", "-id").first()
            level = latest.level if latest else None
            if level != self.gmfcs:
                Patient.objects.filter(pk=self.pk).update(gmfcs=level)
                self.gmfcs = level
            derived_stale.send(sender=Patient, patient=self)


class System(models.TextChoices):
    GMFCS = "gmfcs", "GMFCS"
    MACS = "macs", "MACS"
    CFCS = "cfcs", "CFCS"


LEVELS = [(i, r) for i, r in enumerate(ROMAN, start=1)]


class Classification(PatientRecord):
    """A GMFCS, MACS or CFCS level on a date (levels can change over time)."""

    system = models.CharField(max_length=5, choices=System.choices)
    level = models.PositiveSmallIntegerField(choices=LEVELS)
    history = HistoricalRecords()

    date_label = "classification date"
    affects_schedule = True

    class Meta(PatientRecord.Meta):
        constraints = [
            models.UniqueConstraint(fields=["patient", "system", "date"], name="one_level_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.get_system_display()} {self.get_level_display()} ({self.date})"

    def clean(self) -> None:
        super().clean()
        if self.level is not None and not 1 <= self.level <= 5:
            raise ValidationError({"level": "use a level from I to V"})
        if self.patient_id and self.system and self.date:
            clash = Classification.objects.filter(
                patient_id=self.patient_id, system=self.system, date=self.date
            )
            if self.pk:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError(
                    {
                        "date": f"a {self.get_system_display()} level is already "
                        f"recorded on {self.date}"
                    }
                )
