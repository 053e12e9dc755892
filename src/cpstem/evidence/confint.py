"""Confidence interval for tau^2 (and tau, I^2, H^2) by the Q-profile method.

As metafor's ``confint`` for ``rma.uni`` models (Viechtbauer 2007): the bounds are the tau^2
values at which the generalised Q statistic equals the chi-square quantiles on k - p df,
found with R's ``uniroot`` steps in [0, max(100, 10 tau^2)]; a bound that would lie below 0
is 0 (a "null" interval when both are), one beyond the search range is that end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.roots import zeroin


@dataclass(frozen=True)
class Tau2CI:
    """Estimates with lower and upper bounds: ``tau2``, ``tau``, ``i2``, ``h2`` as triples."""

    level: float
    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    i2: tuple[float, float, float]
    h2: tuple[float, float, float]
    null: bool

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


def confint_tau2(res, level: float | None = None) -> Tau2CI:
    """Q-profile confidence interval of tau^2 for a random-effects model (``rma`` result)."""
    if res.method == "FE":
        raise EvidenceError("a fixed-effect model has no tau^2 to give an interval for")
    if res.tau2_fixed:
        raise EvidenceError("tau^2 was fixed, not estimated: no interval")
    if res.k < 2:
        raise EvidenceError("an interval for tau^2 needs at least 2 studies")
    if not np.all(res.vi > 0):
        raise EvidenceError("the Q-profile interval needs every sampling variance > 0")
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
    tau = tuple(float(np.sqrt(x)) if x >= 0 else float("nan") for x in t2)
    lv = res.level if level is None else float(level)
    return Tau2CI(lv, t2, tau, i2, h2, null)
