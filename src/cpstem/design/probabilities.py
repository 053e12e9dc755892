"""Crossing probabilities of a group-sequential z-statistic by recursive numerical integration.

Armitage, McPherson & Rowe (1969); Jennison & Turnbull (2000, ch. 19). The statistic
``Z_k`` at information fraction ``t_k`` has the canonical joint distribution (independent
increments, ``cov(Z_j, Z_k) = √(t_j/t_k)``). The density of ``Z_k`` on the continuation
region of stage ``k`` is carried forward on a grid, and the probability of crossing each
boundary at the next stage is integrated against it.

The grid and quadrature are rpact 3.3.4's (``src/f_design_group_sequential.cpp``), so that
numbers agree with rpact to rounding: on each continuation interval an equidistant grid of
``M = 6·15 + 1 = 91`` points with the composite closed 7-point Newton–Cotes rule (weights
41, 216, 27, 272, 27, 216, 41 × dx/140), boundaries clamped to ``[−6, 8]`` (one interval)
or ``[−8, 8]`` (two intervals, two-sided designs).

A *decision matrix* has 2 rows (lower, upper: continuation is ``lower < Z < upper``) or 4
rows (``b0 < Z < b1`` or ``b2 < Z < b3``), one column per stage. The result has one more row:
rows ``0..r−1`` hold ``P(reach stage k, Z_k < b_r)`` and the last row ``P(reach stage k)``,
exactly as rpact's ``getGroupSequentialProbabilities``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

UPPER_DEFAULT = 8.0
FUTILITY_DEFAULT = -6.0
NEWTON_COTES_PANELS = 15
GRID_POINTS = 6 * NEWTON_COTES_PANELS + 1
_SQRT_2PI_INV = 0.3989422804014327
_WEIGHTS_UNIT = np.concatenate(
    [
        [246.0],
        np.tile(np.array([492.0, 1296.0, 162.0, 1632.0, 162.0, 1296.0]), NEWTON_COTES_PANELS)[1:],
        [246.0],
    ]
)


def _dnorm(x: np.ndarray) -> np.ndarray:
    return _SQRT_2PI_INV * np.exp(-0.5 * x * x)


def _grid(lower: float, upper: float) -> tuple[np.ndarray, np.ndarray]:
    dx = (upper - lower) / (GRID_POINTS - 1)
    x = lower + np.arange(GRID_POINTS) * dx
    return x, _WEIGHTS_UNIT * (dx / 840.0)


def _step(
    x: np.ndarray,
    k: int,
    info: np.ndarray,
    eps: np.ndarray,
    x_prev: np.ndarray,
    dn_prev: np.ndarray,
) -> np.ndarray:
    """Density of ``Z_{k-1}`` (1-based stage ``k − 1``) on grid ``x`` (rpact getDensityValues)."""
    if k == 2:
        return _dnorm(x)
    t1 = info[k - 2]
    t0 = info[k - 3]
    e1 = eps[k - 2]
    arg = (x[:, None] * np.sqrt(t1) - x_prev[None, :] * np.sqrt(t0)) / np.sqrt(e1)
    return np.sqrt(t1 / e1) * (_dnorm(arg) @ dn_prev)


def _seq(
    row: float, k: int, dn: np.ndarray, x: np.ndarray, info: np.ndarray, eps: np.ndarray
) -> float:
    z = (row * np.sqrt(info[k - 1]) - x * np.sqrt(info[k - 2])) / np.sqrt(eps[k - 1])
    return float(ndtr(z) @ dn)


def _increments(info: np.ndarray) -> np.ndarray:
    return np.diff(info, prepend=0.0)


def probabilities(decision: np.ndarray, info: np.ndarray) -> np.ndarray:
    """rpact's ``getGroupSequentialProbabilities(decisionMatrix, informationRates)``."""
    dm = np.array(decision, dtype=float, copy=True)
    info = np.asarray(info, dtype=float)
    rows, kmax = dm.shape
    dm[dm >= UPPER_DEFAULT] = UPPER_DEFAULT
    probs = np.zeros((rows + 1, kmax))
    probs[:rows, 0] = ndtr(dm[:, 0])
    probs[rows, 0] = 1.0
    if kmax <= 1:
        return probs
    eps = _increments(info)
    if rows == 2:
        dm[dm <= FUTILITY_DEFAULT] = FUTILITY_DEFAULT
    else:
        dm[dm <= -UPPER_DEFAULT] = -UPPER_DEFAULT
    x_prev = np.zeros(0)
    dn_prev = np.zeros(0)
    for k in range(2, kmax + 1):
        col = dm[:, k - 2]
        if rows == 2:
            x, w = _grid(col[0], col[1])
        else:
            x0, w0 = _grid(col[0], col[1])
            x1, w1 = _grid(col[2], col[3])
            x, w = np.concatenate([x0, x1]), np.concatenate([w0, w1])
        dn = w * _step(x, k, info, eps, x_prev, dn_prev)
        for r in range(rows):
            probs[r, k - 1] = _seq(dm[r, k - 1], k, dn, x, info, eps)
        prev = probs[:, k - 2]
        if rows == 2:
            probs[2, k - 1] = prev[1] - prev[0]
        else:
            probs[4, k - 1] = prev[3] - prev[2] + prev[1] - prev[0]
        x_prev, dn_prev = x, dn
    return probs


