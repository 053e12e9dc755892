"""Two-group comparisons for pooling, built honestly from per-arm data.

Rules: every trial contributes at most one comparison per outcome and time point, so a shared
control arm is never counted twice. Several cells arms that share one control are combined into
one group with the Cochrane Handbook formula (Higgins et al., Cochrane Handbook for Systematic
Reviews of Interventions, version 6.4, section 6.5.2.10, Table 6.5.a). Arms marked ``unused``
are left out with the reason given in the data. Comparisons without a usable mean, SD or n in
either group are not pooled and are listed with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cpstem.evidence.escalc import small_sample_correction
from cpstem.results import Result

#: Columns of a comparison table (one row per trial and time point).
COMPARISON_COLUMNS = (
    "trial",
    "outcome",
    "scale",
    "timepoint_months",
    "cells_arm",
    "control_arm",
    "m1i",
    "sd1i",
    "n1i",
    "m2i",
    "sd2i",
    "n2i",
    "sd_source",
    "note",
)


@dataclass(frozen=True)
class Group(Result):
    """Summary of one group: size, mean and SD of the change."""

    n: float
    mean: float
    sd: float


def combine_groups(groups: list[Group]) -> Group:
    """Combine groups into one (Cochrane Handbook Table 6.5.a, applied pairwise)."""
    total = groups[0]
    for g in groups[1:]:
        n = total.n + g.n
        mean = (total.n * total.mean + g.n * g.mean) / n
        ss = (
            (total.n - 1) * total.sd**2
            + (g.n - 1) * g.sd**2
            + total.n * g.n / n * (total.mean**2 + g.mean**2 - 2 * total.mean * g.mean)
        )
        total = Group(n=n, mean=mean, sd=math.sqrt(ss / (n - 1)))
    return total


def _usable(rows: pd.DataFrame) -> bool:
    return bool(rows[["n", "mean_change", "sd_change"]].notna().all().all())


def arm_comparisons(arms: pd.DataFrame, timepoint_months: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(comparisons, exclusions) at one time point from a per-arm table like ``motor_arms``.

    ``comparisons`` has :data:`COMPARISON_COLUMNS` (group 1 = cells, group 2 = control);
    ``exclusions`` lists ``trial, outcome, timepoint_months, reason``.
    """
    rows, excluded = [], []
    at = arms[arms["timepoint_months"] == timepoint_months]
    for (trial, outcome), trial_arms in at.groupby(["trial", "outcome"], sort=False):
        cells = trial_arms[trial_arms["role"] == "cells"]
        control = trial_arms[trial_arms["role"] == "control"]
        if cells.empty or len(control) != 1:
            excluded.append(
                (
                    trial,
                    outcome,
                    timepoint_months,
                    "needs at least one cells arm and exactly one control arm",
                )
            )
            continue
        if not (_usable(cells) and _usable(control)):
            missing = sorted(
                set(
                    trial_arms.loc[
                        trial_arms[["n", "mean_change", "sd_change"]].isna().any(axis=1),
                        "sd_source",
                    ].fillna("missing")
                )
            )
            excluded.append(
                (
                    trial,
                    outcome,
                    timepoint_months,
                    f"no usable mean/SD/n for every arm ({'; '.join(missing)})",
                )
            )
            continue
        groups = [
            Group(n, mean, sd)
            for n, mean, sd in zip(
                cells["n"].tolist(),
                cells["mean_change"].tolist(),
                cells["sd_change"].tolist(),
                strict=True,
            )
        ]
        g1 = combine_groups(groups)
        c = control.iloc[0]
        notes = [n for n in trial_arms["note"].dropna() if n]
        if len(groups) > 1:
            notes.append(f"{len(groups)} cells arms combined (Cochrane Handbook 6.5.2.10)")
        rows.append(
            {
                "trial": trial,
                "outcome": outcome,
                "scale": c["scale"],
                "timepoint_months": timepoint_months,
                "cells_arm": " + ".join(cells["arm"]),
                "control_arm": c["arm"],
                "m1i": g1.mean,
                "sd1i": g1.sd,
                "n1i": g1.n,
                "m2i": c["mean_change"],
                "sd2i": c["sd_change"],
                "n2i": c["n"],
                "sd_source": "; ".join(sorted(set(trial_arms["sd_source"]))),
                "note": "; ".join(dict.fromkeys(notes)),
            }
        )
    comparisons = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    exclusions = pd.DataFrame(excluded, columns=["trial", "outcome", "timepoint_months", "reason"])
    return comparisons, exclusions


