"""``lab_change``: laboratory markers (e.g. inflammatory cytokines) against their
pre-administration value.

Reads the laboratory table (:data:`cpstem.outcomes.ipd.table.LAB_COLUMNS`). Per analyte and
target month: each child's baseline is its latest sample at ``months <= 0``; its follow-up the
sample nearest the target inside the month's window (``data/ipd_analysis.toml``). Children with
both form the pairs.

**Scale rule** (per analyte, stated in every row's ``scale`` and ``scale_reason``): unless
``scale`` names it, an analyte is analysed on the **log scale** when every value of the analyte
in the table (all samples, all children) is above 0 **and** the sample skewness of the raw
values (adjusted Fisher–Pearson, SciPy ``skew(bias=False)``) is above 1; otherwise on the raw
scale. Concentrations of cytokines are typically right-skewed, which this detects; a per-analyte
``scale={"IL-6": "log"}`` overrides the rule (log needs every value > 0).

**Estimates.** Raw scale: the mean paired difference (follow-up minus baseline) with its Student
t CI and the paired t-test. Log scale: the paired t on the log differences, back-transformed —
``ratio`` = exp(mean log difference) is the geometric mean ratio follow-up / baseline, its CI
exp(t CI), ``percent_change`` = 100 (ratio - 1). Assumptions: paired differences (on the chosen
scale) roughly normal; children independent; no adjustment for time trends without treatment,
so a change here is not a treatment effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from cpstem.formatting import format_p
from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd.conventions import window
from cpstem.outcomes.ipd.results import FrameResult, readonly_frame
from cpstem.outcomes.ipd.table import validate_lab_table

#: skewness of the raw values above which an all-positive analyte is analysed on the log scale
SKEW_THRESHOLD = 1.0
SCALES = ("log", "raw")


@dataclass(frozen=True)
class LabChangeResult(FrameResult):
    """``table``: one row per analyte, month (and group when ``by="group"``): analyte, unit,
    months, window, subgroup, level, scale, scale_reason, skewness, n, baseline_mean,
    followup_mean (geometric means on the log scale), mean_change (raw: difference; log: mean
    log difference), ci_lower / ci_upper (raw: of the difference; log: of the ratio), ratio,
    percent_change (log only), t, p_value."""

    months: tuple[float, ...]
    level: float
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        lines = [f"Laboratory markers against the pre-administration value; {self.level:.0%} CIs"]
        for _, r in self.table.iterrows():
            if r["scale"] == "log":
                effect = (
                    f"ratio {r['ratio']:.3g} [{r['ci_lower']:.3g}, {r['ci_upper']:.3g}]"
                    f" ({r['percent_change']:+.1f} %)"
                )
            else:
                effect = (
                    f"change {r['mean_change']:+.3g} [{r['ci_lower']:.3g}, {r['ci_upper']:.3g}]"
                )
            lines.append(
                f"  {r['analyte']:<12} {r['months']:>4g} mo {r['level']:<8} {r['scale']:<3}"
                f" n {r['n']:>4}  {effect}  p {format_p(r['p_value'])}"
            )
        return "\n".join(lines)


def choose_scale(values: np.ndarray, setting: str | None = None) -> tuple[str, str, float]:
    """(scale, reason, skewness) of one analyte's raw values by the module's rule."""
    values = values[np.isfinite(values)]
    skew = float(sps.skew(values, bias=False)) if len(values) >= 3 else np.nan
    positive = bool(len(values)) and bool(np.all(values > 0))
    if setting is not None:
        if setting not in SCALES:
            raise OutcomeError(
                f"scale {setting!r}: allowed 'log' or 'raw'",
                code="invalid_choice",
                field="scale",
                params={"value": setting},
            )
        if setting == "log" and not positive:
            raise OutcomeError(
                "the log scale needs every value above 0",
                code="out_of_range",
                field="scale",
                params={"value": setting},
            )
        return setting, "set by the caller", skew
    if positive and np.isfinite(skew) and skew > SKEW_THRESHOLD:
        return "log", f"all values > 0 and skewness {skew:.2f} > {SKEW_THRESHOLD:g}", skew
    if not positive:
        return "raw", "not all values > 0", skew
    return "raw", f"skewness {skew:.2f} <= {SKEW_THRESHOLD:g}", skew


def _pairs(data: pd.DataFrame, months: float) -> tuple[pd.DataFrame, str]:
    win = window(months)
    key = ["child", "analyte"]
    m = data["months"]
    ok = data["value"].notna()
    base = data[(m <= 0) & ok].sort_values([*key, "months"], kind="mergesort")
    base = base.drop_duplicates(key, keep="last")
    follow = data[(m > 0) & (m >= win.lower) & (m <= win.upper) & ok].copy()
    follow["_dist"] = (follow["months"] - months).abs()
    follow = follow.sort_values([*key, "_dist", "months"], kind="mergesort")
    follow = follow.drop_duplicates(key, keep="first")
    extra = ["group"] if "group" in data.columns else []
    pairs = follow[[*key, *extra, "value"]].merge(
        base[[*key, "value"]], on=key, suffixes=("_1", "_0"), how="inner"
    )
    return pairs, win.label()


def _row(x0: np.ndarray, x1: np.ndarray, scale: str, level: float) -> dict[str, float]:
    n = len(x0)
    out: dict[str, float] = {"n": n}
    if scale == "log":
        d = np.log(x1) - np.log(x0)
        out["baseline_mean"] = float(np.exp(np.mean(np.log(x0)))) if n else np.nan
        out["followup_mean"] = float(np.exp(np.mean(np.log(x1)))) if n else np.nan
    else:
        d = x1 - x0
        out["baseline_mean"] = float(np.mean(x0)) if n else np.nan
        out["followup_mean"] = float(np.mean(x1)) if n else np.nan
    mean = float(np.mean(d)) if n else np.nan
    if n >= 2:
        se = float(np.std(d, ddof=1)) / np.sqrt(n)
        q = float(sps.t.ppf(0.5 + level / 2, n - 1))
        lo, hi = mean - q * se, mean + q * se
        t = mean / se if se > 0 else np.nan
        p = float(2 * sps.t.sf(abs(t), n - 1)) if np.isfinite(t) else np.nan
    else:
        lo = hi = t = p = np.nan
    out.update({"mean_change": mean, "t": t, "p_value": p})
    if scale == "log":
        out.update(
            {
                "ratio": float(np.exp(mean)),
                "ci_lower": float(np.exp(lo)),
                "ci_upper": float(np.exp(hi)),
                "percent_change": float(100 * (np.exp(mean) - 1)),
            }
        )
    else:
        out.update({"ratio": np.nan, "ci_lower": lo, "ci_upper": hi, "percent_change": np.nan})
    return out


def lab_change(
    table: pd.DataFrame,
    months: Sequence[float] = (6, 12),
    *,
    scale: Mapping[str, str] | None = None,
    by: str | None = None,
    level: float = 0.95,
) -> LabChangeResult:
    """Change of each analyte from its pre-administration value at each of ``months``.

    ``scale``: per-analyte ``"log"`` / ``"raw"`` overriding the rule of the module
    documentation; ``by="group"``: rows per enrolment group after the "all" row.
    """
    if by not in (None, "group"):
        raise OutcomeError(
            f"by {by!r}: allowed None or 'group'",
            code="invalid_choice",
            field="by",
            params={"value": by},
        )
    data = validate_lab_table(table)
    if by == "group" and "group" not in data.columns:
        raise OutcomeError(
            "by='group' needs a 'group' column", code="missing_column", field="group"
        )
    settings = dict(scale or {})
    targets = tuple(float(m) for m in months)
    units = (
        data.dropna(subset=["unit"]).groupby("analyte")["unit"].first().to_dict()
        if "unit" in data.columns
        else {}
    )
    rows: list[dict[str, Any]] = []
    for analyte, part in data.groupby("analyte", sort=True):
        chosen, reason, skew = choose_scale(
            part["value"].to_numpy(float), settings.get(str(analyte))
        )
        for target in targets:
            pairs, win = _pairs(part, target)
            parts: list[tuple[str, str, pd.DataFrame]] = [("all", "all", pairs)]
            if by == "group":
                for lvl in ("control", "cells"):
                    parts.append(("group", lvl, pairs[pairs["group"].astype(str) == lvl]))
            for subgroup, lvl, sub in parts:
                stats = _row(
                    sub["value_0"].to_numpy(float), sub["value_1"].to_numpy(float), chosen, level
                )
                rows.append(
                    {
                        "analyte": analyte,
                        "unit": units.get(analyte, ""),
                        "months": target,
                        "window": win,
                        "subgroup": subgroup,
                        "level": lvl,
                        "scale": chosen,
                        "scale_reason": reason,
                        "skewness": skew,
                        **stats,
                    }
                )
    return LabChangeResult(months=targets, level=level, table=readonly_frame(pd.DataFrame(rows)))
