"""Cohort dashboard figures: counts, change vs expected by product and GMFCS, AE rates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from django.db.models import Count, Min, QuerySet

from cpstem.errors import CpstemError
from cpstem.measures.levels import ROMAN
from cpstem.outcomes import safety
from cpstem.outcomes.change import Observation, at_visit, compare
from cpstem.outcomes.cohort import change_table, summarise_change
from cpstem.outcomes.dates import DAYS_PER_YEAR
from cpstem.registry.clock import today
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.models.treatment import Product
from cpstem.registry.services.schedule import rules
from cpstem.registry.services.trajectory import curve_set, same_day_mean


def counts(patients: QuerySet[Patient]) -> dict[str, int]:
    ids = patients.values("id")
    return {
        "Patients": patients.count(),
        "Cell administrations": Administration.objects.filter(patient__in=ids).count(),
        "GMFM-88 sheets": GMFM88Assessment.objects.filter(patient__in=ids).count(),
        "GMFM-66 scores": GMFM66Assessment.objects.filter(patient__in=ids).count(),
        "Spasticity assessments": SpasticityAssessment.objects.filter(patient__in=ids).count(),
        "Adverse events": AdverseEvent.objects.filter(patient__in=ids).count(),
        "Serious adverse events": AdverseEvent.objects.filter(
            patient__in=ids, serious=True
        ).count(),
    }


def records(df: pd.DataFrame) -> list[dict]:
    """Rows for a template, NaN (e.g. the SD of a single child) as None."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


@dataclass(frozen=True)
class NotAnalysable:
    """A child left out of a cohort analysis, and why (the analysis error's code and message)."""

    patient_id: int
    code: str
    reason: str


def change_at(
    patients: QuerySet[Patient], months: int = 12, by: tuple[str, ...] = ("product", "gmfcs")
) -> pd.DataFrame:
    """Observed-minus-expected GMFM-66 change at the visit of ``months`` after each child's
    first administration, summarised by product and GMFCS level at baseline (children that
    cannot be analysed are left out: see :func:`change_rows`)."""
    rows, _ = change_rows(patients, months)
    return summarise_change(change_table(rows), by)


def change_rows(
    patients: QuerySet[Patient], months: int = 12
) -> tuple[list[dict[str, Any]], list[NotAnalysable]]:
    """One row per child with a baseline and a visit at ``months`` (product, GMFCS level at
    baseline, excess change by both methods), and the children whose analysis failed: one
    child's error (e.g. a GMFM-66 dated before birth) never stops the others'."""
    rule = next((r for r in rules() if r.months == months), None)
    if rule is None:
        return [], []
    ids = list(patients.values_list("id", flat=True))
    births = dict(Patient.objects.filter(id__in=ids).values_list("id", "birth_date"))
    first: dict[int, tuple] = {}
    for pid, aid, day, product in (
        Administration.objects.filter(patient_id__in=ids)
        .order_by("date", "id")
        .values_list("patient_id", "id", "date", "product")
    ):
        first.setdefault(pid, (aid, day, product))
    scores: dict[int, list[tuple[date, float, None]]] = defaultdict(list)
    for pid, day, score in GMFM66Assessment.objects.filter(patient_id__in=first).values_list(
        "patient_id", "date", "score"
    ):
        scores[pid].append((day, score, None))
    # several scores of one day: their mean, as in the child's trajectory (SAME_DAY_RULE)
    obs: dict[int, list[Observation]] = defaultdict(list)
    obs.update({pid: same_day_mean(rows) for pid, rows in scores.items()})
    levels: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for pid, day, level in (
        Classification.objects.filter(patient_id__in=first, system="gmfcs")
        .order_by("date", "id")
        .values_list("patient_id", "date", "level")
    ):
        levels[pid].append((day, level))
    labels = dict(Product.choices)
    rows: list[dict] = []
    skipped: list[NotAnalysable] = []
    cs, rl = curve_set(), rules()
    for pid, (aid, day, product) in first.items():
        before = [lvl for d, lvl in levels[pid] if d <= day]
        level_no = before[-1] if before else (levels[pid][0][1] if levels[pid] else None)
        if level_no is None or not obs[pid]:
            continue
        level = ROMAN[level_no - 1]
        try:
            (change,) = compare(births[pid], level, [(aid, day)], obs[pid], cs, rl)
        except CpstemError as exc:
            skipped.append(NotAnalysable(pid, exc.code, exc.message))
            continue
        row = at_visit(change, rule) if change.baseline else None
        if row is None:
            continue
        rows.append(
            {
                "product": labels.get(product, product),
                "gmfcs": level,
                "excess_population": row.excess_population,
                "excess_anchored": row.excess_anchored,
            }
        )
    return rows, skipped


def ae_by_product(patients: QuerySet[Patient]) -> list[dict[str, Any]]:
    """AE rates per product of the first administration, follow-up from it to today."""
    ids = patients.values("id")
    first = (
        Administration.objects.filter(patient__in=ids)
        .values("patient_id")
        .annotate(first=Min("date"))
    )
    first_day = {r["patient_id"]: r["first"] for r in first}
    product_of = {}
    for pid, product, _day in (
        Administration.objects.filter(patient__in=ids)
        .order_by("date", "id")
        .values_list("patient_id", "product", "date")
    ):
        product_of.setdefault(pid, product)
    now = today()
    labels = dict(Product.choices)
    groups: dict[str, dict[int, float]] = defaultdict(dict)
    for pid, day in first_day.items():
        groups[product_of[pid]][pid] = max((now - day).days, 0) / DAYS_PER_YEAR
    events = [
        safety.Event(pid, grade, serious, rel in {"possible", "probable", "definite"})
        for pid, grade, serious, rel, day in AdverseEvent.objects.filter(
            patient_id__in=first_day
        ).values_list("patient_id", "grade", "serious", "relatedness", "date")
        if day >= first_day[pid]
    ]
    out = []
    for product, fu in sorted(groups.items()):
        r = safety.ae_rates(fu, events)
        if r.patient_years <= 0:
            continue
        lo, hi = r.proportion_ci
        rlo, rhi = r.rate_ci_per_100py
        out.append(
            {
                "product": labels.get(product, product),
                "n": r.n_patients,
                "patient_years": r.patient_years,
                "events": r.n_events,
                "patients_with_event": r.patients_with_event,
                "proportion": r.proportion,
                "proportion_ci": (lo, hi),
                "rate_per_100py": r.rate_per_100py,
                "rate_ci": (rlo, rhi),
                "serious": r.serious_events,
                "grade3plus": r.grade3plus_events,
                "related": r.related_events,
            }
        )
    return out


def gmfcs_distribution(patients: QuerySet[Patient]) -> list[tuple[str, int]]:
    rows = dict(patients.values_list("gmfcs").annotate(n=Count("id")).values_list("gmfcs", "n"))
    return [(ROMAN[i - 1], rows.get(i, 0)) for i in range(1, 6)] + [
        ("not recorded", rows.get(None, 0))
    ]
