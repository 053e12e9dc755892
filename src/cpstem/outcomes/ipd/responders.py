"""``responders``: children whose GMFM-66 change exceeds measurement error or the MCID."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from cpstem.outcomes.catalog import data
from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd.results import FrameResult, readonly_frame
from cpstem.outcomes.ipd.table import validate_table
from cpstem.outcomes.ipd.visits import (
    baseline_rows,
    groups_of,
    normalise_by,
    visit_at,
    with_subgroups,
)

#: the normal quantile of a two-sided 95 % reliable-change criterion
RELIABLE_Z = 1.959963984540054


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for k successes in n trials."""
    if n == 0:
        return np.nan, np.nan
    alpha = 1 - level
    lo = 0.0 if k == 0 else float(sps.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def bundled_mcid() -> dict[int, float]:
    """Verified GMFM-66 MCIDs by GMFCS level from ``data/mcid.toml`` (may be empty)."""
    out: dict[int, float] = {}
    for row in data("mcid").get("mcid", []):
        if row.get("measure") == "GMFM-66" and row.get("verified") == "yes" and "value" in row:
            for level in row["gmfcs"]:
                out[int(level)] = float(row["value"])
    return out


@dataclass(frozen=True)
class RespondersResult(FrameResult):
    """Proportions of responders per subgroup and criterion with exact CIs.

    ``table``: subgroup, level, criterion (``improved_beyond_error``, ``worse_beyond_error``,
    ``beyond_mcid``), n, responders, proportion, ci_lower, ci_upper. ``mcid_source`` says where
    the MCID came from (``None``: no MCID available, those rows are absent).
    """

    months: float
    window: str
    level: float
    mcid: dict[int, float] | float | None
    mcid_source: str | None
    n_baseline_se_assumed: int
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        lines = [f"GMFM-66 responders at {self.window}; exact {self.level:.0%} CIs"]
        if self.mcid_source is None:
            lines.append("  (no verified MCID bundled and none given: MCID rows omitted)")
        for _, r in self.table.iterrows():
            lines.append(
                f"  {r['subgroup']:<10} {r['level']:<12} {r['criterion']:<24}"
                f" {r['responders']:>4}/{r['n']:<4} {r['proportion']:.1%}"
                f" [{r['ci_lower']:.1%}, {r['ci_upper']:.1%}]"
            )
        return "\n".join(lines)


def _mcid_per_row(
    gmfcs: pd.Series, threshold: float | Mapping[int, float] | None
) -> tuple[pd.Series | None, dict[int, float] | float | None, str | None]:
    if threshold is None:
        bundled = bundled_mcid()
        if not bundled:
            return None, None, None
        return gmfcs.map(bundled), bundled, "data/mcid.toml"
    if isinstance(threshold, Mapping):
        values = {int(k): float(v) for k, v in threshold.items()}
        return gmfcs.map(values), values, "user"
    value = float(threshold)
    if not np.isfinite(value) or value <= 0:
        raise OutcomeError(
            f"threshold {threshold}: the MCID must be a number above 0",
            code="out_of_range",
            field="threshold",
            params={"value": threshold},
        )
    return pd.Series(value, index=gmfcs.index), value, "user"


def responders(
    table: pd.DataFrame,
    months: float = 12,
    threshold: float | Mapping[int, float] | None = None,
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> RespondersResult:
    """Proportion of children whose GMFM-66 change at ``months`` is beyond measurement error
    and beyond the MCID, with Clopper–Pearson CIs.

    Change = GMFM-66 at the visit nearest ``months`` (in its window) minus ``gmfm66_baseline``.
    Its SE is sqrt(SE_baseline^2 + SE_followup^2) from ``gmfm66_se`` (the baseline row's SE; if a
    child has no baseline row its follow-up SE stands in, counted in ``n_baseline_se_assumed``).
    Improved beyond error: change > 1.96 SE; worse: change < -1.96 SE. Beyond MCID: change >=
    the MCID (``threshold``: a number, or GMFCS level -> number; ``None``: the verified values of
    ``data/mcid.toml``, which currently has none, so the MCID rows are then omitted).
    """
    names = normalise_by(by)
    needed = ["child", "months", "gmfm66", "gmfm66_se", "gmfm66_baseline", "gmfcs"]
    needed += [n for n in names if n not in ("age_band", "dose_group", "gmfcs")]
    if "age_band" in names:
        needed.append("age_baseline_years")
    if "dose_group" in names:
        needed.append("dose_cells_per_kg")
    data_ = validate_table(table, needed)
    rows, win = visit_at(data_, months)
    rows = rows[rows["gmfm66"].notna() & rows["gmfm66_baseline"].notna()]
    rows = rows[rows["gmfm66_se"].notna()]
    base = baseline_rows(data_)[["child", "gmfm66_se"]].rename(columns={"gmfm66_se": "_se0"})
    rows = rows.merge(base, on="child", how="left")
    assumed = int(rows["_se0"].isna().sum())
    se0 = rows["_se0"].fillna(rows["gmfm66_se"])
    change = rows["gmfm66"] - rows["gmfm66_baseline"]
    se_change = np.sqrt(se0**2 + rows["gmfm66_se"] ** 2)
    rows = with_subgroups(rows)
    rows["_up"] = change > RELIABLE_Z * se_change
    rows["_down"] = change < -RELIABLE_Z * se_change
    mcid_rows, mcid, source = _mcid_per_row(rows["gmfcs"], threshold)
    criteria = [("improved_beyond_error", "_up"), ("worse_beyond_error", "_down")]
    if mcid_rows is not None:
        rows["_mcid_known"] = mcid_rows.notna()
        rows["_mcid"] = change >= mcid_rows
        criteria.append(("beyond_mcid", "_mcid"))
    out = []
    for subgroup, lvl, part in groups_of(rows, names):
        for criterion, col in criteria:
            use = part[part["_mcid_known"]] if col == "_mcid" else part
            n = len(use)
            k = int(use[col].sum())
            lo, hi = clopper_pearson(k, n, level)
            out.append(
                {
                    "subgroup": subgroup,
                    "level": lvl,
                    "criterion": criterion,
                    "n": n,
                    "responders": k,
                    "proportion": k / n if n else np.nan,
                    "ci_lower": lo,
                    "ci_upper": hi,
                }
            )
    return RespondersResult(
        months=float(months),
        window=win.label(),
        level=level,
        mcid=mcid,
        mcid_source=source,
        n_baseline_se_assumed=assumed,
        table=readonly_frame(pd.DataFrame(out)),
    )
