"""``spasticity_change``: Modified Ashworth and Tardieu change per muscle group after treatment.

Reads the spasticity table (:data:`cpstem.outcomes.ipd.table.SPASTICITY_COLUMNS`): one row per
child, muscle group, side and assessment.

Per muscle group and target month (each limb's assessment nearest the month inside its window,
the windows of ``data/ipd_analysis.toml``; baseline: the limb's latest assessment at
``months <= 0``). The unit is a limb (child x muscle group x side); both sides of a child count.

* MAS change = follow-up minus baseline on the ordinal coding 0-5 (0, 1, 1+, 2, 3, 4), so one
  step (e.g. 1 -> 1+) is one grade. Improved: change <= -1; unchanged: 0; worse: >= +1; each
  proportion with its exact (Clopper–Pearson) CI.
* Median change and the Wilcoxon signed-rank test of the changes (SciPy ``wilcoxon``,
  ``zero_method="wilcox"``: zero changes are dropped, as in the classical test; exact
  distribution for fewer than 50 non-zero changes without ties, else the normal approximation
  with tie correction). The test treats limbs as independent, which both sides of one child are
  not: read it as descriptive.
* Tardieu dynamic component ``R2 - R1`` (degrees): its change with a Student t CI.
* Treated vs concurrent controls (``comparison``): a proportional-odds model of the follow-up
  MAS grade on group (cells = 1), baseline MAS (ordinal, linear) and muscle-group indicators, all
  muscle groups and sides together, with cluster-robust standard errors by child
  (:mod:`cpstem.outcomes.ipd.ordinal`). The odds ratio is that of a *higher* (more spastic) grade
  for treated children: below 1 favours the cells. Assumptions: proportional odds (one odds ratio
  at every cut point), a linear effect of the baseline grade, no unmeasured confounding — this is
  observational evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from cpstem.formatting import format_p
from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd.conventions import window
from cpstem.outcomes.ipd.excess import mean_ci
from cpstem.outcomes.ipd.ordinal import fit_ordinal
from cpstem.outcomes.ipd.responders import clopper_pearson
from cpstem.outcomes.ipd.results import FrameResult, readonly_frame
from cpstem.outcomes.ipd.table import validate_spasticity_table
from cpstem.outcomes.ipd.treatment import OBSERVATIONAL_WARNING

KEY = ["child", "muscle", "side"]


@dataclass(frozen=True)
class SpasticityChangeResult(FrameResult):
    """``table``: one row per muscle group and month — months, window, muscle, n, improved,
    unchanged, worse (counts), their proportions and exact CIs (``*_lower``/``*_upper``),
    median_change, wilcoxon_statistic, wilcoxon_p, n_tardieu, tardieu_change (mean change of
    R2 - R1, degrees), its t CI (``tardieu_ci_lower``/``_upper``).

    ``comparison``: one row per month — n_limbs, n_children (clusters), odds_ratio (cells vs
    control, a higher MAS grade), ci_lower, ci_upper, log_or, se_robust, se_model, p_value.
    """

    months: tuple[float, ...]
    level: float
    table: pd.DataFrame
    comparison: pd.DataFrame
    warning: str = OBSERVATIONAL_WARNING

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        lines = [f"Modified Ashworth change per muscle group; exact {self.level:.0%} CIs"]
        for _, r in self.table.iterrows():
            lines.append(
                f"  {r['months']:>4g} mo  {r['muscle']:<22} n {r['n']:>4}"
                f"  improved {r['improved_proportion']:.0%}  unchanged"
                f" {r['unchanged_proportion']:.0%}  worse {r['worse_proportion']:.0%}"
                f"  median {r['median_change']:+g}  Wilcoxon p {format_p(r['wilcoxon_p'])}"
            )
        for _, r in self.comparison.iterrows():
            lines.append(
                f"  {r['months']:>4g} mo  cells vs control: OR {r['odds_ratio']:.2f}"
                f" [{r['ci_lower']:.2f}, {r['ci_upper']:.2f}] (cluster-robust by child),"
                f" p {format_p(r['p_value'])}"
            )
        lines.append(self.warning)
        return "\n".join(lines)


def _limbs(data: pd.DataFrame) -> np.ndarray:
    """Each row's limb (child x muscle group x side) as an integer, in the sorted order of
    (child, muscle, side)."""
    return data.groupby(KEY, sort=True, dropna=False).ngroup().to_numpy(np.int64)


def _first_of_each(limb: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Row positions: the first row of each limb in ``order``, sorted by limb."""
    _, first = np.unique(limb[order], return_index=True)
    return order[first]


def _pairs(
    data: pd.DataFrame, months: float, limb: np.ndarray | None = None
) -> tuple[pd.DataFrame, str]:
    """Baseline and follow-up of each limb at ``months`` (columns ``*_0`` and ``*_1``): the
    baseline is the limb's latest assessment at ``months <= 0``, the follow-up its assessment
    nearest ``months`` inside the window (ties: the earlier month, then the first row)."""
    win = window(months)
    limb = _limbs(data) if limb is None else limb
    m = data["months"].to_numpy(float)
    row = np.arange(len(m))
    b = np.flatnonzero(m <= 0)
    # latest: sort by limb, then months descending, then the later row first
    base = _first_of_each(limb[b], np.lexsort((-row[b], -m[b], limb[b])))
    base = b[base]
    f = np.flatnonzero((m > 0) & (m >= win.lower) & (m <= win.upper))
    follow = f[_first_of_each(limb[f], np.lexsort((row[f], m[f], np.abs(m[f] - months), limb[f])))]
    _, fi, bi = np.intersect1d(limb[follow], limb[base], assume_unique=True, return_indices=True)
    follow, base = follow[fi], base[bi]
    cols = ["mas", "tardieu_r1_deg", "tardieu_r2_deg"]
    pairs = data.iloc[follow][[*KEY, "group", *cols]].reset_index(drop=True)
    pairs.columns = [*KEY, "group", *(f"{c}_1" for c in cols)]
    before = data.iloc[base][cols].reset_index(drop=True)
    for c in cols:
        pairs[f"{c}_0"] = before[c].to_numpy()
    pairs = pairs[
        [
            *KEY,
            "group",
            "mas_1",
            "tardieu_r1_deg_1",
            "tardieu_r2_deg_1",
            "mas_0",
            "tardieu_r1_deg_0",
            "tardieu_r2_deg_0",
        ]
    ]
    return pairs[pairs["mas_0"].notna() & pairs["mas_1"].notna()], win.label()


