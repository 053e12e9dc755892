"""Data-quality rules: checks across the records of one patient that no single form can make.

They run after every save (the form shows the patient's findings as warnings, the API answer
carries them as ``data_quality``), in batch (``cpstem check``) and on the monitors' page
(``/quality/``). A finding is a warning for a monitor, never a refusal.

Each rule is one function registered with :func:`rule` (an id, a title, why it matters, how to
fix it); it gets a :class:`PatientData` (the patient's records, already loaded) and its
parameters from ``data/data_quality.toml`` (each with its source or rationale) and yields
:class:`Finding`. To add a rule: write the function, decorate it, add its table to the TOML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from itertools import pairwise
from typing import Any

from django.db.models import Prefetch, QuerySet

from cpstem.datafiles import toml_data
from cpstem.measures.scpe import Subtype, Topography
from cpstem.registry.clock import today
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    FollowUpVisit,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
)
from cpstem.registry.services import schedule

__all__ = [
    "RULES",
    "Finding",
    "PatientData",
    "Rule",
    "check_patient",
    "check_patients",
    "params",
    "rule",
]


@cache
def params() -> dict[str, Any]:
    """The rules' parameters (``data/data_quality.toml``), by rule id."""
    return toml_data("cpstem.registry", "data/data_quality.toml")


@dataclass(frozen=True)
class Finding:
    """One finding of one rule about one record of one patient."""

    rule: str
    patient_id: int
    study_id: str
    site: str
    record: str  # the record kind, e.g. "GMFM-88 assessment"
    record_id: int | None
    date: date | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": RULES[self.rule].title,
            "patient_id": self.patient_id,
            "study_id": self.study_id,
            "site": self.site,
            "record": self.record,
            "record_id": self.record_id,
            "date": self.date.isoformat() if self.date else None,
            "message": self.message,
        }


@dataclass
class PatientData:
    """A patient and the records the rules read (lists, oldest first)."""

    patient: Patient
    gmfm88: list[GMFM88Assessment] = field(default_factory=list)
    gmfm66: list[GMFM66Assessment] = field(default_factory=list)
    administrations: list[Administration] = field(default_factory=list)
    labs: list[LabValue] = field(default_factory=list)
    adverse_events: list[AdverseEvent] = field(default_factory=list)
    classifications: list[Classification] = field(default_factory=list)
    visits: list[FollowUpVisit] = field(default_factory=list)
    on: date = field(default_factory=today)

    def finding(self, rule_id: str, record: Any, message: str) -> Finding:
        return Finding(
            rule=rule_id,
            patient_id=self.patient.pk,
            study_id=self.patient.study_id,
            site=self.patient.site.code,
            record=str(record._meta.verbose_name),
            record_id=record.pk,
            date=getattr(record, "date", None),
            message=message,
        )


