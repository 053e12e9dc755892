"""The registry's analysis tables (:mod:`cpstem.outcomes.ipd.table`) built from the database.

One row per GMFM-66 assessment of each analysable child (the contract columns of
:data:`cpstem.outcomes.ipd.table.COLUMNS`), the spasticity table (one row per child, muscle
group, side and assessment) and the laboratory table (one row per child, analyte and sample).
Every patient field is read through the researchers' privacy projection
(:func:`cpstem.registry.privacy.research`): research IDs, no study IDs, no calendar dates (time is
months since the child's anchor), no free text (lab analytes and units only as terms of their
closed lists).

The anchor (time 0) of a treated child is its first administration, of a concurrent control its
date of enrolment. The baseline is the GMFM-66 in the schedule's baseline window around the
anchor (:func:`cpstem.outcomes.change.compare`); its row has ``months`` <= 0 and zero change.
Children without a GMFCS level, an anchor or a baseline GMFM-66 are left out of the GMFM-66
table (:attr:`AnalysisData.skipped` says why).

Columns beyond the contract (documented in ``docs/analysis-table.md``):
``dose_cells_per_kg_cumulative`` (cells per kg of all administrations up to that assessment),
``synthetic`` (demo record), ``blinded_assessor`` (every GMFM-66 of that day was recorded as
assessed by an assessor blinded to the randomised allocation), and — only in :func:`build`'s
frame, never exported —
``patient_id`` (the database key, for the dashboard's site filter).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet

from cpstem.errors import CpstemError
from cpstem.measures.levels import ROMAN
from cpstem.measures.spasticity import MAS
from cpstem.outcomes.change import Observation, compare
from cpstem.outcomes.dates import DAYS_PER_YEAR
from cpstem.outcomes.ipd.table import COLUMNS, LAB_COLUMNS, SPASTICITY_COLUMNS
from cpstem.registry import privacy
from cpstem.registry.models import (
    Administration,
    Classification,
    GMFM66Assessment,
    LabValue,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.models.patients import EnrolmentGroup
from cpstem.registry.services.schedule import rules
from cpstem.registry.services.trajectory import curve_set

#: Documented columns after the contract ones (see the module docs).
EXTRA_COLUMNS = ("dose_cells_per_kg_cumulative", "synthetic", "blinded_assessor")
ANALYSIS_COLUMNS = (*COLUMNS, *EXTRA_COLUMNS)
SPASTICITY_EXPORT_COLUMNS = tuple(SPASTICITY_COLUMNS)
LAB_EXPORT_COLUMNS = tuple(LAB_COLUMNS)

_MONTH_DAYS = DAYS_PER_YEAR / 12


@dataclass(frozen=True)
class Skipped:
    """A child left out of the GMFM-66 table, and why (``code``: the analysis error's code or
    ``no_gmfcs`` / ``no_anchor`` / ``no_baseline``)."""

    patient_id: int
    code: str
    reason: str


@dataclass(frozen=True)
class AnalysisData:
    """The three tables (``table`` with a ``patient_id`` column, for the registry's own use)."""

    table: pd.DataFrame
    spasticity: pd.DataFrame
    labs: pd.DataFrame
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)

    def export_tables(self) -> dict[str, pd.DataFrame]:
        """The tables as exported: no database keys."""
        return {
            "analysis": self.table.drop(columns=["patient_id"]).reset_index(drop=True),
            "spasticity": self.spasticity.drop(columns=["patient_id"]).reset_index(drop=True),
            "labs": self.labs.drop(columns=["patient_id"]).reset_index(drop=True),
        }


def _months(day: date, anchor: date) -> float:
    return round((day - anchor).days / _MONTH_DAYS, 4)


def _anchors(ids: list[int], groups: dict[int, tuple[str, date | None]]) -> dict[int, dict]:
    """Each child's anchor (day, first product, route, dose per kg) and its administrations."""
    admins: dict[int, list[tuple[date, Any, str, str, float | None]]] = defaultdict(list)
    for pid, aid, day, product, route, dose in (
        Administration.objects.filter(patient_id__in=ids)
        .order_by("date", "id")
        .values_list("patient_id", "id", "date", "product", "route", "dose_cells_per_kg")
    ):
        admins[pid].append((day, aid, product, route, dose))
    out: dict[int, dict] = {}
    for pid in ids:
        group, enrolled = groups[pid]
        if group == EnrolmentGroup.CONTROL:
            if enrolled is not None:
                out[pid] = {"key": None, "day": enrolled, "product": "", "route": "", "doses": []}
        elif admins[pid]:
            day, aid, product, route, _ = admins[pid][0]
            doses = [(d, x) for d, _, _, _, x in admins[pid]]
            out[pid] = {"key": aid, "day": day, "product": product, "route": route, "doses": doses}
    return out