def lower_crossing(decision: np.ndarray, info: np.ndarray) -> np.ndarray:
    """``P(reach k, Z_k < b0_k)`` per stage: rpact's ``getGroupSequentialProbabilitiesFast``.

    Used for beta spending; it clamps only values below −6 (and the first lower value above
    8), as rpact does.
    """
    dm = np.array(decision, dtype=float, copy=True)
    info = np.asarray(info, dtype=float)
    kmax = dm.shape[1]
    probs = np.zeros(kmax)
    probs[0] = ndtr(min(dm[0, 0], UPPER_DEFAULT))
    if kmax == 1:
        return probs
    eps = _increments(info)
    dm[dm < FUTILITY_DEFAULT] = FUTILITY_DEFAULT
    x_prev = np.zeros(0)
    dn_prev = np.zeros(0)
    for k in range(2, kmax + 1):
        x, w = _grid(dm[0, k - 2], dm[1, k - 2])
        dn = w * _step(x, k, info, eps, x_prev, dn_prev)
        probs[k - 1] = _seq(dm[0, k - 1], k, dn, x, info, eps)
        x_prev, dn_prev = x, dn
    return probs


def clamp_full(decision: np.ndarray) -> np.ndarray:
    """The clamping of :func:`probabilities` (one or two continuation intervals)."""
    dm = np.array(decision, dtype=float, copy=True)
    dm[dm >= UPPER_DEFAULT] = UPPER_DEFAULT
    if dm.shape[0] == 2:
        dm[dm <= FUTILITY_DEFAULT] = FUTILITY_DEFAULT
    else:
        dm[dm <= -UPPER_DEFAULT] = -UPPER_DEFAULT
    return dm


def clamp_fast(decision: np.ndarray) -> np.ndarray:
    """The clamping of :func:`lower_crossing` (grid part)."""
    dm = np.array(decision, dtype=float, copy=True)
    dm[dm < FUTILITY_DEFAULT] = FUTILITY_DEFAULT
    return dm


def carried_density(dm: np.ndarray, info: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid and quadrature-weighted density of ``Z_{k−1}`` on its continuation region.

    ``dm`` is an already clamped decision matrix with at least ``k − 1`` columns. With it,
    ``P(reach k, Z_k < b) = stage_crossing(b, k, x, dn, info)`` for any bound ``b`` of stage
    ``k``: the recursion over the earlier stages is done once while a root search varies only
    the last bound (the arithmetic is that of :func:`probabilities`).
    """
    eps = _increments(info)
    x_prev = np.zeros(0)
    dn_prev = np.zeros(0)
    x = dn = np.zeros(0)
    for j in range(2, k + 1):
        col = dm[:, j - 2]
        if dm.shape[0] == 2:
            x, w = _grid(col[0], col[1])
        else:
            x0, w0 = _grid(col[0], col[1])
            x1, w1 = _grid(col[2], col[3])
            x, w = np.concatenate([x0, x1]), np.concatenate([w0, w1])
        dn = w * _step(x, j, info, eps, x_prev, dn_prev)
        x_prev, dn_prev = x, dn
    return x, dn


def stage_crossing(bound: float, k: int, x: np.ndarray, dn: np.ndarray, info: np.ndarray) -> float:
    """``P(reach stage k, Z_k < bound)`` from :func:`carried_density` (``k ≥ 2``)."""
    return _seq(bound, k, dn, x, info, _increments(info))