Check = Callable[[PatientData, dict[str, Any]], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A data-quality rule: ``id`` (its table in the TOML), ``title``, ``why`` it matters, ``fix``
    (how to resolve a finding) and the ``check`` function."""

    id: str
    title: str
    why: str
    fix: str
    check: Check

    def run(self, data: PatientData) -> list[Finding]:
        return list(self.check(data, params().get(self.id, {})))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "why": self.why,
            "fix": self.fix,
            "source": params().get(self.id, {}).get("source", ""),
        }


#: The rules, by id, in the order they are listed.
RULES: dict[str, Rule] = {}


def rule(id: str, title: str, why: str, fix: str) -> Callable[[Check], Check]:
    """Register a rule function under ``id``."""

    def register(check: Check) -> Check:
        RULES[id] = Rule(id, title, why, fix, check)
        return check

    return register


# --- the rules ------------------------------------------------------------------------------


@rule(
    "gmfm_window",
    "GMFM outside its visit window",
    "An assessment outside every window of the follow-up schedule does not count for a visit: "
    "the visit shows as missed and the change at that time point cannot be analysed as planned.",
    "Check the assessment date against the source document (a typed day or month is common); "
    "if the date is right, note the protocol deviation.",
)
def gmfm_window(data: PatientData, p: dict[str, Any]) -> Iterator[Finding]:
    if not data.visits:
        return
    first = min(v.window_start for v in data.visits)
    records: list[Any] = [*data.gmfm88, *(g for g in data.gmfm66 if g.sheet_id is None)]
    for r in sorted(records, key=lambda r: (r.date, r.pk)):
        if r.date < first and not p.get("check_before_first_visit", True):
            continue
        if any(v.window_start <= r.date <= v.window_end for v in data.visits):
            continue
        nearest = min(data.visits, key=lambda v: abs((v.target_date - r.date).days))
        yield data.finding(
            "gmfm_window",
            r,
            f"{r._meta.verbose_name} of {r.date.isoformat()} is in no visit window; the "
            f"nearest visit, {nearest.label} (target {nearest.target_date.isoformat()}), has "
            f"the window {nearest.window_start.isoformat()} to {nearest.window_end.isoformat()}",
        )


def _weights(data: PatientData, p: dict[str, Any], skip: Administration) -> list[tuple]:
    """(date, kg, where) of every other recorded weight."""
    analytes = {a.casefold() for a in p.get("weight_analytes", [])}
    units = {u.casefold() for u in p.get("weight_units", ["kg"])}
    out = [
        (a.date, a.weight_kg, f"administration of {a.date.isoformat()}")
        for a in data.administrations
        if a.pk != skip.pk and a.weight_kg
    ]
    out += [
        (lab.date, lab.value, f"laboratory value {lab.analyte} of {lab.date.isoformat()}")
        for lab in data.labs
        if lab.analyte.strip().casefold() in analytes
        and lab.unit.strip().casefold() in units
        and lab.value
    ]
    return out


@rule(
    "dose_weight",
    "Dose per kg inconsistent with the weight recorded nearest that date",
    "The dose per kg is computed from the weight typed with the administration; a mistyped "
    "weight gives a wrong dose per kg in every safety and dose-response analysis.",
    "Compare the weight with the source (infusion record, nursing chart) and correct the "
    "administration's weight, or the other weight, with a reason for change.",
)
def dose_weight(data: PatientData, p: dict[str, Any]) -> Iterator[Finding]:
    tol = float(p["tolerance_fraction"])
    max_days = int(p["max_days_apart"])
    for a in data.administrations:
        if not a.weight_kg or not a.cells_total:
            continue
        stored = a.dose_cells_per_kg
        own = a.cells_total / a.weight_kg
        if stored and abs(stored - own) / own > tol:
            yield data.finding(
                "dose_weight",
                a,
                f"the stored dose {stored:.3g} cells/kg differs from cells / weight "
                f"({a.cells_total:.3g} / {a.weight_kg:g} kg = {own:.3g} cells/kg) by more "
                f"than {tol:.0%}",
            )
            continue
        near = [w for w in _weights(data, p, a) if abs((w[0] - a.date).days) <= max_days]
        if not near:
            continue
        _day, kg, where = min(near, key=lambda w: (abs((w[0] - a.date).days), w[0]))
        other = a.cells_total / kg
        change = (other - own) / own
        if abs(change) > tol:
            yield data.finding(
                "dose_weight",
                a,
                f"dose {own:.3g} cells/kg computed with {a.weight_kg:g} kg; the weight recorded "
                f"nearest ({kg:g} kg, {where}) gives {other:.3g} cells/kg ({change:+.0%}, "
                f"tolerance {tol:.0%})",
            )


@rule(
    "baseline_gmfm66",
    "Missing baseline GMFM-66 before an administration",
    "Without a GMFM-66 in the baseline window the child's change after the cells cannot be "
    "measured against expected development (the analysis drops the child).",
    "Enter the baseline GMFM-66 (or the GMFM-88 sheet it is computed from) if it exists on "
    "paper; else record the missing baseline as a protocol deviation.",
)
def baseline_gmfm66(data: PatientData, p: dict[str, Any]) -> Iterator[Finding]:
    base = [r for r in schedule.rules() if r.months == 0]
    days_before = base[0].days_before if base else 0
    for a in data.administrations:
        start = a.date - timedelta(days=days_before)
        if not any(start <= g.date <= a.date for g in data.gmfm66):
            yield data.finding(
                "baseline_gmfm66",
                a,
                f"no GMFM-66 between {start.isoformat()} and the administration on "
                f"{a.date.isoformat()} (baseline window: {days_before} days before)",
            )


@rule(
    "ae_outcome",
    "Adverse event without outcome after 90 days",
    "An event without an outcome cannot be counted as resolved or ongoing in the safety "
    "report; regulators expect every event followed up to its outcome.",
    "Ask the site for the outcome (recovered, recovering, not recovered, with sequelae, "
    "fatal) and the resolution date, and enter them.",
)
def ae_outcome(data: PatientData, p: dict[str, Any]) -> Iterator[Finding]:
    days = int(p["days_after_onset"])
    missing = set(p.get("missing_outcomes", ["", "unknown"]))
    for ae in data.adverse_events:
        age = (data.on - ae.date).days
        if ae.outcome in missing and ae.resolution_date is None and age > days:
            yield data.finding(
                "ae_outcome",
                ae,
                f"adverse event {ae.term!r} (onset {ae.date.isoformat()}) has no outcome "
                f"{age} days after onset (limit {days} days)",
            )


@rule(
    "gmfcs_jump",
    "Classification jumps more than one GMFCS level",
    "GMFCS levels are stable over time; a jump of two or more levels between consecutive "
    "classifications is usually a typing error and changes the child's expected curve.",
    "Check both classifications against the source; correct the wrong one with a reason, or "
    "note why the level truly changed.",
)
def gmfcs_jump(data: PatientData, p: dict[str, Any]) -> Iterator[Finding]:
    step = int(p["max_step"])
    systems = set(p.get("systems", ["gmfcs"]))
    by_system: dict[str, list[Classification]] = {}
    for c in data.classifications:
        if c.system in systems:
            by_system.setdefault(c.system, []).append(c)
    for system, rows in by_system.items():
        rows.sort(key=lambda c: (c.date, c.pk))
        for prev, cur in pairwise(rows):
            if abs(cur.level - prev.level) > step:
                yield data.finding(
                    "gmfcs_jump",
                    cur,
                    f"{system.upper()} {prev.level} on {prev.date.isoformat()} then "
                    f"{cur.level} on {cur.date.isoformat()}: a change of "
                    f"{abs(cur.level - prev.level)} levels (at most {step} expected)",
                )


@rule(
    "subtype_topography",
    "CP subtype and topography disagree",
    "SCPE defines spastic CP as unilateral (hemiplegia) or bilateral (diplegia, tetraplegia): a "
    "spastic unilateral child recorded with a bilateral distribution (or the reverse) is analysed "
    "in the wrong subgroup and usually means one of the two fields was mistyped.",
    "Check the subtype and the topography against the clinical record and correct the wrong "
    "one with a reason for change.",
)
def subtype_topography(data: PatientData, p: dict[str, Any]) -> Iterator[Finding]:
    child = data.patient
    expected = p["laterality_of_subtype"].get(child.subtype)
    if not expected or not child.topography:
        return
    laterality = Topography(child.topography).laterality
    if laterality != expected:
        yield data.finding(
            "subtype_topography",
            child,
            f"subtype {Subtype(child.subtype).label} is {expected}, but the topography "
            f"{Topography(child.topography).label} is {laterality}",
        )


# --- running them ------------------------------------------------------------------------------


_PREFETCH = (
    "gmfm88assessment_set",
    "gmfm66assessment_set",
    "administration_set",
    "labvalue_set",
    "adverseevent_set",
    "classification_set",
    Prefetch("visits", queryset=FollowUpVisit.objects.order_by("target_date")),
)


def _data(p: Patient, on: date) -> PatientData:
    def rows(name: str) -> list[Any]:
        return sorted(getattr(p, name).all(), key=lambda r: (r.date, r.pk))

    return PatientData(
        patient=p,
        gmfm88=rows("gmfm88assessment_set"),
        gmfm66=rows("gmfm66assessment_set"),
        administrations=rows("administration_set"),
        labs=rows("labvalue_set"),
        adverse_events=rows("adverseevent_set"),
        classifications=rows("classification_set"),
        visits=list(p.visits.all()),
        on=on,
    )


def check_patients(
    patients: QuerySet[Patient], rules: Iterable[str] | None = None, on: date | None = None
) -> list[Finding]:
    """The findings of the rules (all, or the ids given) for the patients, by site, study ID,
    rule and date."""
    day = on or today()
    chosen = [RULES[r] for r in (rules or RULES)]
    out: list[Finding] = []
    qs = patients.select_related("site").prefetch_related(*_PREFETCH).order_by("site__code", "pk")
    for p in qs.iterator(chunk_size=200):
        data = _data(p, day)
        for r in chosen:
            out += r.run(data)
    return out


def check_patient(patient: Patient | int, on: date | None = None) -> list[Finding]:
    """The findings for one patient (after a save)."""
    pk = patient if isinstance(patient, int) else patient.pk
    return check_patients(Patient.objects.filter(pk=pk), on=on)
