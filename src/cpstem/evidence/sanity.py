"""Extraction sanity checks: rows of a meta-analysis input that are probably mis-extracted.

Pure functions on plain tables; each returns a list of :class:`SanityWarning` naming the row
(``row``: e.g. ``"motor_arms.csv huang2018 12 mo UCB-MSC"`` or ``"mine.csv line 4 (Huang)"``),
the column (``field``) and a ``code``:

* ``sd_like_se`` - an SD that looks like a standard error: Cohen's d implausibly large but
  plausible if the SDs were SEs (``SD = SE x sqrt(n)``), or an SD far below the other rows'
  that becomes comparable once multiplied by ``sqrt(n)``;
* ``effect_implausibly_large`` - Cohen's d above the screening threshold;
* ``sd_small_for_change`` - SD / |mean| of a change score below the threshold;
* ``change_exceeds_scale`` - a mean change larger than the scale's whole range;
* ``change_large_for_scale`` - a mean change larger than a fraction of the scale's range;
* ``arms_exceed_randomised`` / ``arms_below_randomised`` - arm sizes (or event denominators)
  that add up to more, or fewer, than the trial's ``n_randomised``;
* ``ci_not_centred`` - a CI not centred on its estimate by more than the rounding of the
  printed digits allows (``|upper + lower - 2 estimate| > 2 x 10^-decimals``).

Thresholds live in ``data/sanity.toml`` with their reasons. The checks warn; they never change
or drop a row (the bundled data flag such rows in their ``flag`` column, see ``checks.csv``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from cpstem.datafiles import toml_data
from cpstem.results import Result

__all__ = [
    "SanityWarning",
    "check_arm_totals",
    "check_bundle",
    "check_change_arms",
    "check_ci_centred",
    "check_two_group",
    "thresholds",
]


@dataclass(frozen=True)
class SanityWarning(Result):
    """One suspicious value: ``code`` (see the module), the ``row`` and ``field`` it concerns,
    a ``message`` for a reviewer and the numbers behind it in ``params``."""

    code: str
    row: str
    field: str
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        return f"{self.row}, {self.field}: {self.message} ({self.code})"


@cache
def thresholds() -> dict[str, Any]:
    """The parsed ``data/sanity.toml``."""
    return toml_data("cpstem.evidence", "data/sanity.toml")


def _decimals(x: float) -> int:
    text = repr(float(x))
    if "e" in text or "." not in text:
        return 0
    return len(text.split(".")[1].rstrip("0"))


def _cohen_d(m1: float, sd1: float, n1: float, m2: float, sd2: float, n2: float) -> float:
    sdp = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    return (m1 - m2) / sdp if sdp > 0 else math.inf


def check_two_group(
    row: str, m1: float, sd1: float, n1: float, m2: float, sd2: float, n2: float
) -> list[SanityWarning]:
    """A two-group row (means, SDs, sizes): an implausibly large d, or SDs that look like SEs.

    Huang 2018 at 12 months (10.27 +/- 2.96 vs 4.75 +/- 1.45, 27/27): d = 2.37; read as SEs
    (SD = SE x sqrt(27)) d = 0.46, so the warning is ``sd_like_se``.
    """
    t = thresholds()["effect"]
    if min(n1, n2) < t["min_n"] or not (sd1 > 0 and sd2 > 0):
        return []
    d = _cohen_d(m1, sd1, n1, m2, sd2, n2)
    if abs(d) <= t["d_implausible"]:
        return []
    d_se = _cohen_d(m1, sd1 * math.sqrt(n1), n1, m2, sd2 * math.sqrt(n2), n2)
    params = {"d": d, "d_if_se": d_se, "threshold": t["d_implausible"]}
    if abs(d_se) <= t["d_implausible"]:
        return [
            SanityWarning(
                "sd_like_se",
                row,
                "sd1i, sd2i",
                f"Cohen's d {d:.2f} is implausibly large (> {t['d_implausible']:g}); if the SDs "
                f"were standard errors (SD = SE x sqrt(n)) d would be {d_se:.2f}",
                params,
            )
        ]
    return [
        SanityWarning(
            "effect_implausibly_large",
            row,
            "m1i, m2i",
            f"Cohen's d {d:.2f} is implausibly large (> {t['d_implausible']:g}); check the "
            "means, the SDs and the unit",
            params,
        )
    ]


def check_spread(rows: list[str], sds: Any, ns: Any) -> list[SanityWarning]:
    """SDs far below the median SD of the other rows that fit once multiplied by sqrt(n)."""
    sds, ns = np.asarray(sds, dtype=float), np.asarray(ns, dtype=float)
    ratio = thresholds()["spread"]["ratio"]
    out = []
    for i, (sd, n) in enumerate(zip(sds, ns, strict=True)):
        others = np.delete(sds, i)
        others = others[np.isfinite(others)]
        if len(others) < 2 or not (np.isfinite(sd) and sd > 0 and n > 1):
            continue
        med = float(np.median(others))
        if sd * ratio < med and abs(math.log(sd * math.sqrt(n) / med)) < math.log(ratio):
            out.append(
                SanityWarning(
                    "sd_like_se",
                    rows[i],
                    "sd",
                    f"SD {sd:g} is less than 1/{ratio:g} of the other rows' median SD "
                    f"{med:.3g}; as an SE it would be SD {sd * math.sqrt(n):.3g}",
                    {"sd": sd, "median_sd": med, "sd_if_se": sd * math.sqrt(n)},
                )
            )
    return out


def _scale_range(scale: str) -> tuple[float, str] | None:
    best = None
    for s in thresholds()["scales"]:
        if str(scale).startswith(s["prefix"]) and (best is None or len(s["prefix"]) > len(best)):
            best = s["prefix"]
            found = (float(s["range"]), s["source"])
    return found if best is not None else None


def check_change_arms(
    rows: list[str], scales: Any, means: Any, sds: Any, ns: Any
) -> list[SanityWarning]:
    """Per-arm change scores: larger than the scale allows, or an SD small for a change."""
    out: list[SanityWarning] = []
    cv_t = thresholds()["change_sd"]
    frac = thresholds()["change"]["max_fraction"]
    for row, scale, m, sd, n in zip(rows, scales, means, sds, ns, strict=True):
        if m is None or not np.isfinite(m):
            continue
        rng = _scale_range(scale)
        if rng is not None:
            if abs(m) > rng[0]:
                out.append(
                    SanityWarning(
                        "change_exceeds_scale",
                        row,
                        "mean_change",
                        f"a change of {m:g} exceeds the whole range ({rng[0]:g}) of {scale}",
                        {"mean_change": m, "range": rng[0]},
                    )
                )
            elif abs(m) > frac * rng[0]:
                out.append(
                    SanityWarning(
                        "change_large_for_scale",
                        row,
                        "mean_change",
                        f"a change of {m:g} is more than {frac:.0%} of the range ({rng[0]:g}) "
                        f"of {scale}: follow-up values or another unit?",
                        {"mean_change": m, "range": rng[0], "max_fraction": frac},
                    )
                )
        if (
            sd is not None
            and np.isfinite(sd)
            and n is not None
            and np.isfinite(n)
            and n >= cv_t["min_n"]
            and m != 0
            and sd / abs(m) < cv_t["cv_min"]
        ):
            out.append(
                SanityWarning(
                    "sd_small_for_change",
                    row,
                    "sd_change",
                    f"SD/mean {sd / abs(m):.2f} (SD {sd:g}, mean {m:g}) is below "
                    f"{cv_t['cv_min']:g}, unusually small for a change score: an SE?",
                    {"cv": sd / abs(m), "threshold": cv_t["cv_min"]},
                )
            )
    return out


def check_ci_centred(
    row: str, estimate: float, lower: float, upper: float, log_scale: bool = False
) -> list[SanityWarning]:
    """A CI that is not centred on its estimate beyond rounding of the printed digits.

    Zarrabi 2022: 7.10 (2.08 to 12.76): ``12.76 + 2.08 - 14.20 = 0.64 > 2 x 0.01``. On a log
    scale (ratios) the check is done on the logarithms with a 1 % relative tolerance.
    """
    if not all(np.isfinite([estimate, lower, upper])):
        return []
    if log_scale:
        if min(estimate, lower, upper) <= 0:
            return []
        e, lo, hi = (math.log(x) for x in (estimate, lower, upper))
        tol = 0.01 * max(hi - lo, 1e-12) + 2 * 10.0 ** -max(
            map(_decimals, (estimate, lower, upper))
        )
    else:
        e, lo, hi = estimate, lower, upper
        tol = 2 * 10.0 ** -max(map(_decimals, (estimate, lower, upper)))
    off = hi + lo - 2 * e
    if abs(off) <= tol + 1e-12:
        return []
    return [
        SanityWarning(
            "ci_not_centred",
            row,
            "ci_lower, ci_upper",
            f"the CI {lower:g} to {upper:g} is not centred on {estimate:g} "
            f"(distances {e - lo:.3g} and {hi - e:.3g}); check the numbers",
            {"estimate": estimate, "lower": lower, "upper": upper, "asymmetry": off},
        )
    ]


def check_arm_totals(row: str, arm_ns: Any, n_randomised: float | None) -> list[SanityWarning]:
    """Arm sizes that do not add up to the number randomised."""
    ns = [float(n) for n in arm_ns if n is not None and np.isfinite(n)]
    if not ns or n_randomised is None or not np.isfinite(n_randomised):
        return []
    total = sum(ns)
    if total == n_randomised:
        return []
    code = "arms_exceed_randomised" if total > n_randomised else "arms_below_randomised"
    what = "more" if total > n_randomised else "fewer (attrition or exclusions?)"
    return [
        SanityWarning(
            code,
            row,
            "n",
            f"arm sizes {' + '.join(f'{n:g}' for n in ns)} = {total:g}: {what} than the "
            f"{n_randomised:g} randomised",
            {"arms": ns, "total": total, "n_randomised": n_randomised},
        )
    ]


def check_bundle(bundle: Any) -> list[SanityWarning]:
    """Every check on the bundled dataset (:class:`~cpstem.evidence.bundled.EvidenceBundle`)."""
    out: list[SanityWarning] = []
    nrand = bundle.trials.set_index("trial")["n_randomised"]
    arms = bundle.motor_arms

    def label(r: pd.Series) -> str:
        return f"motor_arms.csv {r['trial']} {r['timepoint_months']:g} mo {r['arm']}"

    out += check_change_arms(
        [label(r) for _, r in arms.iterrows()],
        arms["scale"],
        arms["mean_change"],
        arms["sd_change"],
        arms["n"],
    )
    for (trial, months), g in arms.groupby(["trial", "timepoint_months"], sort=False):
        where = f"motor_arms.csv {trial} {months:g} mo"
        out += check_arm_totals(where, g["n"].tolist(), nrand.get(trial))
        cells, control = g[g["role"] == "cells"], g[g["role"] == "control"]
        if len(control) == 1:
            c = control.iloc[0]
            for _, a in cells.iterrows():
                out += check_two_group(
                    f"{where} {a['arm']} vs {c['arm']}",
                    a["mean_change"],
                    a["sd_change"],
                    a["n"],
                    c["mean_change"],
                    c["sd_change"],
                    c["n"],
                )
        for _, a in g[g["ci_lower"].notna()].iterrows():
            out += check_ci_centred(label(a), a["mean_change"], a["ci_lower"], a["ci_upper"])
    for _, r in bundle.motor_effects.iterrows():
        where = f"motor_effects.csv {r['trial']} {r['timepoint_months']:g} mo"
        out += check_ci_centred(where, r["value"], r["ci_lower"], r["ci_upper"])
        out += check_arm_totals(where, [r["n_cells"], r["n_control"]], nrand.get(r["trial"]))
    for _, r in bundle.safety[bundle.safety["n_control"].notna()].iterrows():
        if r["event"] == "serious adverse event":
            out += check_arm_totals(
                f"safety.csv {r['trial']} {r['event']}",
                [r["n_cells"], r["n_control"]],
                nrand.get(r["trial"]),
            )
    for _, r in bundle.published_meta_analyses.iterrows():
        ratio = str(r["measure"]).startswith(("OR", "RR", "HR"))
        out += check_ci_centred(
            f"published_meta_analyses.csv {r['review']} {r['year']} {r['outcome']}",
            r["estimate"],
            r["ci_lower"],
            r["ci_upper"],
            log_scale=ratio,
        )
    return out


def check_study_table(table: Any) -> list[SanityWarning]:
    """The checks that apply to a user's study table
    (:class:`~cpstem.reports.evidence_input.StudyTable`): two-group means and SDs."""
    cols = dict(table.columns)
    need = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    if not all(c in cols for c in need):
        return []
    lines = table.lines or list(range(2, table.k + 2))
    rows = [f"{table.source} line {ln} ({s})" for ln, s in zip(lines, table.studies, strict=True)]
    out: list[SanityWarning] = []
    for i, row in enumerate(rows):
        out += check_two_group(row, *(float(cols[c][i]) for c in need))
    sds = np.concatenate([cols["sd1i"], cols["sd2i"]])
    ns = np.concatenate([cols["n1i"], cols["n2i"]])
    arm_rows = [f"{r}, group 1" for r in rows] + [f"{r}, group 2" for r in rows]
    out += check_spread(arm_rows, sds, ns)
    return out
