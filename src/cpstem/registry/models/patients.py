"""Patients and their GMFCS / MACS / CFCS classifications over time."""

from __future__ import annotations

import math
import secrets
from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from cpstem.measures.levels import ROMAN
from cpstem.measures.mrics import MRICS
from cpstem.measures.scpe import Subtype, Topography
from cpstem.outcomes.catalog import data
from cpstem.outcomes.dates import age_months, age_years
from cpstem.registry.clock import today
from cpstem.registry.models.base import (
    Errors,
    PatientRecord,
    Versioned,
    add_error,
    check_event_date,
    coded,
    derived_stale,
)
from cpstem.registry.models.sites import AnyUser, Site, visible_site_ids

#: Patient keys are drawn from 1 .. 2^53 - 1 (exact in JavaScript numbers).
_KEY_SPACE = 2**53 - 1


def random_patient_key() -> int:
    """A random primary key: URLs and API ids reveal neither the order of entry nor a count,
    so nothing in a researcher's view can be lined up with the sites' study-ID sequences."""
    return secrets.randbelow(_KEY_SPACE) + 1


#: The code of a study ID already used at the site (any case), from the check or the constraint.
DUPLICATE_STUDY_ID = "duplicate_study_id"
#: The database constraint behind it (case-insensitive study ID per site).
STUDY_ID_CONSTRAINT = "unique_study_id_per_site_ci"


def _research_id() -> str:
    return "R" + secrets.token_hex(5).upper()


#: The clinical description of a child, copied as entered into the pseudonymised export.
CLINICAL_FIELDS = (
    "subtype",
    "topography",
    "mrics",
    "preterm_birth",
    "growth_restriction",
    "maternal_infection",
    "nsaid_paracetamol_exposure",
    "hie",
)
#: The fields of a patient that users enter, in entry order: the one list the web form, the
#: API's request body and the export read.
PATIENT_FIELDS = (
    "study_id",
    "birth_date",
    "sex",
    "gestational_age_weeks",
    "birth_weight_g",
    *CLINICAL_FIELDS,
    "risk_other",
    "group",
    "enrolment_date",
    "consent_date",
    "consent_version",
    "consent_withdrawn_date",
)


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Undetermined / not recorded"


class EnrolmentGroup(models.TextChoices):
    """The child's enrolment group: treated with cells, or a concurrent control (natural
    history / rehabilitation only) followed on the same schedule from enrolment."""

    CELLS = "cells", "Cells (stem-cell therapy)"
    CONTROL = "control", "Concurrent control (natural history / rehabilitation only)"


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> PatientQuerySet:
        """Site separation: the patients a user may see (see :mod:`cpstem.registry.access`)."""
        sites = visible_site_ids(user)
        if sites is None:
            return self
        return self.filter(site_id__in=sites)


