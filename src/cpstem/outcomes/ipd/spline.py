"""Restricted cubic splines with Harrell's default knots (Harrell 2015, Regression Modeling
Strategies, 2nd ed., section 2.4.5, table 2.3; ``Hmisc::rcspline.eval`` with ``norm = 2``)."""

from __future__ import annotations

import numpy as np

#: Harrell's knot quantiles by number of knots (RMS table 2.3)
HARRELL_QUANTILES: dict[int, tuple[float, ...]] = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
    6: (0.05, 0.23, 0.41, 0.59, 0.77, 0.95),
    7: (0.025, 0.1833, 0.3417, 0.50, 0.6583, 0.8167, 0.975),
}


def harrell_knots(x: np.ndarray, n_knots: int = 3) -> np.ndarray:
    """Knots at Harrell's quantiles of ``x`` (with fewer than 100 values the outer knots are
    the 5th smallest and 5th largest values, as ``rcspline.eval`` does)."""
    x = np.sort(np.asarray(x, dtype=float))
    knots = np.quantile(x, HARRELL_QUANTILES[n_knots])
    if len(x) < 100 and len(x) >= 10:
        knots[0] = x[4]
        knots[-1] = x[-5]
    return knots


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """The k - 2 nonlinear terms of a restricted cubic spline (``norm = 2`` scaling)."""
    x = np.asarray(x, dtype=float)
    k = len(knots)
    tk, tk1 = knots[-1], knots[-2]
    scale = (tk - knots[0]) ** 2

    def cube(v: np.ndarray) -> np.ndarray:
        return np.maximum(v, 0.0) ** 3

    cols = []
    for j in range(k - 2):
        tj = knots[j]
        term = (
            cube(x - tj)
            - cube(x - tk1) * (tk - tj) / (tk - tk1)
            + cube(x - tk) * (tk1 - tj) / (tk - tk1)
        )
        cols.append(term / scale)
    return np.column_stack(cols) if cols else np.empty((len(x), 0))
