"""``dose_response``: excess GMFM-66 change vs log10 cell dose per kg (linear and spline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd.results import FrameResult, readonly_frame
from cpstem.outcomes.ipd.spline import harrell_knots, rcs_basis
from cpstem.outcomes.ipd.table import validate_table
from cpstem.outcomes.ipd.visits import visit_at

#: fewest children for a linear fit / for a spline fit (per knot beyond the linear term)
MIN_LINEAR = 5
MIN_PER_SPLINE_PARAMETER = 5


@dataclass(frozen=True)
class DoseResponseResult(FrameResult):
    """Excess change vs log10 dose, per product and for all treated children.

    ``slopes``: product, n, slope (per log10 cells/kg), se, ci_lower, ci_upper, p_value (OLS).
    ``curves``: product, model (``linear``/``spline``), log10_dose, fit, ci_lower, ci_upper on
    a grid. ``nonlinearity``: product, n_knots, knots, F, df, p_value (spline terms jointly 0).
    Products with too few children have a ``note`` in ``slopes`` instead of numbers.
    """

    months: float
    method: str
    window: str
    level: float
    slopes: pd.DataFrame
    curves: pd.DataFrame
    nonlinearity: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.slopes.copy()


def _fit(
    x: np.ndarray, y: np.ndarray, grid: np.ndarray, n_knots: int, level: float
) -> tuple[dict[str, float], list[dict[str, float | str]], dict[str, object] | None]:
    z = float(sps.t.ppf(0.5 + level / 2, max(len(y) - 2, 1)))
    xl = sm.add_constant(x, has_constant="add")
    lin = sm.OLS(y, xl).fit()
    slope = {
        "slope": float(lin.params[1]),
        "se": float(lin.bse[1]),
        "ci_lower": float(lin.params[1] - z * lin.bse[1]),
        "ci_upper": float(lin.params[1] + z * lin.bse[1]),
        "p_value": float(lin.pvalues[1]),
    }
    curves: list[dict[str, float | str]] = []
    pred = lin.get_prediction(sm.add_constant(grid, has_constant="add")).summary_frame(
        alpha=1 - level
    )
    for g, (_, r) in zip(grid, pred.iterrows(), strict=True):
        curves.append(
            {
                "model": "linear",
                "log10_dose": g,
                "fit": r["mean"],
                "ci_lower": r["mean_ci_lower"],
                "ci_upper": r["mean_ci_upper"],
            }
        )
    nonlin = None
    if len(y) >= MIN_PER_SPLINE_PARAMETER * n_knots and len(np.unique(x)) > n_knots:
        knots = harrell_knots(x, n_knots)
        if np.all(np.diff(knots) > 0):
            xs = np.column_stack([xl, rcs_basis(x, knots)])
            spl = sm.OLS(y, xs).fit()
            gs = np.column_stack(
                [sm.add_constant(grid, has_constant="add"), rcs_basis(grid, knots)]
            )
            pred = spl.get_prediction(gs).summary_frame(alpha=1 - level)
            for g, (_, r) in zip(grid, pred.iterrows(), strict=True):
                curves.append(
                    {
                        "model": "spline",
                        "log10_dose": g,
                        "fit": r["mean"],
                        "ci_lower": r["mean_ci_lower"],
                        "ci_upper": r["mean_ci_upper"],
                    }
                )
            restriction = np.zeros((n_knots - 2, xs.shape[1]))
            restriction[:, 2:] = np.eye(n_knots - 2)
            test = spl.f_test(restriction)
            nonlin = {
                "n_knots": n_knots,
                "knots": [float(k) for k in knots],
                "F": float(np.squeeze(test.fvalue)),
                "df_num": int(test.df_num),
                "df_denom": float(test.df_denom),
                "p_value": float(test.pvalue),
            }
    return slope, curves, nonlin


def dose_response(
    table: pd.DataFrame,
    months: float = 12,
    method: Literal["anchored", "population"] = "anchored",
    *,
    n_knots: int = 3,
    level: float = 0.95,
    grid_size: int = 50,
) -> DoseResponseResult:
    """Excess change (``excess_<method>``) at the visit nearest ``months`` vs log10 of
    ``dose_cells_per_kg``, treated children only: OLS line and a restricted cubic spline with
    ``n_knots`` knots at Harrell's quantiles, for all treated children and per product."""
    if method not in ("anchored", "population"):
        raise OutcomeError(
            f"method {method!r}: allowed 'anchored' or 'population'",
            code="invalid_choice",
            field="method",
            params={"value": method},
        )
    if n_knots not in (3, 4, 5, 6, 7):
        raise OutcomeError(
            f"n_knots {n_knots}: allowed 3 to 7",
            code="out_of_range",
            field="n_knots",
            params={"value": n_knots},
        )
    column = f"excess_{method}"
    data = validate_table(
        table, ["child", "group", "product", "months", "dose_cells_per_kg", column]
    )
    rows, win = visit_at(data, months)
    rows = rows[(rows["group"] == "cells") & (rows["dose_cells_per_kg"] > 0)]
    rows = rows.dropna(subset=[column]).assign(_x=lambda f: np.log10(f["dose_cells_per_kg"]))
    if rows.empty:
        raise OutcomeError(
            f"no treated child with a dose and an excess change at {win.label()}",
            code="no_data",
            field="dose_cells_per_kg",
            params={"months": months},
        )
    slopes, curves, nonlin = [], [], []
    parts = [("all", rows)] + [
        (str(p), rows[rows["product"] == p])
        for p in sorted(rows["product"].dropna().unique())
        if p != ""
    ]
    for product, part in parts:
        x = part["_x"].to_numpy(float)
        y = part[column].to_numpy(float)
        if len(y) < MIN_LINEAR or np.ptp(x) == 0:
            slopes.append({"product": product, "n": len(y), "note": "too few children or doses"})
            continue
        grid = np.linspace(x.min(), x.max(), grid_size)
        slope, curve, nl = _fit(x, y, grid, n_knots, level)
        slopes.append({"product": product, "n": len(y), **slope, "note": ""})
        curves += [{"product": product, **c} for c in curve]
        if nl is not None:
            nonlin.append({"product": product, **nl})
    return DoseResponseResult(
        months=float(months),
        method=method,
        window=win.label(),
        level=level,
        slopes=readonly_frame(pd.DataFrame(slopes)),
        curves=readonly_frame(pd.DataFrame(curves)),
        nonlinearity=readonly_frame(pd.DataFrame(nonlin)),
    )
