"""The bundled report's choices about named trials, read from ``evidence/data/bundled_report.toml``.

Which time points are pooled, which trial attributes split the analyses, when trials that publish
only an effect size enter a sensitivity analysis, which arms reconstruct a published
meta-analysis, and the prose about named trials: all of it lives in the data file, each entry
with its ``source``, so the report's code names no trial.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cpstem.evidence.bundled import EvidenceBundle, load_bundle
from cpstem.evidence.errors import EvidenceError

FILE = "bundled_report.toml"
EFFECTS = ("cohen_d",)


@dataclass(frozen=True)
class Subgroup:
    column: str  # a column of trials.csv
    title: str
    source: str


@dataclass(frozen=True)
class Comparison:
    """One trial's cells arm vs control arm at one time point (names as in motor_arms.csv)."""

    trial: str
    timepoint_months: int
    cells_arm: str
    control_arm: str
    label: str
    source: str


@dataclass(frozen=True)
class Reconstruction:
    """A published meta-analysis recomputed from the bundled arms with its stated method."""

    key: str
    review: str  # the ``review`` of a row of published_meta_analyses.csv
    effect: str
    method: str
    level: float
    note: str  # str.format template, see the data file
    comparisons: tuple[Comparison, ...]
    source: str


@dataclass(frozen=True)
class Primary:
    """The primary analysis: a mean difference on the named scales (``motor_arms.csv`` values
    of ``scale``), compared with a published review (``compare_review``)."""

    measure: str
    scales: tuple[str, ...]
    timepoints_months: tuple[int, ...]
    compare_review: str
    note: str
    source: str


@dataclass(frozen=True)
class BundledChoices:
    motor_timepoints_months: tuple[int, ...]
    subgroups: tuple[Subgroup, ...]
    reported_effects_timepoints_months: tuple[int, ...]
    reported_effects_note: str
    safety_sae_note: str
    reconstructions: tuple[Reconstruction, ...]
    primary: Primary
    se_flag: str
    sensitivity_note: str
    summary_template: str

    @property
    def subgroup_columns(self) -> dict[str, str]:
        """Column of trials.csv -> title."""
        return {g.column: g.title for g in self.subgroups}


def _error(message: str, key: str) -> EvidenceError:
    return EvidenceError(
        f"bundled {FILE}: {message}", code="bundled_data", field=key, params={"file": FILE}
    )


def _get(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise _error(f"{where} has no {key!r}", key)
    return table[key]


def _sourced(table: dict[str, Any], where: str) -> dict[str, Any]:
    if not str(table.get("source", "")).strip():
        raise _error(f"{where} has no source", "source")
    return table


def parse_choices(data: dict[str, Any], bundle: EvidenceBundle) -> BundledChoices:
    """Validate the parsed TOML against the bundle (known trials, arms, columns, reviews)."""
    motor = _sourced(_get(data, "motor", "the file"), "[motor]")
    effects = _sourced(_get(data, "reported_effects", "the file"), "[reported_effects]")
    safety = _sourced(_get(data, "safety", "the file"), "[safety]")
    subgroups = []
    for i, g in enumerate(_get(data, "subgroups", "the file")):
        where = f"[[subgroups]] {i + 1}"
        _sourced(g, where)
        column = _get(g, "column", where)
        if column not in bundle.trials.columns:
            raise _error(f"{where}: trials.csv has no column {column!r}", "column")
        subgroups.append(Subgroup(column, _get(g, "title", where), g["source"]))
    reconstructions = [
        _reconstruction(r, f"[[reconstructions]] {i + 1}", bundle)
        for i, r in enumerate(data.get("reconstructions", []))
    ]
    p = _sourced(_get(data, "primary", "the file"), "[primary]")
    review = _get(p, "compare_review", "[primary]")
    if review not in set(bundle.published_meta_analyses["review"]):
        raise _error(f"[primary]: no review {review!r} in published_meta_analyses.csv", "review")
    scales = tuple(_get(p, "scales", "[primary]"))
    unknown = set(scales) - set(bundle.motor_arms["scale"]) - set(bundle.motor_effects["scale"])
    if unknown:
        raise _error(f"[primary]: no arm or effect has the scale(s) {sorted(unknown)}", "scales")
    primary = Primary(
        measure=_get(p, "measure", "[primary]"),
        scales=scales,
        timepoints_months=tuple(int(t) for t in _get(p, "timepoints_months", "[primary]")),
        compare_review=review,
        note=_get(p, "note", "[primary]"),
        source=p["source"],
    )
    sens = _sourced(_get(data, "sensitivity", "the file"), "[sensitivity]")
    summary = _sourced(_get(data, "summary", "the file"), "[summary]")
    return BundledChoices(
        primary=primary,
        se_flag=_get(sens, "se_flag", "[sensitivity]"),
        sensitivity_note=_get(sens, "note", "[sensitivity]"),
        summary_template=_get(summary, "text", "[summary]"),
        motor_timepoints_months=tuple(int(t) for t in _get(motor, "timepoints_months", "[motor]")),
        subgroups=tuple(subgroups),
        reported_effects_timepoints_months=tuple(
            int(t) for t in _get(effects, "timepoints_months", "[reported_effects]")
        ),
        reported_effects_note=_get(effects, "note", "[reported_effects]"),
        safety_sae_note=_get(safety, "sae_note", "[safety]"),
        reconstructions=tuple(reconstructions),
    )


def _reconstruction(r: dict[str, Any], where: str, bundle: EvidenceBundle) -> Reconstruction:
    _sourced(r, where)
    review = _get(r, "review", where)
    if review not in set(bundle.published_meta_analyses["review"]):
        raise _error(f"{where}: no review {review!r} in published_meta_analyses.csv", "review")
    effect = _get(r, "effect", where)
    if effect not in EFFECTS:
        raise _error(f"{where}: effect {effect!r}: allowed {', '.join(EFFECTS)}", "effect")
    arms = bundle.motor_arms
    known = set(zip(arms["trial"], arms["timepoint_months"], arms["arm"], strict=True))
    comparisons = []
    for j, c in enumerate(_get(r, "comparisons", where)):
        cwhere = f"{where}, comparison {j + 1}"
        _sourced(c, cwhere)
        comp = Comparison(
            trial=_get(c, "trial", cwhere),
            timepoint_months=int(_get(c, "timepoint_months", cwhere)),
            cells_arm=_get(c, "cells_arm", cwhere),
            control_arm=_get(c, "control_arm", cwhere),
            label=_get(c, "label", cwhere),
            source=c["source"],
        )
        for arm in (comp.cells_arm, comp.control_arm):
            if (comp.trial, comp.timepoint_months, arm) not in known:
                raise _error(
                    f"{cwhere}: motor_arms.csv has no arm {arm!r} of {comp.trial!r} at "
                    f"{comp.timepoint_months} months",
                    "comparisons",
                )
        comparisons.append(comp)
    return Reconstruction(
        key=_get(r, "key", where),
        review=review,
        effect=effect,
        method=_get(r, "method", where),
        level=float(_get(r, "level", where)),
        note=_get(r, "note", where),
        comparisons=tuple(comparisons),
        source=r["source"],
    )


def read_choices_file() -> dict[str, Any]:
    """The parsed TOML of ``evidence/data/bundled_report.toml``."""
    path = resources.files("cpstem.evidence").joinpath("data").joinpath(FILE)
    with path.open("rb") as fh:
        return tomllib.load(fh)


@cache
def load_choices() -> BundledChoices:
    """The bundled report's choices, validated against the bundled dataset."""
    return parse_choices(read_choices_file(), load_bundle())