def hedges_g_from_d(d: Any, n1: Any, n2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hedges' g and its large-sample variance from a published Cohen's d and group sizes.

    ``g = c(n1 + n2 - 2) * d`` with the exact correction, and ``v = 1/n1 + 1/n2 + g^2 /
    (2 (n1 + n2))`` - the same formulas as ``effect_sizes("SMD")`` (metafor's ``vtype="LS"``).
    """
    d, n1, n2 = (np.asarray(x, dtype=float) for x in (d, n1, n2))
    g = small_sample_correction(n1 + n2 - 2) * d
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def cohens_d(m1: Any, sd1: Any, n1: Any, m2: Any, sd2: Any, n2: Any) -> tuple[np.ndarray, ...]:
    """Cohen's d (pooled SD, no small-sample correction) and its usual variance
    ``(n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2))`` - the "method of Cohen" of some reviews."""
    m1, sd1, n1, m2, sd2, n2 = (np.asarray(x, dtype=float) for x in (m1, sd1, n1, m2, sd2, n2))
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    d = (m1 - m2) / sdp
    return d, (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))


def md_from_ci(
    estimate: Any, lower: Any, upper: Any, n1: Any, n2: Any, level: float = 95.0
) -> tuple[np.ndarray, np.ndarray]:
    """A published mean difference and its CI as ``(yi, vi)`` for pooling.

    ``SE = (upper - lower) / (2 t)``, ``t`` the ``(1 + level/100)/2`` quantile of the t
    distribution with ``n1 + n2 - 2`` df (Cochrane Handbook 6.5.2.3: the t form for small
    trials, which tends to the 3.92 = 2 x 1.96 of large ones); ``vi = SE^2``. The estimate is
    the published one (a CI that is not centred on it is flagged by
    :func:`cpstem.evidence.sanity.check_differences`, not silently re-centred).
    """
    est, lo, hi, n1, n2 = (np.asarray(x, dtype=float) for x in (estimate, lower, upper, n1, n2))
    t = stats.t.ppf((1 + level / 100) / 2, n1 + n2 - 2)
    se = (hi - lo) / (2 * t)
    return est, se**2


def smd_from_md(md: Any, vi: Any, n1: Any, n2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hedges' g and its variance from a mean difference with sampling variance ``vi``.

    The pooled SD is recovered from the standard error, ``SD = SE / sqrt(1/n1 + 1/n2)``;
    ``d = MD / SD``, then :func:`hedges_g_from_d`. E.g. Amanat 2021: MD 8.07, SE 3.234, 36/36
    gives SD 13.72 and d 0.588.
    """
    md, vi, n1, n2 = (np.asarray(x, dtype=float) for x in (md, vi, n1, n2))
    sd = np.sqrt(vi) / np.sqrt(1 / n1 + 1 / n2)
    return hedges_g_from_d(md / sd, n1, n2)


#: Columns of :func:`comparison_table`.
POOLING_COLUMNS = (
    "trial",
    "timepoint_months",
    "scale",
    "kind",
    "flag",
    "randomised",
    "n1i",
    "n2i",
    "md",
    "vi_md",
    "smd",
    "vi_smd",
    "control_mean",
    "cells_arm",
    "control_arm",
    "note",
)


def comparison_table(
    arms: pd.DataFrame,
    effects: pd.DataFrame,
    randomised: dict[str, bool],
    timepoint_months: int,
    *,
    reread_as_se: str | None = None,
    level: float = 95.0,
) -> pd.DataFrame:
    """Every trial's cells-vs-control comparison at one time point, on two scales.

    One row per trial (:data:`POOLING_COLUMNS`): from per-arm data (``kind = "arms"``,
    :func:`arm_comparisons`; ``md = m1 - m2``, ``vi_md = sd1^2/n1 + sd2^2/n2``, ``smd`` Hedges'
    g as metafor's ``escalc("SMD")``) or from a published mean difference with its CI
    (``kind = "reported MD"``, :func:`md_from_ci` and :func:`smd_from_md`). ``flag`` is the
    trial's ``flag`` (any arm's, for arm data), ``randomised`` from ``randomised`` (trial id ->
    bool). ``reread_as_se``: arms with this flag have their SDs multiplied by sqrt(n) first (the
    sensitivity analysis of SDs that may be SEs).
    """
    from cpstem.evidence.escalc import effect_sizes

    at = arms[arms["timepoint_months"] == timepoint_months].copy()
    if reread_as_se is not None:
        hit = at["flag"] == reread_as_se
        at.loc[hit, "sd_change"] = at.loc[hit, "sd_change"] * np.sqrt(at.loc[hit, "n"])
    comps, _ = arm_comparisons(at, timepoint_months)
    rows = []
    if len(comps):
        es = effect_sizes(
            "SMD",
            m1i=comps["m1i"],
            sd1i=comps["sd1i"],
            n1i=comps["n1i"],
            m2i=comps["m2i"],
            sd2i=comps["sd2i"],
            n2i=comps["n2i"],
        )
        for i, c in enumerate(_tuples(comps)):
            flags = at.loc[at["trial"] == c.trial, "flag"].dropna()
            rows.append(
                {
                    "trial": c.trial,
                    "timepoint_months": timepoint_months,
                    "scale": c.scale,
                    "kind": "arms",
                    "flag": "; ".join(sorted(set(flags))) or None,
                    "randomised": bool(randomised.get(c.trial, False)),
                    "n1i": c.n1i,
                    "n2i": c.n2i,
                    "md": c.m1i - c.m2i,
                    "vi_md": c.sd1i**2 / c.n1i + c.sd2i**2 / c.n2i,
                    "smd": float(es.yi[i]),
                    "vi_smd": float(es.vi[i]),
                    "control_mean": c.m2i,
                    "cells_arm": c.cells_arm,
                    "control_arm": c.control_arm,
                    "note": c.note,
                }
            )
    eff = effects[(effects["timepoint_months"] == timepoint_months) & (effects["effect"] == "md")]
    if len(eff):
        md, vi = md_from_ci(
            eff["value"], eff["ci_lower"], eff["ci_upper"], eff["n_cells"], eff["n_control"], level
        )
        g, vg = smd_from_md(md, vi, eff["n_cells"], eff["n_control"])
        for i, r in enumerate(_tuples(eff)):
            rows.append(
                {
                    "trial": r.trial,
                    "timepoint_months": timepoint_months,
                    "scale": r.scale,
                    "kind": "reported MD",
                    "flag": r.flag if isinstance(r.flag, str) and r.flag else None,
                    "randomised": bool(randomised.get(r.trial, False)),
                    "n1i": float(r.n_cells),
                    "n2i": float(r.n_control),
                    "md": float(md[i]),
                    "vi_md": float(vi[i]),
                    "smd": float(g[i]),
                    "vi_smd": float(vg[i]),
                    "control_mean": np.nan,
                    "cells_arm": "",
                    "control_arm": "",
                    "note": r.note,
                }
            )
    return pd.DataFrame(rows, columns=list(POOLING_COLUMNS))


def _tuples(frame: pd.DataFrame) -> list[Any]:
    """The frame's rows as named tuples (typed loosely: their fields are the columns)."""
    return list(frame.itertuples(index=False))