def build(patients: QuerySet[Patient] | None = None) -> AnalysisData:
    """The analysis, spasticity and laboratory tables of ``patients`` (default: all)."""
    proj = privacy.research()
    patients = patients if patients is not None else Patient.objects.all()
    fields = ("id", "research_id", "site__code", "group", "enrolment_date", "birth_date")
    raw = list(patients.values(*fields, "is_synthetic"))
    ids = [p["id"] for p in raw]
    info: dict[int, dict[str, Any]] = {}
    for p in raw:
        seen = proj.values(
            Patient,
            {
                "research_id": p["research_id"],
                "site": p["site__code"],
                "group": p["group"],
                "is_synthetic": p["is_synthetic"],
            },
            p["birth_date"],
        )
        info[p["id"]] = seen | {"birth": p["birth_date"]}
    anchors = _anchors(ids, {p["id"]: (p["group"], p["enrolment_date"]) for p in raw})
    levels: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for pid, day, level in (
        Classification.objects.filter(patient_id__in=ids, system="gmfcs")
        .order_by("date", "id")
        .values_list("patient_id", "date", "level")
    ):
        levels[pid].append((day, level))
    obs: dict[int, list[Observation]] = defaultdict(list)
    blinded: dict[tuple[int, date], bool] = {}
    for pid, day, score, se, by_blinded in (
        GMFM66Assessment.objects.filter(patient_id__in=ids)
        .order_by("date")
        .values_list("patient_id", "date", "score", "se", "blinded_assessor")
    ):
        obs[pid].append(Observation(day, score, se))
        blinded[(pid, day)] = blinded.get((pid, day), True) and bool(by_blinded)

    cs, rl = curve_set(), rules()
    rows: list[tuple] = []
    skipped: list[Skipped] = []
    for pid in ids:
        if not obs[pid]:
            continue  # nothing to analyse, nothing to explain
        anchor = anchors.get(pid)
        if anchor is None:
            skipped.append(Skipped(pid, "no_anchor", "no administration (or enrolment date)"))
            continue
        before = [lvl for d, lvl in levels[pid] if d <= anchor["day"]]
        level_no = before[-1] if before else (levels[pid][0][1] if levels[pid] else None)
        if level_no is None:
            skipped.append(Skipped(pid, "no_gmfcs", "no GMFCS level recorded"))
            continue
        birth = info[pid]["birth"]
        try:
            (change,) = compare(
                birth, ROMAN[level_no - 1], [(anchor["key"], anchor["day"])], obs[pid], cs, rl
            )
        except CpstemError as exc:
            skipped.append(Skipped(pid, exc.code, exc.message))
            continue
        base = change.baseline
        if base is None:
            skipped.append(Skipped(pid, "no_baseline", change.note or "no baseline GMFM-66"))
            continue
        i = info[pid]
        first_dose = anchor["doses"][0][1] if anchor["doses"] else None
        head = (
            i["research_id"],
            i["site"],
            i["group"],
            anchor["product"],
            anchor["route"],
            first_dose,
            level_no,
            round((base.day - birth).days / DAYS_PER_YEAR, 4),
            base.score,
        )

        def cumulative(day: date, doses: list = anchor["doses"]) -> float | None:
            given = [x for d, x in doses if d <= day and x is not None]
            return float(sum(given)) if given else None

        rows.append(
            (
                *head,
                min(0.0, _months(base.day, anchor["day"])),
                base.score,
                base.se,
                0.0,
                0.0,
                0.0,
                0.0,
                cumulative(base.day),
                i["is_synthetic"],
                blinded.get((pid, base.day), False),
                pid,
            )
        )
        for r in change.rows:
            rows.append(
                (
                    *head,
                    round(r.months_since, 4),
                    r.score,
                    next((o.se for o in obs[pid] if o.day == r.day), None),
                    r.expected_population,
                    r.expected_anchored,
                    r.excess_population,
                    r.excess_anchored,
                    cumulative(r.day),
                    i["is_synthetic"],
                    blinded.get((pid, r.day), False),
                    pid,
                )
            )
    table = pd.DataFrame(rows, columns=[*ANALYSIS_COLUMNS, "patient_id"])
    for name in ("dose_cells_per_kg", "dose_cells_per_kg_cumulative", "gmfm66_se"):
        table[name] = table[name].astype(float)
    table["expected_change_anchored"] = table["expected_change_anchored"].astype(float)
    table["excess_anchored"] = table["excess_anchored"].astype(float)
    table["gmfcs"] = table["gmfcs"].astype("int64")
    table["synthetic"] = table["synthetic"].astype(bool)
    table["blinded_assessor"] = table["blinded_assessor"].astype(bool)
    return AnalysisData(
        table=table,
        spasticity=_spasticity(ids, info, anchors),
        labs=_labs(ids, info, anchors, proj),
        skipped=tuple(skipped),
    )


