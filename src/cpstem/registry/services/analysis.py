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

:func:`build` is vectorised (a few queries, then NumPy: 10,000 children in about half a second
for the GMFM-66 table); :func:`build_per_child` computes the same rows child by child through
:func:`~cpstem.outcomes.change.compare` and is the reference the tests hold it to.
:func:`cached` keeps the tables in the process per data version (:func:`marks`) and, after a
change, rebuilds only the children the audit trail names.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Max, QuerySet

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
    Site,
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


def build_per_child(patients: QuerySet[Patient] | None = None) -> AnalysisData:
    """:func:`build` child by child through :func:`cpstem.outcomes.change.compare` (the patient
    page's comparison): the reference the vectorised :func:`build` is tested and benchmarked
    against (same rows; ~50x slower at 10,000 children)."""
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
        .order_by("date", "id")  # same-day assessments in the order entered, on any database
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
        later = [o for o in obs[pid] if o.day > max(anchor["day"], base.day)]
        for r, o in zip(change.rows, later, strict=True):
            rows.append(
                (
                    *head,
                    round(r.months_since, 4),
                    r.score,
                    o.se,
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
        spasticity=_by_child(_spasticity_per_row(ids, info, anchors), ids),
        labs=_by_child(_labs_per_row(ids, info, anchors, proj), ids),
        skipped=tuple(skipped),
    )


def _by_child(frame: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    """``frame`` in the children's order (each child's rows keep their order)."""
    rank = {p: i for i, p in enumerate(ids)}
    order = np.argsort(frame["patient_id"].map(rank).to_numpy(np.int64), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _spasticity_per_row(ids: list[int], info: dict, anchors: dict) -> pd.DataFrame:
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


def _labs_per_row(
    ids: list[int], info: dict, anchors: dict, proj: privacy.Projection
) -> pd.DataFrame:
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


# --- the vectorised build -------------------------------------------------------------------

_NO_DAY = np.iinfo(np.int64).min  # no anchor


def _of(model: type, patients: QuerySet[Patient] | None) -> QuerySet:
    """``model``'s records of ``patients`` (all records: no filter, no 10,000-key IN list)."""
    if patients is None:
        return model.objects.all()
    return model.objects.filter(patient_id__in=patients.values("id"))


def _columns(rows: list[tuple], n: int) -> list[list]:
    """The ``n`` columns of a ``values_list`` result (row tuples of length ``n``)."""
    return [[r[j] for r in rows] for j in range(n)]


def _ordinals(days: tuple) -> np.ndarray:
    return np.fromiter((d.toordinal() for d in days), np.int64, len(days))


def _projected(proj: privacy.Projection, model: type, name: str, values: tuple) -> list[Any]:
    """:meth:`privacy.Projection.values` of one field over a column: the same decision, taken
    once per distinct value (fields the role sees as they are pass through)."""
    from cpstem.registry.privacy.policy import T, treatment

    kind = treatment(model, name)
    if kind is T.DATE:
        raise ValueError(f"{model.__name__}.{name}: a date is projected with its child's birth")
    if not proj.pseudonymised or kind in (T.SHOW, T.KEY):
        return list(values)
    seen = {v: proj.values(model, {name: v}, None).get(name) for v in set(values)}
    return [seen[v] for v in values]


@dataclass(frozen=True)
class _Children:
    """Per child (in the patients' order): projected identity, birth and anchor (day
    ordinals), the first administration, and the non-missing doses for cumulative sums."""

    ids: np.ndarray
    research_id: np.ndarray
    site: np.ndarray
    group: np.ndarray
    synthetic: np.ndarray
    birth: np.ndarray
    anchor: np.ndarray
    anchor_key: list[Any]
    product: np.ndarray
    route: np.ndarray
    first_dose: np.ndarray
    dose_child: np.ndarray
    dose_day: np.ndarray
    dose_cumulative: np.ndarray

    def index(self, patient_ids: np.ndarray) -> np.ndarray:
        """Child positions of database keys (every key must be a child's)."""
        order = np.argsort(self.ids, kind="stable")
        return order[np.searchsorted(self.ids[order], patient_ids)]


def _children(patients: QuerySet[Patient] | None, proj: privacy.Projection) -> _Children:
    qs = patients if patients is not None else Patient.objects.all()
    rows = list(
        qs.values_list(
            "id",
            "research_id",
            "site__code",
            "group",
            "enrolment_date",
            "birth_date",
            "is_synthetic",
        )
    )
    pid, rid, site, group, enrolled, birth, synthetic = _columns(rows, 7)
    n = len(rows)
    ids = np.asarray(pid, dtype=np.int64)
    where = {p: i for i, p in enumerate(pid)}
    anchor = np.full(n, _NO_DAY, np.int64)
    key: list[Any] = [None] * n
    product = np.full(n, "", object)
    route = np.full(n, "", object)
    first_dose = np.full(n, np.nan)
    dose_rows = []
    for p, aid, day, prod, rte, dose in (
        _of(Administration, patients)
        .order_by("date", "id")
        .values_list("patient_id", "id", "date", "product", "route", "dose_cells_per_kg")
    ):
        i = where[p]
        if group[i] == EnrolmentGroup.CONTROL:
            continue
        if key[i] is None:
            key[i], anchor[i], product[i], route[i] = aid, day.toordinal(), prod, rte
            first_dose[i] = np.nan if dose is None else dose
        if dose is not None:
            dose_rows.append((i, day.toordinal(), float(dose)))
    for i, (g, day) in enumerate(zip(group, enrolled, strict=True)):
        if g == EnrolmentGroup.CONTROL and day is not None:
            anchor[i] = day.toordinal()
    d_child, d_day, d_dose = (np.asarray(c) for c in _columns(sorted(dose_rows), 3))
    d_child = d_child.astype(np.int64)
    cumulative = (
        pd.Series(d_dose, dtype=float).groupby(d_child).cumsum().to_numpy()
        if len(d_child)
        else np.zeros(0)
    )
    return _Children(
        ids=ids,
        research_id=np.asarray(_projected(proj, Patient, "research_id", rid), object),
        site=np.asarray(_projected(proj, Patient, "site", site), object),
        group=np.asarray(_projected(proj, Patient, "group", group), object),
        synthetic=np.asarray(_projected(proj, Patient, "is_synthetic", synthetic), bool),
        birth=_ordinals(birth),
        anchor=anchor,
        anchor_key=key,
        product=product,
        route=route,
        first_dose=first_dose,
        dose_child=d_child,
        dose_day=d_day.astype(np.int64),
        dose_cumulative=cumulative,
    )


def _cumulative(ch: _Children, child: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Cells per kg of every administration of ``child`` on or before ``day`` (NaN: none)."""
    if len(ch.dose_child) == 0:
        return np.full(len(child), np.nan)
    big = np.int64(10_000_000)  # day ordinals stay below 4 million
    keys = ch.dose_child * big + ch.dose_day
    pos = np.searchsorted(keys, child * big + day, side="right") - 1
    ok = (pos >= 0) & (ch.dose_child[np.maximum(pos, 0)] == child)
    return np.where(ok, ch.dose_cumulative[np.maximum(pos, 0)], np.nan)


def _levels(ch: _Children, patients: QuerySet[Patient] | None) -> np.ndarray:
    """GMFCS level at the anchor (the latest on or before it, else the first; 0: none)."""
    where = {int(p): i for i, p in enumerate(ch.ids)}
    at = np.zeros(len(ch.ids), np.int64)
    first = np.zeros(len(ch.ids), np.int64)
    for p, day, level in (
        _of(Classification, patients)
        .filter(system="gmfcs")
        .order_by("date", "id")
        .values_list("patient_id", "date", "level")
    ):
        i = where[p]
        if first[i] == 0:
            first[i] = level
        if day.toordinal() <= ch.anchor[i]:
            at[i] = level
    return np.where(at > 0, at, first)


def _first_per_child(child: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    """Per child, the first index of ``candidates`` (sorted) that is the child's (-1: none)."""
    out = np.full(n, -1, np.int64)
    idx = np.flatnonzero(candidates)
    kids, first = np.unique(child[idx], return_index=True)
    out[kids] = idx[first]
    return out


def _gmfm_table(
    ch: _Children, patients: QuerySet[Patient] | None, cs: Any, rl: Any
) -> tuple[pd.DataFrame, list[Skipped]]:
    n = len(ch.ids)
    rows = list(
        _of(GMFM66Assessment, patients).values_list(
            "patient_id", "date", "score", "se", "id", "blinded_assessor"
        )
    )
    pid, days, scores, ses, oids, by_blinded = _columns(rows, 6)
    child = ch.index(np.asarray(pid, np.int64)) if rows else np.zeros(0, np.int64)
    day = _ordinals(days)
    order = np.lexsort((np.asarray(oids, np.int64), day, child))
    child, day = child[order], day[order]
    score = np.asarray(scores, float)[order]
    se = np.asarray(ses, float)[order] if rows else np.zeros(0)
    # blinded: every GMFM-66 of that child and day was assessed by a blinded assessor
    flags = np.asarray(by_blinded, bool)[order] if rows else np.zeros(0, bool)
    _, same_day, per_day = np.unique(
        child * np.int64(10_000_000) + day, return_inverse=True, return_counts=True
    )
    blinded = (np.bincount(same_day, weights=flags, minlength=len(per_day)) == per_day)[same_day]
    level = _levels(ch, patients)
    has_obs = np.bincount(child, minlength=n) > 0
    ok = has_obs & (ch.anchor != _NO_DAY) & (level > 0)
    base_rule = next((r for r in rl if r.months == 0), None)
    if base_rule is None:
        ok[:] = False  # every child's comparison fails the same way (see below)
        base = np.full(n, -1, np.int64)
    else:
        ok &= np.bincount(child, weights=day < ch.birth[child], minlength=n) == 0
        a = ch.anchor[child]
        inside = (day >= a - base_rule.days_before) & (day <= a + base_rule.days_after)
        before = inside & (day <= a)
        latest = np.full(n, _NO_DAY, np.int64)
        np.maximum.at(latest, child[before], day[before])
        on_or_before = _first_per_child(child, before & (day == latest[child]), n)
        after = _first_per_child(child, inside & (day > a), n)
        base = np.where(on_or_before >= 0, on_or_before, after)
        ok &= base >= 0
    skipped = []
    for i in np.flatnonzero(has_obs & ~ok):
        reason = _why_not(ch, int(i), int(level[i]), day[child == i], score[child == i], cs, rl)
        if reason is not None:
            skipped.append(reason)
    # baseline rows, then each child's later assessments
    kids = np.flatnonzero(ok)
    b = base[kids]
    b_day = np.zeros(n, np.int64)
    b_day[kids] = day[b]
    later = ok[child] & (day > np.maximum(ch.anchor[child], b_day[child]))
    f = np.flatnonzero(later)
    row_child = np.concatenate([kids, child[f]])
    row_obs = np.concatenate([b, f])
    is_follow = np.concatenate([np.zeros(len(b), bool), np.ones(len(f), bool)])
    order = np.lexsort((row_obs, is_follow, row_child))
    row_child, row_obs, is_follow = row_child[order], row_obs[order], is_follow[order]
    c = row_child
    bd = b_day[c]
    birth = ch.birth[c]
    base_score = np.zeros(n)
    base_score[kids] = score[b]
    bs = base_score[c]
    lv = level[c]
    limits = np.array([np.nan] + [cs.curve(k).limit for k in range(1, 6)])
    rates = np.array([np.nan] + [cs.curve(k).rate_per_year for k in range(1, 6)])
    limit, rate = limits[lv], rates[lv]
    age0 = (bd - birth) / DAYS_PER_YEAR
    age = (day[row_obs] - birth) / DAYS_PER_YEAR
    f0, f1 = -np.expm1(-age0 * rate), -np.expm1(-age * rate)
    population = limit * f1 - limit * f0
    anchorable = (age0 > 0) & (bs >= 0) & (bs <= 100)
    with np.errstate(divide="ignore", invalid="ignore"):
        anchored = np.where(anchorable, bs / f0 * f1 - bs, np.nan)
    change = score[row_obs] - bs
    months = np.round((day[row_obs] - ch.anchor[c]) / _MONTH_DAYS, 4)
    zero = np.where(is_follow, 1.0, 0.0)
    table = pd.DataFrame(
        {
            "child": ch.research_id[c],
            "site": ch.site[c],
            "group": ch.group[c],
            "product": ch.product[c],
            "route": ch.route[c],
            "dose_cells_per_kg": ch.first_dose[c],
            "gmfcs": lv.astype("int64"),
            "age_baseline_years": np.round(age0, 4),
            "gmfm66_baseline": bs,
            "months": np.where(is_follow, months, np.minimum(0.0, months)),
            "gmfm66": score[row_obs],
            "gmfm66_se": se[row_obs],
            "expected_change_population": population * zero,
            "expected_change_anchored": np.where(is_follow, anchored, 0.0),
            "excess_population": (change - population) * zero,
            "excess_anchored": np.where(is_follow, change - anchored, 0.0),
            "dose_cells_per_kg_cumulative": _cumulative(ch, c, day[row_obs]),
            "synthetic": ch.synthetic[c],
            "blinded_assessor": blinded[row_obs] if len(row_obs) else np.zeros(0, bool),
            "patient_id": ch.ids[c],
        }
    )
    return table, skipped


def _why_not(
    ch: _Children, i: int, level: int, days: np.ndarray, scores: np.ndarray, cs: Any, rl: Any
) -> Skipped | None:
    """Why child ``i`` (with GMFM-66 assessments) is not in the table: the reference
    comparison's own error or note (:func:`cpstem.outcomes.change.compare`)."""
    pid = int(ch.ids[i])
    if ch.anchor[i] == _NO_DAY:
        return Skipped(pid, "no_anchor", "no administration (or enrolment date)")
    if level == 0:
        return Skipped(pid, "no_gmfcs", "no GMFCS level recorded")
    obs = [
        Observation(date.fromordinal(int(d)), float(s)) for d, s in zip(days, scores, strict=True)
    ]
    birth = date.fromordinal(int(ch.birth[i]))
    try:
        (change,) = compare(
            birth, ROMAN[level - 1], [(None, date.fromordinal(int(ch.anchor[i])))], obs, cs, rl
        )
    except CpstemError as exc:
        return Skipped(pid, exc.code, exc.message)
    if change.baseline is None:
        return Skipped(pid, "no_baseline", change.note or "no GMFM-66 in the baseline window")
    return None


def _spasticity_table(ch: _Children, patients: QuerySet[Patient] | None) -> pd.DataFrame:
    from django.db.models import TextField
    from django.db.models.functions import Cast

    rows = list(
        _of(SpasticityAssessment, patients)
        .order_by("date", "id")
        .values_list("patient_id", "date", Cast("mas", TextField()), Cast("tardieu", TextField()))
    )
    pid, days, mas_text, tardieu_text = _columns(rows, 4)
    columns = [*SPASTICITY_EXPORT_COLUMNS, "patient_id"]
    if not rows:
        return _typed_spasticity(pd.DataFrame(columns=columns))
    child = ch.index(np.asarray(pid, np.int64))
    keep = ch.anchor[child] != _NO_DAY
    months = np.round((_ordinals(days) - ch.anchor[child]) / _MONTH_DAYS, 4)
    # one json.loads for all assessments (the JSON of each is a list of limb dicts)
    mas_lists = json.loads("[" + ",".join(t or "[]" for t in mas_text) + "]")
    tardieu_lists = json.loads("[" + ",".join(t or "[]" for t in tardieu_text) + "]")
    kept = np.flatnonzero(keep)
    mk, muscle, side, grade = _columns(
        [(k, r["muscle"], r["side"], r["grade"]) for k in kept for r in mas_lists[k] or []], 4
    )
    codes = {g: MAS.parse(g) for g in set(grade)}
    ordinal = {g: (m.ordinal, str(m)) for g, m in codes.items()}
    m = pd.DataFrame(
        {
            "k": np.asarray(mk, np.int64),
            "muscle": np.asarray(muscle, object),
            "side": np.asarray(side, object),
            "mas": np.fromiter((ordinal[g][0] for g in grade), np.int64, len(grade)),
            "mas_label": np.asarray([ordinal[g][1] for g in grade], object),
        }
    ).drop_duplicates(["k", "muscle", "side"], keep="last")
    tk, t_muscle, t_side, r1, r2, quality = _columns(
        [
            (k, r["muscle"], r["side"], r.get("r1_deg"), r.get("r2_deg"), r.get("quality"))
            for k in kept
            for r in tardieu_lists[k] or []
        ],
        6,
    )
    t = pd.DataFrame(
        {
            "k": np.asarray(tk, np.int64),
            "muscle": np.asarray(t_muscle, object),
            "side": np.asarray(t_side, object),
            "tardieu_r1_deg": np.asarray(r1, float),
            "tardieu_r2_deg": np.asarray(r2, float),
            "tardieu_quality": np.asarray(quality, float),
        }
    ).drop_duplicates(["k", "muscle", "side"], keep="last")
    limbs = m.merge(t, on=["k", "muscle", "side"], how="left")
    limbs = limbs.sort_values(["k", "muscle", "side"], kind="mergesort")
    k = limbs["k"].to_numpy(np.int64)
    limbs = limbs.iloc[np.argsort(child[k], kind="stable")]
    k = limbs["k"].to_numpy(np.int64)
    c = child[k]
    limbs["child"] = ch.research_id[c]
    limbs["group"] = ch.group[c]
    limbs["months"] = months[k]
    limbs["patient_id"] = ch.ids[c]
    return _typed_spasticity(limbs[columns].reset_index(drop=True))


def _typed_spasticity(frame: pd.DataFrame) -> pd.DataFrame:
    for name in ("tardieu_r1_deg", "tardieu_r2_deg", "tardieu_quality", "months"):
        frame[name] = frame[name].astype(float)
    return frame


def _labs_table(
    ch: _Children, patients: QuerySet[Patient] | None, proj: privacy.Projection
) -> pd.DataFrame:
    rows = list(
        _of(LabValue, patients)
        .filter(value__isnull=False)
        .order_by("date", "id")
        .values_list("patient_id", "date", "analyte", "value", "unit")
    )
    columns = [*LAB_EXPORT_COLUMNS, "patient_id"]
    if not rows:
        return pd.DataFrame(columns=columns)
    pid, days, analyte, value, unit = _columns(rows, 5)
    child = ch.index(np.asarray(pid, np.int64))
    keep = ch.anchor[child] != _NO_DAY
    months = np.round((_ordinals(days) - ch.anchor[child]) / _MONTH_DAYS, 4)
    frame = pd.DataFrame(
        {
            "child": ch.research_id[child],
            "group": ch.group[child],
            "analyte": _projected(proj, LabValue, "analyte", analyte),
            "unit": [u or "" for u in _projected(proj, LabValue, "unit", unit)],
            "months": months,
            "value": np.asarray(_projected(proj, LabValue, "value", value), float),
            "patient_id": ch.ids[child],
        }
    )
    frame = frame[keep]
    return frame.iloc[np.argsort(child[keep], kind="stable")].reset_index(drop=True)[columns]


def _typed_table(table: pd.DataFrame) -> pd.DataFrame:
    for name in (
        "dose_cells_per_kg",
        "dose_cells_per_kg_cumulative",
        "gmfm66_se",
        "expected_change_anchored",
        "excess_anchored",
    ):
        table[name] = table[name].astype(float)
    table["gmfcs"] = table["gmfcs"].astype("int64")
    table["synthetic"] = table["synthetic"].astype(bool)
    table["blinded_assessor"] = table["blinded_assessor"].astype(bool)
    return table


PARTS = ("gmfm", "spasticity", "labs")


def build(
    patients: QuerySet[Patient] | None = None, parts: tuple[str, ...] = PARTS
) -> AnalysisData:
    """The analysis, spasticity and laboratory tables of ``patients`` (default: all).

    Vectorised over children: a handful of queries, then NumPy (the reference curves' expected
    change of every assessment at once); the same rows as :func:`build_per_child`. ``parts``:
    the tables to build (the others are empty).
    """
    proj = privacy.research()
    ch = _children(patients, proj)
    table = pd.DataFrame(columns=[*ANALYSIS_COLUMNS, "patient_id"])
    skipped: list[Skipped] = []
    if "gmfm" in parts:
        table, skipped = _gmfm_table(ch, patients, curve_set(), rules())
    return AnalysisData(
        table=_typed_table(table),
        spasticity=(
            _spasticity_table(ch, patients)
            if "spasticity" in parts
            else _typed_spasticity(pd.DataFrame(columns=[*SPASTICITY_EXPORT_COLUMNS, "patient_id"]))
        ),
        labs=(
            _labs_table(ch, patients, proj)
            if "labs" in parts
            else pd.DataFrame(columns=[*LAB_EXPORT_COLUMNS, "patient_id"])
        ),
        skipped=tuple(skipped),
    )


# --- kept up to date per data version --------------------------------------------------------

#: The records each table is built from (Site: a site code is in every row).
_SOURCES: dict[str, tuple[type, ...]] = {
    "gmfm": (Site, Patient, Administration, Classification, GMFM66Assessment),
    "spasticity": (Site, Patient, Administration, SpasticityAssessment),
    "labs": (Site, Patient, Administration, LabValue),
}


@dataclass(frozen=True)
class Mark:
    """Where one table of records stands: row count, largest key and the latest audit-trail
    entry (id and time). Every save and delete through Django writes an audit entry
    (django-simple-history); bulk inserts change the count and the largest key. Index
    lookups and a count: no scan of dates."""

    count: int
    last_pk: int | None
    audit_id: int | None
    audit_time: str

    @classmethod
    def of(cls, model: type) -> Mark:
        audit = (
            model.history.model.objects.order_by("-history_id")
            .values_list("history_id", "history_date")
            .first()
        )
        return cls(
            model.objects.count(),
            model.objects.aggregate(m=Max("pk"))["m"],
            audit[0] if audit else None,
            audit[1].isoformat() if audit else "",
        )


def marks() -> dict[str, Mark]:
    """The :class:`Mark` of every model the tables are built from (one query set per request)."""
    return {m.__name__: Mark.of(m) for m in {m for ms in _SOURCES.values() for m in ms}}


def _config() -> str:
    return f"{curve_set().name}|{rules()!r}"


def versions(current: dict[str, Mark] | None = None) -> dict[str, str]:
    """A key per table (:data:`PARTS`) that changes whenever a record it is built from is
    added, changed or deleted, or the configured curves or schedule change."""
    m = current if current is not None else marks()
    config = _config()
    return {
        part: hashlib.sha256(
            "|".join([*(repr(m[x.__name__]) for x in models), config]).encode()
        ).hexdigest()[:32]
        for part, models in _SOURCES.items()
    }


def data_version(parts: tuple[str, ...] = PARTS, current: dict[str, Mark] | None = None) -> str:
    """One key for the tables ``parts`` (see :func:`versions`)."""
    v = versions(current)
    return hashlib.sha256("|".join(v[p] for p in parts).encode()).hexdigest()[:32]


@dataclass
class _Kept:
    """One table as last built, with the marks and configuration it was built at."""

    marks: dict[str, Mark]
    config: str
    frame: pd.DataFrame
    skipped: tuple[Skipped, ...] = ()


#: The tables kept in this process (built once, then patched child by child).
_KEPT: dict[str, _Kept] = {}
_LOCK = threading.Lock()
#: Beyond this many changed children a table is rebuilt whole.
PATCH_LIMIT = 2000
#: Audit entries read again before the last one seen (see :func:`_changed_children`).
AUDIT_MARGIN = 200


def forget() -> None:
    """Drop the kept tables (the next request rebuilds them)."""
    with _LOCK:
        _KEPT.clear()


def _changed_children(part: str, old: dict[str, Mark], new: dict[str, Mark]) -> set[int] | None:
    """The children whose records of ``part`` changed between two marks, from the audit trail;
    ``None`` when that cannot be told (a site changed, or a change left no audit entry)."""
    changed: set[int] = set()
    for model in _SOURCES[part]:
        a, b = old[model.__name__], new[model.__name__]
        if a == b:
            continue
        if model is Site or (b.audit_id or 0) < (a.audit_id or 0):
            return None  # a site renamed, or the audit trail went back (a restored backup)
        hist = model.history.model.objects
        key = "id" if model is Patient else "patient_id"
        # a margin of earlier entries too: on PostgreSQL a transaction may commit an entry with
        # a smaller id after a larger one was seen (cheap: those children are rebuilt again)
        since = (a.audit_id or 0) - AUDIT_MARGIN
        rows = list(
            hist.filter(history_id__gt=since).values_list("history_id", "history_type", "id", key)
        )
        entries = [r[1:] for r in rows]
        new_entries = [r[1:] for r in rows if r[0] > (a.audit_id or 0)]
        added = [e for e in new_entries if e[0] == "+"]
        removed = sum(e[0] == "-" for e in new_entries)
        if a.count + len(added) - removed != b.count:
            return None  # rows added or deleted without an audit entry (bulk): rebuild
        if (b.last_pk or 0) > max([a.last_pk or 0, *(e[1] for e in added)]):
            return None
        records = {e[1] for e in entries}
        changed |= {e[2] for e in entries}
        if model is not Patient and records:  # a record moved to another child: both
            changed |= set(hist.filter(id__in=records).values_list(key, flat=True))
        if len(changed) > PATCH_LIMIT:
            return None
    changed.discard(None)  # type: ignore[arg-type]
    return changed


def _patch(
    kept: _Kept, part: str, changed: set[int]
) -> tuple[pd.DataFrame, tuple[Skipped, ...]] | None:
    """``kept`` with the rows of the ``changed`` children rebuilt, in the children's order
    (``None`` when a kept child is no longer in the registry unannounced: rebuild)."""
    ids = np.asarray(Patient.objects.values_list("id", flat=True), np.int64)
    old = kept.frame
    old = old[~old["patient_id"].isin(changed)]
    if not np.isin(old["patient_id"].to_numpy(np.int64), ids).all():
        return None
    fresh = build(Patient.objects.filter(pk__in=changed), parts=(part,))
    new = {"gmfm": fresh.table, "spasticity": fresh.spasticity, "labs": fresh.labs}[part]
    frame = pd.concat([old, new], ignore_index=True)
    order = np.argsort(ids, kind="stable")
    pid = frame["patient_id"].to_numpy(np.int64)
    rank = order[np.searchsorted(ids[order], pid)]
    frame = frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    skipped = [s for s in kept.skipped if s.patient_id not in changed] + list(fresh.skipped)
    where = {int(p): i for i, p in enumerate(ids)}
    skipped.sort(key=lambda s: where.get(s.patient_id, -1))
    return frame, tuple(skipped)


def _part(part: str, current: dict[str, Mark], config: str) -> _Kept:
    kept = _KEPT.get(part)
    mine = {m.__name__: current[m.__name__] for m in _SOURCES[part]}
    if kept is not None and kept.config == config and kept.marks == mine:
        return kept
    changed = None
    if kept is not None and kept.config == config:
        changed = _changed_children(part, kept.marks, mine)
    patched = _patch(kept, part, changed) if kept is not None and changed is not None else None
    if patched is not None:
        frame, skipped = patched
    else:
        fresh = build(parts=(part,))
        frame = {"gmfm": fresh.table, "spasticity": fresh.spasticity, "labs": fresh.labs}[part]
        skipped = fresh.skipped
    kept = _Kept(mine, config, frame, skipped)
    _KEPT[part] = kept
    return kept


def cached(parts: tuple[str, ...] = PARTS, current: dict[str, Mark] | None = None) -> AnalysisData:
    """:func:`build` for all patients, kept in this process per data version: after a change
    only the children whose records changed (told by the audit trail) are rebuilt, and a table
    whose records did not change is not touched. Returned frames are shared: do not modify."""
    m = current if current is not None else marks()
    config = _config()
    with _LOCK:
        got = {part: _part(part, m, config) for part in parts}
    gmfm = got.get("gmfm")
    return AnalysisData(
        table=gmfm.frame if gmfm else pd.DataFrame(columns=[*ANALYSIS_COLUMNS, "patient_id"]),
        spasticity=got["spasticity"].frame
        if "spasticity" in got
        else pd.DataFrame(columns=[*SPASTICITY_EXPORT_COLUMNS, "patient_id"]),
        labs=got["labs"].frame
        if "labs" in got
        else pd.DataFrame(columns=[*LAB_EXPORT_COLUMNS, "patient_id"]),
        skipped=gmfm.skipped if gmfm else (),
    )


def finite(value: Any) -> float | None:
    """A float for a template or JSON (NaN and None as None)."""
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or np.isinf(x) else x


def warm_in_background() -> threading.Thread | None:
    """Build the kept tables in a daemon thread when a server process starts, so that the
    first dashboard request does not pay for the build (about 1.5 s at 10,000 children). A
    request that comes meanwhile waits for the same build (the tables' lock), never repeats
    it. ``CPSTEM_WARM_DASHBOARD=0`` turns it off; a failure is logged, never raised."""
    import logging
    import os

    if os.environ.get("CPSTEM_WARM_DASHBOARD", "1") == "0":
        return None

    def run() -> None:
        from django.db import connection

        try:
            cached()
        except Exception:  # the page builds the tables itself and shows any error
            logging.getLogger("cpstem").warning("warming the dashboard failed", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="cpstem-warm-dashboard", daemon=True)
    thread.start()
    return thread
