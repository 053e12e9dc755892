"""Assessments: GMFM-88 item by item, GMFM-66, spasticity (MAS, Tardieu), laboratory values."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from cpstem.measures import MeasureError, gmfm
from cpstem.measures.spasticity import MASMeasurement, MuscleGroup, Tardieu
from cpstem.registry.models.base import Errors, PatientRecord, add_error, coded


class GMFM88Assessment(PatientRecord):
    """A GMFM-88 sheet: 88 item scores (0-3, ``None`` = not tested) and the computed scores."""

    items = models.JSONField(help_text='{"1": 3, ..., "88": null}; null = not tested (NT)')
    with_aids = models.BooleanField("scored with aids/orthoses", default=False)
    goal_dimensions = models.CharField(max_length=9, blank=True, help_text="e.g. D,E")
    pct_a = models.FloatField(editable=False)
    pct_b = models.FloatField(editable=False)
    pct_c = models.FloatField(editable=False)
    pct_d = models.FloatField(editable=False)
    pct_e = models.FloatField(editable=False)
    total = models.FloatField(editable=False)
    goal_total = models.FloatField(null=True, editable=False)
    n_not_tested = models.PositiveSmallIntegerField(editable=False)
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    blinded_assessor = models.BooleanField(
        "assessed by a blinded assessor",
        default=False,
        help_text="The assessor did not know the child's randomised allocation",
    )
    notes = models.TextField(blank=True)
    duplicate_confirmed = models.BooleanField(
        "confirm a second assessment on this day",
        default=False,
        help_text="Another assessment of this kind is recorded for the child on the same day",
    )
    history = HistoricalRecords()

    date_label = "assessment date"
    affects_schedule = True

    class Meta(PatientRecord.Meta):
        verbose_name = "GMFM-88 assessment"
        indexes = [models.Index(fields=["patient", "date"])]

    def __str__(self) -> str:
        return f"GMFM-88 {self.date}"

    def score(self) -> gmfm.GMFM88Result:
        """Validate the items and set the computed fields (raises MeasureError)."""
        result = gmfm.score_gmfm88(
            self.items or {}, self.goal_dimensions or (), with_aids=self.with_aids
        )
        self.items = {str(n): s for n, s in result.scores.items()}
        self.goal_dimensions = ",".join(result.goal_dimensions)
        p = result.dimension_percent
        self.pct_a, self.pct_b, self.pct_c, self.pct_d, self.pct_e = (p[c] for c in "ABCDE")
        self.total = result.total
        self.goal_total = result.goal_total
        self.n_not_tested = len(result.not_tested)
        return result

    @property
    def dimension_percent(self) -> dict[str, float]:
        return {"A": self.pct_a, "B": self.pct_b, "C": self.pct_c, "D": self.pct_d, "E": self.pct_e}

    @property
    def result(self) -> gmfm.GMFM88Result:
        return gmfm.score_gmfm88(self.items, self.goal_dimensions or (), with_aids=self.with_aids)

    def validate_record(self, errors: Errors) -> None:
        """Item errors are reported on ``item_<n>`` (the item's form field and CSV column),
        others on ``items`` or ``goal_dimensions``: the field the scorer names."""
        try:
            self.score()
        except MeasureError as exc:
            add_error(errors, exc.field or "items", exc.message, exc.code, **exc.params)
        self.clean_same_day(errors, "GMFM-88")

    def save(self, *args, **kwargs) -> None:
        if self.total is None:
            self.score()
        super().save(*args, **kwargs)


class GMFM66Source(models.TextChoices):
    GMAE = "gmae", "Entered from the GMAE"
    ITEM_MAP = "item_map", "Computed from the configured item map"
    SYNTHETIC = "synthetic", "Synthetic (demo data)"


class GMFM66Assessment(PatientRecord):
    """A GMFM-66 score (0-100) with its standard error / 95 % CI when known."""

    score = models.FloatField("GMFM-66")
    se = models.FloatField("standard error", null=True, blank=True)
    ci_lower = models.FloatField("95 % CI lower", null=True, blank=True)
    ci_upper = models.FloatField("95 % CI upper", null=True, blank=True)
    source = models.CharField(
        max_length=10, choices=GMFM66Source.choices, default=GMFM66Source.GMAE
    )
    sheet = models.OneToOneField(
        GMFM88Assessment, null=True, blank=True, on_delete=models.CASCADE, related_name="gmfm66"
    )
    blinded_assessor = models.BooleanField(
        "assessed by a blinded assessor",
        default=False,
        help_text="The assessor did not know the child's randomised allocation",
    )
    notes = models.TextField(blank=True)
    duplicate_confirmed = models.BooleanField(
        "confirm a second assessment on this day",
        default=False,
        help_text="Another assessment of this kind is recorded for the child on the same day",
    )
    history = HistoricalRecords()

    date_label = "assessment date"
    affects_schedule = True

    class Meta(PatientRecord.Meta):
        verbose_name = "GMFM-66 assessment"
        indexes = [models.Index(fields=["patient", "date"])]

    def __str__(self) -> str:
        return f"GMFM-66 {self.score:.1f} ({self.date})"

    def validate_record(self, errors: Errors) -> None:
        s = self.score
        if s is not None and not (math.isfinite(s) and 0 <= s <= 100):
            add_error(
                errors,
                "score",
                f"GMFM-66 {s:g} is not valid: the scale runs from 0 to 100",
                "out_of_range",
                value=s,
            )
        if self.se is not None and not (math.isfinite(self.se) and 0 < self.se < 50):
            add_error(
                errors, "se", "the standard error must be above 0 (and below 50)", "out_of_range"
            )
        lo, hi = self.ci_lower, self.ci_upper
        if (lo is None) != (hi is None):
            add_error(
                errors, "ci_lower", "give both ends of the confidence interval", "incomplete_ci"
            )
        elif lo is not None and s is not None and not (0 <= lo <= s <= hi <= 100):
            add_error(
                errors,
                "ci_lower",
                "the 95 % CI must contain the score and lie within 0-100 (lower <= score <= upper)",
                "ci_excludes_score",
            )
        self.clean_same_day(errors, "GMFM-66")


def _mas_rows(rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise MeasureError("Modified Ashworth ratings must be a list", code="not_a_list")
    out, seen = [], set()
    for row in rows:
        if not isinstance(row, dict):
            raise MeasureError(
                "each Modified Ashworth rating needs muscle, side and grade", code="not_a_rating"
            )
        m = MASMeasurement.create(row.get("muscle"), row.get("side"), row.get("grade"))
        if (m.muscle, m.side) in seen:
            raise MeasureError(
                f"Modified Ashworth: {m.muscle.label}, {m.side} is given twice", code="duplicate"
            )
        seen.add((m.muscle, m.side))
        out.append({"muscle": m.muscle.value, "side": m.side.value, "grade": m.grade.value})
    return sorted(out, key=_rating_order)


_MUSCLE_ORDER = {m.value: i for i, m in enumerate(MuscleGroup)}


def _rating_order(row: dict[str, Any]) -> tuple[int, str, str]:
    """Ratings are kept in one order (muscle group as listed, then side, then velocity), so
    that the same assessment is stored the same way whatever order it was entered in."""
    return (_MUSCLE_ORDER[row["muscle"]], row["side"], row.get("velocity", ""))


def _tardieu_rows(rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise MeasureError("Tardieu ratings must be a list", code="not_a_list")
    out, seen = [], set()
    for row in rows:
        if not isinstance(row, dict):
            raise MeasureError("each Tardieu rating needs muscle and side", code="not_a_rating")
        t = Tardieu.create(
            row.get("muscle"),
            row.get("side"),
            r1_deg=row.get("r1_deg"),
            r2_deg=row.get("r2_deg"),
            quality=row.get("quality"),
            velocity=row.get("velocity") or "V3",
            scale_version=row.get("scale_version") or "0-5",
        )
        key = (t.muscle, t.side, t.velocity)
        if key in seen:
            raise MeasureError(
                f"Tardieu: {t.muscle.label}, {t.side}, {t.velocity} is given twice",
                code="duplicate",
            )
        seen.add(key)
        out.append(
            {
                "muscle": t.muscle.value,
                "side": t.side.value,
                "r1_deg": t.r1_deg,
                "r2_deg": t.r2_deg,
                "quality": t.quality,
                "velocity": t.velocity.value,
                "scale_version": t.scale_version,
            }
        )
    return sorted(out, key=_rating_order)


def _coded(exc: MeasureError):
    return coded(exc.message, exc.code, **exc.params, **({"field": exc.field} if exc.field else {}))


class SpasticityAssessment(PatientRecord):
    """Modified Ashworth grades and Modified Tardieu ratings per muscle group and side."""

    mas = models.JSONField("Modified Ashworth", default=list, blank=True)
    tardieu = models.JSONField("Modified Tardieu", default=list, blank=True)
    blinded_assessor = models.BooleanField(
        "assessed by a blinded assessor",
        default=False,
        help_text="The assessor did not know the child's randomised allocation",
    )
    notes = models.TextField(blank=True)
    duplicate_confirmed = models.BooleanField(
        "confirm a second assessment on this day",
        default=False,
        help_text="Another assessment of this kind is recorded for the child on the same day",
    )
    history = HistoricalRecords()

    date_label = "assessment date"
    affects_schedule = True

    def __str__(self) -> str:
        return f"Spasticity {self.date}"

    def validate_record(self, errors: Errors) -> None:
        """Errors on ``mas`` / ``tardieu``; the code (and the scale's field in ``params``) say
        what was wrong."""
        try:
            self.mas = _mas_rows(self.mas or [])
        except MeasureError as exc:
            errors.setdefault("mas", []).append(_coded(exc))
        try:
            self.tardieu = _tardieu_rows(self.tardieu or [])
        except MeasureError as exc:
            errors.setdefault("tardieu", []).append(_coded(exc))
        if not errors and not self.mas and not self.tardieu:
            add_error(
                errors, "mas", "record at least one Modified Ashworth or Tardieu rating", "required"
            )
        self.clean_same_day(errors, "spasticity assessment")


class LabValue(PatientRecord):
    """A laboratory value with its unit (e.g. CRP 3.2 mg/L)."""

    analyte = models.CharField(max_length=80, help_text="e.g. CRP, IL-6, TNF-alpha, WBC")
    value = models.FloatField()
    unit = models.CharField(max_length=30, help_text="e.g. mg/L, pg/mL, 10^9/L")
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    date_label = "sample date"

    def __str__(self) -> str:
        return f"{self.analyte} {self.value:g} {self.unit}"

    def validate_record(self, errors: Errors) -> None:
        if self.value is not None and not math.isfinite(self.value):
            add_error(errors, "value", "the value must be a finite number", "not_finite")
        if not (self.unit or "").strip():
            add_error(errors, "unit", "give the unit, e.g. mg/L", "required")