def _spasticity(ids: list[int], info: dict, anchors: dict) -> pd.DataFrame:
    rows = []
    for pid, day, mas, tardieu in (
        SpasticityAssessment.objects.filter(patient_id__in=ids)
        .order_by("date", "id")
        .values_list("patient_id", "date", "mas", "tardieu")
    ):
        anchor = anchors.get(pid)
        if anchor is None:
            continue
        limbs: dict[tuple[str, str], dict[str, Any]] = {}
        for r in mas or []:
            grade = MAS.parse(r["grade"])
            limbs.setdefault((r["muscle"], r["side"]), {}).update(
                mas=grade.ordinal, mas_label=str(grade)
            )
        for r in tardieu or []:
            limbs.setdefault((r["muscle"], r["side"]), {}).update(
                tardieu_r1_deg=r.get("r1_deg"),
                tardieu_r2_deg=r.get("r2_deg"),
                tardieu_quality=r.get("quality"),
            )
        months = _months(day, anchor["day"])
        for (muscle, side), v in sorted(limbs.items()):
            if "mas" not in v:
                continue  # the spasticity table is indexed by MAS; Tardieu alone is not analysed
            rows.append(
                {
                    "child": info[pid]["research_id"],
                    "group": info[pid]["group"],
                    "muscle": muscle,
                    "side": side,
                    "months": months,
                    "mas": v["mas"],
                    "mas_label": v["mas_label"],
                    "tardieu_r1_deg": v.get("tardieu_r1_deg"),
                    "tardieu_r2_deg": v.get("tardieu_r2_deg"),
                    "tardieu_quality": v.get("tardieu_quality"),
                    "patient_id": pid,
                }
            )
    frame = pd.DataFrame(rows, columns=[*SPASTICITY_EXPORT_COLUMNS, "patient_id"])
    for name in ("tardieu_r1_deg", "tardieu_r2_deg", "tardieu_quality"):
        frame[name] = frame[name].astype(float)
    return frame


def _labs(ids: list[int], info: dict, anchors: dict, proj: privacy.Projection) -> pd.DataFrame:
    rows = []
    for pid, day, analyte, value, unit in (
        LabValue.objects.filter(patient_id__in=ids)
        .order_by("date", "id")
        .values_list("patient_id", "date", "analyte", "value", "unit")
    ):
        anchor = anchors.get(pid)
        if anchor is None or value is None:
            continue
        seen = proj.values(
            LabValue, {"analyte": analyte, "unit": unit, "value": value}, info[pid]["birth"]
        )
        rows.append(
            {
                "child": info[pid]["research_id"],
                "group": info[pid]["group"],
                "analyte": seen["analyte"],
                "unit": seen["unit"] or "",
                "months": _months(day, anchor["day"]),
                "value": float(seen["value"]),
                "patient_id": pid,
            }
        )
    return pd.DataFrame(rows, columns=[*LAB_EXPORT_COLUMNS, "patient_id"])


# --- a cache per data version ---------------------------------------------------------------

_VERSIONED = (Patient, Administration, Classification, GMFM66Assessment, SpasticityAssessment)


def data_version() -> str:
    """A key that changes whenever a record that feeds the tables is added, changed or deleted
    (row count and latest change of every table read, and the configured curves/schedule)."""
    parts = []
    for model in (*_VERSIONED, LabValue):
        agg = model.objects.aggregate(n=Count("pk"), last=Max("updated_at"))
        parts.append(f"{agg['n']}:{agg['last'].isoformat() if agg['last'] else '-'}")
    parts.append(curve_set().name)
    parts.append(repr(rules()))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def cached() -> AnalysisData:
    """:func:`build` for all patients, cached per :func:`data_version` (the dashboard filters the
    rows it may show)."""
    key = "cpstem-analysis:" + data_version()
    hit = cache.get(key)
    if hit is None:
        hit = build()
        cache.set(key, hit, timeout=3600)
    return hit


def finite(value: Any) -> float | None:
    """A float for a template or JSON (NaN and None as None)."""
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or np.isinf(x) else x