class Patient(Versioned):
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
    # Enrolment: treated children's schedule runs from the first administration, controls'
    # from the enrolment date
    group = models.CharField(
        "enrolment group",
        max_length=7,
        choices=EnrolmentGroup.choices,
        default=EnrolmentGroup.CELLS,
        help_text="Cells, or a concurrent control (natural history / rehabilitation only)",
    )
    enrolment_date = models.DateField(
        "date of enrolment",
        null=True,
        blank=True,
        help_text="Required for controls: their follow-up schedule starts here",
    )
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
            models.UniqueConstraint(
                Lower("study_id"),
                "site",
                name=STUDY_ID_CONSTRAINT,
                violation_error_code=DUPLICATE_STUDY_ID,
                violation_error_message="this study ID is already used at this site",
            )
        ]
        indexes = [models.Index(fields=["gmfcs"]), models.Index(fields=["study_id"])]

    def __str__(self) -> str:
        return self.study_id

    # --- validation -------------------------------------------------------------------
    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        """The fields' own checks; first a birth weight that is not whole grams: 1.45 is
        kilograms typed into the grams field (code ``weight_in_kg``, "did you mean 1450 g?"),
        not 1 g (an integer field would silently drop the fraction)."""
        exclude = set(exclude or ())
        errors: Errors = {}
        bw = self.birth_weight_g
        if "birth_weight_g" not in exclude and isinstance(bw, float | Decimal | str):
            try:
                grams = float(bw)
            except ValueError:
                grams = math.nan
            if math.isinf(grams):
                add_error(
                    errors,
                    "birth_weight_g",
                    f"birth weight {bw!r} is not a finite number of grams",
                    "not_finite",
                    value=str(bw),
                )
            elif math.isfinite(grams) and grams != int(grams):
                lim = data("plausibility")["birth_weight_g"]
                if lim["min"] <= grams * 1000 <= lim["max"]:
                    add_error(
                        errors,
                        "birth_weight_g",
                        f"birth weight {grams:g} looks like kilograms: the field is in grams "
                        f"(did you mean {grams * 1000:.0f} g?)",
                        "weight_in_kg",
                        value=grams,
                        grams=round(grams * 1000),
                    )
                else:
                    add_error(
                        errors,
                        "birth_weight_g",
                        f"birth weight {grams:g}: enter whole grams, e.g. 1850",
                        "not_whole_grams",
                        value=grams,
                    )
            elif math.isfinite(grams):
                self.birth_weight_g = int(grams)
            exclude |= set(errors)
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors.update(exc.error_dict)
        if errors:
            raise ValidationError(errors)

    def clean(self) -> None:
        errors: Errors = {}
        plaus = data("plausibility")
        born = self.birth_date
        if born and born > today():
            add_error(errors, "birth_date", "birth date is in the future", "in_future")
        earliest = plaus["birth_date"]["earliest"]
        if born and born < earliest:
            add_error(
                errors,
                "birth_date",
                f"birth date {born.isoformat()} is before {earliest.isoformat()}: check the year",
                "implausible_date",
                earliest=earliest.isoformat(),
            )
        ga = self.gestational_age_weeks
        lim = plaus["gestational_age_weeks"]
        if ga is not None and not lim["min"] <= float(ga) <= lim["max"]:
            add_error(
                errors,
                "gestational_age_weeks",
                f"gestational age {ga} weeks is outside {lim['min']}-{lim['max']} weeks: enter "
                "completed weeks of pregnancy (e.g. 32.5)",
                "out_of_range",
                min=lim["min"],
                max=lim["max"],
            )
        bw = self.birth_weight_g
        lim = plaus["birth_weight_g"]
        if isinstance(bw, int) and not lim["min"] <= bw <= lim["max"]:  # else clean_fields
            in_kg = bw < lim["min"]
            hint = " (kilograms? enter grams, e.g. 1850)" if in_kg else ""
            add_error(
                errors,
                "birth_weight_g",
                f"birth weight {bw} g is outside {lim['min']}-{lim['max']} g{hint}",
                "weight_in_kg" if in_kg else "out_of_range",
                min=lim["min"],
                max=lim["max"],
            )
        preterm = plaus["preterm"]["below_weeks"]
        if ga is not None and float(ga) < preterm and not self.preterm_birth:
            self.preterm_birth = True  # WHO: born before 37 completed weeks
        if self.consent_date:
            problems = check_event_date(self.consent_date, None, "consent date")
            if problems:
                errors.setdefault("consent_date", []).extend(problems)
            if not self.consent_version:
                add_error(
                    errors, "consent_version", "give the version of the consent form", "required"
                )
        self.clean_enrolment(errors)
        withdrawn = self.consent_withdrawn_date
        if withdrawn:
            if not self.consent_date:
                add_error(
                    errors,
                    "consent_withdrawn_date",
                    "withdrawal needs a consent date",
                    "consent_missing",
                )
            elif withdrawn < self.consent_date:
                add_error(
                    errors,
                    "consent_withdrawn_date",
                    "withdrawal is before consent",
                    "before_consent",
                )
            if withdrawn > today():
                add_error(
                    errors,
                    "consent_withdrawn_date",
                    "withdrawal date is in the future",
                    "in_future",
                )
        self.clean_dependents(errors)
        if errors:
            raise ValidationError(errors)

    @property
    def is_control(self) -> bool:
        return self.group == EnrolmentGroup.CONTROL

    def clean_enrolment(self, errors: Errors) -> None:
        """A control needs its enrolment date (``required``: the schedule's anchor) and no cell
        administration (``control_has_administrations``); the date is an event date."""
        if self.enrolment_date is not None:
            problems = check_event_date(self.enrolment_date, self.birth_date, "enrolment date")
            if problems:
                errors.setdefault("enrolment_date", []).extend(problems)
        self.clean_allocation(errors)
        if not self.is_control:
            return
        if self.enrolment_date is None:
            add_error(
                errors,
                "enrolment_date",
                "a concurrent control needs its date of enrolment (its follow-up starts there)",
                "required",
            )
        if self.pk and not self._state.adding:
            n = self.administration_set.count()
            if n:
                add_error(
                    errors,
                    "group",
                    f"this child has {n} cell administration(s): a control receives no cells; "
                    "delete them or keep the group 'cells'",
                    "control_has_administrations",
                    administrations=n,
                )

    def clean_allocation(self, errors: Errors) -> None:
        """A randomised child's group is its allocation (``randomised_group``)."""
        if self.pk is None or self._state.adding:
            return
        from cpstem.registry.models.randomisation import AllocationSlot

        arm = AllocationSlot.objects.filter(patient_id=self.pk).values_list("arm", flat=True)
        if arm and arm[0] != self.group:
            add_error(
                errors,
                "group",
                f"this child was randomised to {arm[0]}: the enrolment group is the allocation",
                "randomised_group",
                allocation=arm[0],
            )

    def schedule_anchors(self) -> list[tuple[int | None, date]]:
        """The (key, date) each follow-up schedule starts from: every administration of a
        treated child; the enrolment (key ``None``) of a control."""
        if self.is_control:
            return [] if self.enrolment_date is None else [(None, self.enrolment_date)]
        return list(self.administration_set.order_by("date", "id").values_list("id", "date"))

    def follow_up_anchors(self) -> list[tuple[int | None, date]]:
        """Where the follow-up visits start. A randomised child's visits start at its
        randomisation (the enrolment date the randomisation set, key ``None``) in either arm:
        visits timed alike in both arms do not tell a blinded assessor the arm (one schedule,
        not one per infusion). Any other child's: :meth:`schedule_anchors`."""
        if self.enrolment_date is not None and self.pk is not None and self.is_randomised:
            return [(None, self.enrolment_date)]
        return self.schedule_anchors()

    @property
    def is_randomised(self) -> bool:
        from cpstem.registry.models.randomisation import AllocationSlot

        return AllocationSlot.objects.filter(patient_id=self.pk).exists()

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a change of the group or the enrolment date rebuilds the schedule."""
        with transaction.atomic():
            before = (
                None
                if self._state.adding
                else Patient.objects.filter(pk=self.pk)
                .values_list("group", "enrolment_date")
                .first()
            )
            super().save(*args, **kwargs)
            if before != (self.group, self.enrolment_date) and (before or self.is_control):
                self.refresh_derived()

    def clean_dependents(self, errors: Errors) -> None:
        """A saved patient's records must still fit a changed birth date (``records_before_birth``)
        or consent withdrawal (``records_after_withdrawal``): the message names them."""
        if self._state.adding or self.pk is None:
            return
        born, withdrawn = self.birth_date, self.consent_withdrawn_date
        if born is None and withdrawn is None:
            return
        early, late = [], []
        for kind, day in self.record_dates():
            if born is not None and day < born:
                early.append(f"{kind} {day.isoformat()}")
            if withdrawn is not None and day > withdrawn:
                late.append(f"{kind} {day.isoformat()}")
        if early:
            add_error(
                errors,
                "birth_date",
                f"birth date {born.isoformat()} is after records of this child: "
                f"{', '.join(early)}; correct or delete them first",
                "records_before_birth",
                records=early,
            )
        if late:
            add_error(
                errors,
                "consent_withdrawn_date",
                f"consent withdrawn on {withdrawn.isoformat()}, but records are dated after it: "
                f"{', '.join(late)}; correct or delete them first",
                "records_after_withdrawal",
                records=late,
            )

    def record_dates(self) -> list[tuple[str, date]]:
        """(kind, date) of every dated record of the patient, in date order."""
        out: list[tuple[str, date]] = []
        for rel in self._meta.related_objects:
            model = rel.related_model
            if issubclass(model, PatientRecord) and rel.field.name == "patient":
                days = model.objects.filter(patient_id=self.pk).values_list("date", flat=True)
                out += [(str(model._meta.verbose_name), d) for d in days]
        return sorted(out, key=lambda kd: kd[1])

    def validate_unique(self, exclude: Collection[str] | None = None) -> None:
        super().validate_unique(exclude)
        if self.site_id and self.study_id:
            clash = Patient.objects.filter(site_id=self.site_id, study_id__iexact=self.study_id)
            if self.pk and not self._state.adding:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError(
                    {
                        "study_id": coded(
                            f"study ID {self.study_id} is already used at this site",
                            DUPLICATE_STUDY_ID,
                            study_id=self.study_id,
                        )
                    }
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
        rows = list(self.classification_set.filter(system=system).order_by("date", "id"))
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

    def validate_record(self, errors: Errors) -> None:
        if self.level is not None and not 1 <= self.level <= 5:
            add_error(errors, "level", "use a level from I to V", "out_of_range")
        if self.patient_id and self.system and self.date:
            clash = Classification.objects.filter(
                patient_id=self.patient_id, system=self.system, date=self.date
            )
            if self.pk:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                add_error(
                    errors,
                    "date",
                    f"a {self.get_system_display()} level is already recorded on {self.date}",
                    "duplicate",
                    system=self.system,
                )