def _wilcoxon(change: np.ndarray) -> tuple[float, float]:
    nonzero = change[change != 0]
    if len(nonzero) == 0:
        return np.nan, 1.0
    res = sps.wilcoxon(nonzero, zero_method="wilcox")
    return float(res.statistic), float(res.pvalue)


def _per_muscle(pairs: pd.DataFrame, months: float, win: str, level: float) -> list[dict]:
    rows = []
    for muscle, part in pairs.groupby("muscle", sort=True, observed=True):
        change = (part["mas_1"] - part["mas_0"]).to_numpy(float)
        n = len(change)
        row: dict[str, object] = {"months": months, "window": win, "muscle": muscle, "n": n}
        for name, k in (
            ("improved", int((change <= -1).sum())),
            ("unchanged", int((change == 0).sum())),
            ("worse", int((change >= 1).sum())),
        ):
            lo, hi = clopper_pearson(k, n, level)
            row.update(
                {
                    name: k,
                    f"{name}_proportion": k / n if n else np.nan,
                    f"{name}_lower": lo,
                    f"{name}_upper": hi,
                }
            )
        stat, p = _wilcoxon(change)
        row.update(
            {
                "median_change": float(np.median(change)) if n else np.nan,
                "wilcoxon_statistic": stat,
                "wilcoxon_p": p,
            }
        )
        dyn = (part["tardieu_r2_deg_1"] - part["tardieu_r1_deg_1"]) - (
            part["tardieu_r2_deg_0"] - part["tardieu_r1_deg_0"]
        )
        dyn_values = dyn.dropna().to_numpy(float)
        mean, _, lo, hi = mean_ci(dyn_values, level)
        row.update(
            {
                "n_tardieu": len(dyn_values),
                "tardieu_change": mean,
                "tardieu_ci_lower": lo,
                "tardieu_ci_upper": hi,
            }
        )
        rows.append(row)
    return rows


def _comparison(pairs: pd.DataFrame, months: float, level: float) -> dict[str, object] | None:
    groups = pairs["group"].astype(str)
    children = pairs.drop_duplicates("child")["group"].astype(str).value_counts()
    if children.get("cells", 0) < 2 or children.get("control", 0) < 2:
        return None  # fewer than two children in a group: no comparison
    if pairs["mas_1"].nunique() < 2:
        return None
    treated = (groups == "cells").to_numpy(float)
    muscles = pd.get_dummies(pairs["muscle"].astype(str), drop_first=True, dtype=float)
    x = np.column_stack([treated, pairs["mas_0"].to_numpy(float), muscles.to_numpy(float)])
    fit = fit_ordinal(pairs["mas_1"].to_numpy(float), x, pairs["child"].to_numpy())
    b = float(fit.beta[0])
    v_robust, v_model = float(fit.cov_robust[0, 0]), float(fit.cov_model[0, 0])
    if not (v_robust > 0 and v_model > 0):  # separation: no finite estimate
        v_robust = v_model = np.nan
    se = float(np.sqrt(v_robust))
    z = float(sps.norm.ppf(0.5 + level / 2))
    return {
        "months": months,
        "n_limbs": fit.n_obs,
        "n_children": fit.n_clusters,
        "log_or": b,
        "se_robust": se,
        "se_model": float(np.sqrt(v_model)),
        "odds_ratio": float(np.exp(b)),
        "ci_lower": float(np.exp(b - z * se)),
        "ci_upper": float(np.exp(b + z * se)),
        "p_value": float(2 * sps.norm.sf(abs(b / se))),
        "converged": fit.converged and np.isfinite(se),
    }


def spasticity_change(
    table: pd.DataFrame,
    months: Sequence[float] = (6, 12),
    *,
    level: float = 0.95,
) -> SpasticityChangeResult:
    """MAS and Tardieu change per muscle group at each of ``months``; treated vs controls.

    See the module documentation for every definition and assumption.
    """
    targets = tuple(float(m) for m in months)
    if not targets:
        raise OutcomeError("months: give at least one month", code="empty", field="months")
    data = validate_spasticity_table(table)
    limb = _limbs(data)
    rows: list[dict] = []
    comparisons = []
    for target in targets:
        pairs, win = _pairs(data, target, limb)
        rows.extend(_per_muscle(pairs, target, win, level))
        comp = _comparison(pairs, target, level)
        if comp is not None:
            comparisons.append(comp)
    comp_columns = [
        "months",
        "n_limbs",
        "n_children",
        "log_or",
        "se_robust",
        "se_model",
        "odds_ratio",
        "ci_lower",
        "ci_upper",
        "p_value",
        "converged",
    ]
    return SpasticityChangeResult(
        months=targets,
        level=level,
        table=readonly_frame(pd.DataFrame(rows)),
        comparison=readonly_frame(pd.DataFrame(comparisons, columns=comp_columns)),
    )
