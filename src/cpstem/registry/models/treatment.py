"""Cell administrations (with dose checks) and rehabilitation episodes."""

from __future__ import annotations

import re

from django.db import models
from simple_history.models import HistoricalRecords

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.dose import compute_dose
from cpstem.registry.models.base import Errors, PatientRecord, add_error


class Product(models.TextChoices):
    UCB = "ucb", "Umbilical cord blood (UCB)"
    UC_MSC = "uc_msc", "Umbilical-cord MSC (UC-MSC)"
    WJ_MSC = "wj_msc", "Wharton's jelly MSC"
    BM_MNC = "bm_mnc", "Bone-marrow MNC (BM-MNC)"
    BM_MSC = "bm_msc", "Bone-marrow MSC (BM-MSC)"
    PBMC = "pbmc", "Mobilised peripheral-blood MNC (PBMC)"
    OTHER = "other", "Other"


class Origin(models.TextChoices):
    AUTOLOGOUS = "autologous", "Autologous"
    ALLOGENEIC = "allogeneic", "Allogeneic"


class Route(models.TextChoices):
    INTRAVENOUS = "intravenous", "Intravenous"
    INTRATHECAL = "intrathecal", "Intrathecal"
    INTRA_ARTERIAL = "intra_arterial", "Intra-arterial"
    OTHER = "other", "Other"


_HLA = re.compile(r"^(\d{1,2})\s*/\s*(\d{1,2})$")


class Administration(PatientRecord):
    """One administration of a cell product; the dose per kg is computed from count and weight."""

    product = models.CharField(max_length=10, choices=Product.choices)
    product_other = models.CharField("other product", max_length=100, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    hla_match = models.CharField(
        "HLA match",
        max_length=5,
        blank=True,
        help_text="Allogeneic only, matched/typed loci, e.g. 5/6",
    )
    cells_total = models.FloatField("cells (total)", help_text="Total number of cells given")
    weight_kg = models.FloatField("weight (kg)", help_text="Child's weight on the day, in kg")
    dose_cells_per_kg = models.FloatField("dose (cells/kg)", editable=False)
    dose_confirmed = models.BooleanField(
        default=False, help_text="Confirm a dose outside the range given in published trials"
    )
    route = models.CharField(max_length=16, choices=Route.choices)
    route_other = models.CharField("other route", max_length=100, blank=True)
    gcsf = models.BooleanField("G-CSF", default=False)
    epo = models.BooleanField("EPO", default=False)
    immunosuppression = models.BooleanField(default=False)
    adjunct_other = models.CharField("other adjuncts", max_length=200, blank=True)
    lot = models.CharField("lot / batch", max_length=60, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    date_label = "administration date"
    affects_schedule = True

    def __str__(self) -> str:
        return f"{self.get_product_display()} {self.date}"

    def validate_record(self, errors: Errors) -> None:
        """Dose errors land on ``weight_kg`` or ``cells_total`` (the dose layer's ``field``:
        ``cell_count`` is the count as entered, stored as ``cells_total``). The dose is checked
        against the published range of its product (``outcomes/data/dose_ranges.toml``); an
        entry path sets ``dose_entered`` (``"total"`` or ``"per_kg"``, not stored) so that the
        hint about a total typed as per kg points the right way."""
        if self.patient_id and self.patient.is_control:
            add_error(
                errors,
                "__all__",
                f"{self.patient.study_id} is a concurrent control: a control receives no cells "
                "(change the child's enrolment group to 'cells' first)",
                "control_group",
            )
        if self.product == Product.OTHER and not self.product_other.strip():
            add_error(errors, "product_other", "name the product", "required")
        if self.route == Route.OTHER and not self.route_other.strip():
            add_error(errors, "route_other", "name the route", "required")
        if self.hla_match:
            m = _HLA.match(self.hla_match.strip())
            if self.origin == Origin.AUTOLOGOUS:
                add_error(
                    errors,
                    "hla_match",
                    "an HLA match applies to allogeneic cells only",
                    "not_allogeneic",
                )
            elif not m or int(m[1]) > int(m[2]) or int(m[2]) == 0:
                add_error(
                    errors, "hla_match", "write matched/typed loci, e.g. 4/6, 5/6, 8/8", "invalid"
                )
            else:
                self.hla_match = f"{int(m[1])}/{int(m[2])}"
        if self.cells_total is not None and self.weight_kg is not None:
            try:
                dose = compute_dose(
                    self.cells_total,
                    self.weight_kg,
                    product=self.product or None,
                    entered=getattr(self, "dose_entered", None),
                )
            except OutcomeError as exc:
                field = "weight_kg" if exc.field == "weight_kg" else "cells_total"
                add_error(errors, field, exc.message, exc.code, **exc.params)
            else:
                self.dose_cells_per_kg = dose.cells_per_kg
                if dose.needs_confirmation and not self.dose_confirmed:
                    add_error(
                        errors,
                        "cells_total",
                        str(dose.outside_published),
                        "dose_needs_confirmation",
                        cells_per_kg=dose.cells_per_kg,
                        range=dose.range_product,
                        likely_swap=dose.likely_swap,
                    )

    def save(self, *args, **kwargs) -> None:
        if self.cells_total and self.weight_kg:
            self.dose_cells_per_kg = self.cells_total / self.weight_kg
        super().save(*args, **kwargs)


class Therapy(models.TextChoices):
    PHYSIOTHERAPY = "physiotherapy", "Physiotherapy"
    AQUATIC = "aquatic", "Aquatic therapy"
    HIPPOTHERAPY = "hippotherapy", "Hippotherapy"
    GAIT = "gait_training", "Functional gait training"
    OCCUPATIONAL = "occupational", "Occupational therapy"
    OTHER = "other", "Other"


class RehabEpisode(PatientRecord):
    """A period of rehabilitation: type, hours per week, start (``date``) and end."""

    therapy = models.CharField(max_length=16, choices=Therapy.choices)
    therapy_other = models.CharField("other therapy", max_length=100, blank=True)
    hours_per_week = models.FloatField()
    end_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    date_label = "start date"

    def __str__(self) -> str:
        return f"{self.get_therapy_display()} from {self.date}"

    def validate_record(self, errors: Errors) -> None:
        if self.therapy == Therapy.OTHER and not self.therapy_other.strip():
            add_error(errors, "therapy_other", "name the therapy", "required")
        if self.hours_per_week is not None and not 0 < self.hours_per_week <= 168:
            add_error(
                errors,
                "hours_per_week",
                "hours per week must be above 0 and at most 168 (the hours in a week)",
                "out_of_range",
            )
        if self.end_date is not None and self.date is not None and self.end_date < self.date:
            add_error(errors, "end_date", "the episode ends before it starts", "before_start")
