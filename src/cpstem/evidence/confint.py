"""Confidence interval for tau^2 (and tau, I^2, H^2) by the Q-profile method.

As metafor's ``confint`` for ``rma.uni`` models (Viechtbauer 2007): the bounds are the tau^2
values at which the generalised Q statistic equals the chi-square quantiles on k - p df,
found with R's ``uniroot`` steps in [0, max(100, 10 tau^2)]; a bound that would lie below 0
is 0 (a "null" interval when both are), one beyond the search range is that end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.roots import zeroin
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd

    from cpstem.evidence.rma import RMAResult

_Triple = tuple[float, float, float]


@dataclass(frozen=True)
class Tau2CI(Result):
    """Estimates with lower and upper bounds: ``tau2``, ``tau``, ``i2``, ``h2`` as triples.

    ``to_frame()``: one row per quantity (index ``tau2, tau, i2, h2``), columns ``estimate,
    ci_lower, ci_upper``.
    """

    level: float
    tau2: _Triple
    tau: _Triple
    i2: _Triple
    h2: _Triple
    null: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity (``tau2, tau, i2, h2``): ``estimate, ci_lower, ci_upper``."""
        names = ("tau2", "tau", "i2", "h2")
        rows = [getattr(self, n) for n in names]
        return frame_of(
            {
                "estimate": [r[0] for r in rows],
                "ci_lower": [r[1] for r in rows],
                "ci_upper": [r[2] for r in rows],
            },
            index=list(names),
        )

    def __str__(self) -> str:
        rows = [f"{'':<8}{'estimate':>10}{'ci.lb':>10}{'ci.ub':>10}"]
        for name, val in (
            ("tau^2", self.tau2),
            ("tau", self.tau),
            ("I^2(%)", self.i2),
            ("H^2", self.h2),
        ):
            rows.append(f"{name:<8}{val[0]:10.4f}{val[1]:10.4f}{val[2]:10.4f}")
        return "\n".join(rows)


def confint_tau2(res: RMAResult, level: float | None = None) -> Tau2CI:
    """Q-profile confidence interval of tau^2 for a random-effects model (``rma`` result)."""
    if res.method == "FE":
        raise EvidenceError(
            "a fixed-effect model has no tau^2 to give an interval for",
            code="not_applicable",
            field="method",
        )
    if res.tau2_fixed:
        raise EvidenceError(
            "tau^2 was fixed, not estimated: no interval", code="not_applicable", field="tau2"
        )
    if res.k < 2:
        raise EvidenceError(
            "an interval for tau^2 needs at least 2 studies",
            code="too_few_studies",
            params={"k": res.k, "needed": 2},
        )
    if not np.all(res.vi > 0):
        raise EvidenceError(
            "the Q-profile interval needs every sampling variance > 0",
            code="nonpositive_variance",
            field="vi",
        )
    alpha = res.alpha if level is None else dist.alpha_from_level(level)
    y, v, X = res.yi, res.vi, res.X
    df = res.k - res.p

    def qe(t: float) -> float:
        w = 1.0 / (v + t)
        wx = X * w[:, None]
        beta = np.linalg.solve(X.T @ wx, wx.T @ y)
        return float(np.sum(w * (y - X @ beta) ** 2))

    lo_t, hi_t = min(0.0, res.tau2), max(100.0, 10 * res.tau2, 0.0)
    crit_u = float(special.chdtri(df, alpha / 2))  # upper alpha/2 quantile
    crit_l = float(special.chdtri(df, 1 - alpha / 2))  # lower alpha/2 quantile
    q_max, q_min = qe(hi_t), qe(lo_t)
    null = False

    def root(target: float) -> float:
        def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return np.array([qe(float(x[0])) - target])

        r, _ = zeroin(
            f,
            np.array([lo_t]),
            np.array([hi_t]),
            np.array([q_min - target]),
            np.array([q_max - target]),
            float(np.finfo(float).eps ** 0.25),
            1000,
        )
        return float(r[0])

    if q_min < crit_l:
        lb = ub = lo_t
        null = lo_t <= 0
    else:
        ub = hi_t if q_max > crit_l else root(crit_l)
    if q_max > crit_u:
        lb = ub = hi_t
    elif q_min < crit_u:
        lb = lo_t
    else:
        lb = root(crit_u)
    vt = res.vt
    t2 = (res.tau2, lb, ub)
    i2 = (res.i2, 100 * lb / (vt + lb), 100 * ub / (vt + ub))
    h2 = (res.h2, lb / vt + 1, ub / vt + 1)
    t2 = (float(t2[0]), float(t2[1]), float(t2[2]))
    i2 = (float(i2[0]), float(i2[1]), float(i2[2]))
    h2 = (float(h2[0]), float(h2[1]), float(h2[2]))
    root_t2 = [float(np.sqrt(x)) if x >= 0 else float("nan") for x in t2]
    tau = (root_t2[0], root_t2[1], root_t2[2])
    lv = res.level if level is None else float(level)
    return Tau2CI(lv, t2, tau, i2, h2, null)
