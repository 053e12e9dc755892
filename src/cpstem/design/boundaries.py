"""Efficacy and futility boundaries on the z-scale (rpact 3.3.4's algorithms).

- :func:`spending_critical_values`: efficacy boundaries from cumulative alpha to spend
  (rpact ``getDesignGroupSequentialAlphaSpendingCpp`` / ``...UserDefinedAlphaSpendingCpp``);
  with binding futility bounds the stage-k boundary counts the futility stops before k.
- :func:`wang_tsiatis_critical_values`: Wang–Tsiatis family ``c·t^(Δ−1/2)``: Pocock
  (Δ = 1/2) and O'Brien–Fleming (Δ = 0) (rpact ``getDesignGroupSequentialDeltaWTCpp``).
- :func:`beta_spending_one_sided`: futility bounds by beta spending with the drift chosen so
  that the last futility and efficacy bounds meet (rpact
  ``getDesignGroupSequentialBetaSpendingOneSidedCpp``), binding or non-binding.

Roots are found with Brent's method to 1e-12 where rpact bisects to 1e-8, so results agree
with rpact to about 1e-8.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from cpstem.design.errors import DesignError
from cpstem.design.probabilities import (
    FUTILITY_DEFAULT,
    UPPER_DEFAULT,
    carried_density,
    clamp_fast,
    clamp_full,
    lower_crossing,
    probabilities,
    stage_crossing,
)

XTOL = 1e-12


def root(f: Callable[[float], float], lower: float, upper: float) -> float:
    """Root of a decreasing ``f`` on ``[lower, upper]``; the end point if ``f`` keeps its sign.

    This is how rpact's ``bisection2`` ends when there is no sign change (e.g. a boundary
    beyond 8 is 8).
    """
    fl, fu = f(lower), f(upper)
    if fl <= 0 and fu <= 0:
        return lower
    if fl >= 0 and fu >= 0:
        return upper
    return float(brentq(f, lower, upper, xtol=XTOL, rtol=4 * np.finfo(float).eps, maxiter=200))


def decision_matrix(
    critical: np.ndarray, futility: np.ndarray | None, binding: bool, sided: int
) -> np.ndarray:
    """rpact's ``getDecisionMatrix``: rows (lower, upper) per stage."""
    k = len(critical)
    if sided == 2:
        return np.vstack([-critical, critical])
    lower = np.full(k, FUTILITY_DEFAULT)
    if binding and futility is not None:
        lower[: len(futility)] = futility[:k]
    return np.vstack([lower, critical])


def size(probs: np.ndarray, sided: int) -> float:
    """Total probability of rejecting H0 (rpact ``getZeroApproximation`` + alpha)."""
    s = float(np.sum(probs[2] - probs[1]))
    if sided == 2:
        s += float(np.sum(probs[0]))
    return s


def critical_value(
    k: int,
    critical: np.ndarray,
    target: float,
    info: np.ndarray,
    sided: int,
    futility: np.ndarray | None,
    binding: bool,
) -> float:
    """The stage-``k`` efficacy bound (``k ≥ 2``) with cumulative rejection ``target``.

    The bounds of stages ``1..k−1`` are ``critical[:k−1]``; the recursion over them is done
    once and the root search varies the last bound only (rpact ``getCriticalValue``).
    """
    sub = info[:k]
    trial = np.append(critical[: k - 1], 0.0)
    dm = clamp_full(decision_matrix(trial, futility, binding, sided))
    probs = probabilities(dm[:, : k - 1], sub[: k - 1])
    before = size(probs, sided)
    reach = float(probs[1, k - 2] - probs[0, k - 2])
    x, dn = carried_density(dm, sub, k)

    def excess(c: float) -> float:
        upper = min(c, UPPER_DEFAULT)
        s = before + reach - stage_crossing(upper, k, x, dn, sub)
        if sided == 2:
            s += stage_crossing(max(-c, FUTILITY_DEFAULT), k, x, dn, sub)
        return s - target

    return root(excess, 0.0, 8.0)


def spending_critical_values(
    cum_alpha: np.ndarray,
    info: np.ndarray,
    sided: int,
    futility: np.ndarray | None = None,
    binding: bool = False,
) -> np.ndarray:
    """Efficacy boundaries spending ``cum_alpha[k]`` by stage ``k`` (total over both sides)."""
    kmax = len(info)
    crit = np.full(kmax, np.nan)
    crit[0] = float(ndtri(1.0 - cum_alpha[0] / sided))
    for k in range(2, kmax + 1):
        crit[k - 1] = critical_value(
            k, crit, float(cum_alpha[k - 1]), info, sided, futility, binding
        )
    return crit


def wang_tsiatis_critical_values(
    delta_wt: float,
    alpha: float,
    info: np.ndarray,
    sided: int,
    futility: np.ndarray | None = None,
    binding: bool = False,
) -> np.ndarray:
    """Boundaries ``c·t_k^(Δ−1/2)`` with ``c`` spending exactly ``alpha`` (Pocock Δ=½, OBF Δ=0)."""
    shape = info ** (delta_wt - 0.5)

    def excess(c: float) -> float:
        dm = decision_matrix(c * shape, futility, binding, sided)
        return size(probabilities(dm, info), sided) - alpha

    return root(excess, 0.0, 8.0) * shape


def _shifted(
    info: np.ndarray, critical: np.ndarray, futility: np.ndarray, shift: float
) -> np.ndarray:
    """rpact ``getDecisionMatrixForFutilityBounds`` (one-sided), drift ``shift`` at t = 1."""
    fut = np.full(len(critical), FUTILITY_DEFAULT)
    fut[: len(futility)] = futility[: len(critical)]
    drift = np.sqrt(info) * shift
    return np.vstack([fut - drift, critical - drift])


def _futility_bound(
    k: int,
    cum_beta: np.ndarray,
    info: np.ndarray,
    futility: np.ndarray,
    critical: np.ndarray,
    shift: float,
) -> float:
    if k == 1:
        return float(ndtri(cum_beta[0]) + np.sqrt(info[0]) * shift)
    sub = info[:k]
    fut = futility.copy()
    fut[k - 1] = 0.0
    dm = _shifted(info, critical, fut, shift)[:, :k]
    before = float(np.sum(lower_crossing(dm[:, : k - 1], sub[: k - 1])))
    x, dn = carried_density(clamp_fast(dm), sub, k)
    drift = float(np.sqrt(info[k - 1]) * shift)

    def excess(u: float) -> float:
        b = max(u - drift, FUTILITY_DEFAULT)
        return float(cum_beta[k - 1] - before - stage_crossing(b, k, x, dn, sub))

    return root(excess, -6.0, 5.0)


def _futility_bounds(
    cum_beta: np.ndarray, info: np.ndarray, critical: np.ndarray, shift: float
) -> np.ndarray:
    fut = np.full(len(info), np.nan)
    for k in range(1, len(info) + 1):
        fut[k - 1] = _futility_bound(k, cum_beta, info, fut, critical, shift)
    return fut


def beta_spending_one_sided(
    critical: np.ndarray,
    cum_alpha: np.ndarray,
    cum_beta: np.ndarray,
    info: np.ndarray,
    binding: bool,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Futility bounds (all ``kmax`` stages), efficacy bounds and drift ``θ√I_max``.

    Non-binding: the efficacy bounds stay; the drift is found such that the futility bound
    of the last stage equals the last efficacy bound. Binding: for each trial drift the
    efficacy bounds are recomputed counting the futility stops, stage by stage.
    """
    if not binding:

        def gap(shift: float) -> float:
            fut = _futility_bounds(cum_beta, info, critical, shift)
            return float(fut[-1] - critical[-1])

        shift = _bracketed_root(lambda s: -gap(s), -4.0, 10.0)
        fut = _futility_bounds(cum_beta, info, critical, shift)
        return fut, critical.copy(), shift

    kmax = len(info)

    def bounds(shift: float) -> tuple[np.ndarray, np.ndarray]:
        crit = np.full(kmax, np.nan)
        fut = np.full(kmax, np.nan)
        for k in range(1, kmax + 1):
            if k == 1:
                crit[0] = float(ndtri(1.0 - cum_alpha[0]))
            else:
                crit[k - 1] = critical_value(k, crit, float(cum_alpha[k - 1]), info, 1, fut, True)
            fut[k - 1] = _futility_bound(k, cum_beta, info, fut, crit, shift)
        return crit, fut

    def last_gap(shift: float) -> float:
        crit, fut = bounds(shift)
        return float(crit[-1] - fut[-1])

    shift = _bracketed_root(last_gap, -4.0, 10.0)
    crit, fut = bounds(shift)
    return fut, crit, shift


def _bracketed_root(f: Callable[[float], float], lower: float, upper: float) -> float:
    """Root of a decreasing ``f`` that must change sign on ``[lower, upper]``."""
    fl, fu = f(lower), f(upper)
    if fl * fu > 0:
        raise DesignError(
            "no futility boundaries meet the efficacy boundaries for this alpha, beta and timing",
            code="no_solution",
            field="futility",
            params={"lower": lower, "upper": upper},
        )
    return float(brentq(f, lower, upper, xtol=XTOL, rtol=4 * np.finfo(float).eps, maxiter=200))


def four_rows(
    info: np.ndarray, critical: np.ndarray, futility: np.ndarray, shift: float
) -> np.ndarray:
    """rpact ``getDecisionMatrixForFutilityBounds`` (two-sided): ±efficacy and ±futility."""
    drift = np.sqrt(info) * shift
    return np.vstack([-critical - drift, -futility - drift, futility - drift, critical - drift])


def _futility_bound_two_sided(
    k: int,
    cum_beta: np.ndarray,
    info: np.ndarray,
    futility: np.ndarray,
    one_sided: np.ndarray,
    critical: np.ndarray,
    shift: float,
    clamp: bool = True,
) -> float:
    """rpact ``getFutilityBoundTwoSided``: the inner (futility) region ``|Z| < u`` at stage k.

    The bound is at most the efficacy bound; ``clamp=False`` gives the unclamped root, whose
    crossing of the efficacy bound locates the drift (rpact bisects on the clamped gap, which
    has the same first zero).
    """
    forced_zero = (one_sided[k - 1] if k <= len(one_sided) else 1.0) < 0
    if k == 1:
        m = float(np.sqrt(info[0]) * shift)

        def first(u: float) -> float:
            return float(ndtr(u - m) - ndtr(-u - m) - cum_beta[0])

        u = _increasing_root(first, -8.0, 8.0)
        u = min(u, float(critical[0]))
        return 0.0 if forced_zero else u
    if forced_zero:
        return 0.0
    sub = info[:k]
    crit_k = float(critical[k - 1])

    def excess(scale: float) -> float:
        fut = futility[:k].copy()
        fut[k - 1] = min(scale, crit_k) if clamp else scale
        probs = probabilities(four_rows(sub, critical[:k], fut, shift), sub)
        return float(cum_beta[k - 1] - np.sum(probs[2] - probs[1]))

    u = root(excess, -6.0, 5.0)
    return min(u, crit_k) if clamp else u


def _increasing_root(f: Callable[[float], float], lower: float, upper: float) -> float:
    return root(lambda u: -f(u), lower, upper)


def _two_sided_critical_value(
    k: int, critical: np.ndarray, target: float, info: np.ndarray, futility: np.ndarray
) -> float:
    """rpact ``getCriticalValueTwoSided`` with binding futility (inner region)."""
    if k == 1:
        return float(ndtri(1.0 - target / 2.0))
    sub = info[:k]
    fut = np.where(np.isnan(futility[:k]), 0.0, futility[:k])

    def excess(c: float) -> float:
        trial = critical[:k].copy()
        trial[k - 1] = c
        probs = probabilities(np.vstack([-trial, -fut, fut, trial]), sub)
        return float(np.sum(probs[4] - probs[3] + probs[0])) - target

    return root(excess, 0.0, 8.0)


def adjusted_beta_spending(cum_beta: np.ndarray, one_sided: np.ndarray) -> np.ndarray:
    """rpact ``getAdjustedBetaSpendingValues`` (betaAdjustment = TRUE): no beta is spent before
    the first stage whose one-sided futility bound is positive; the rest is rescaled."""
    positive = np.flatnonzero(np.nan_to_num(one_sided, nan=-np.inf) > 0)
    k_min = int(positive[0]) if len(positive) else -1
    if k_min <= 0:
        return cum_beta.copy()
    out = cum_beta.copy()
    out[:k_min] = 0.0
    base, last = cum_beta[k_min - 1], cum_beta[-1]
    out[k_min - 1 :] = (cum_beta[k_min - 1 :] - base) / (last - base) * last
    return out


def beta_spending_two_sided(
    critical: np.ndarray,
    cum_alpha: np.ndarray,
    cum_beta: np.ndarray,
    info: np.ndarray,
    binding: bool,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Two-sided design with an inner futility region ``|Z_k| < u_k`` by beta spending.

    rpact ``getDesignGroupSequentialBetaSpendingTwoSidedCpp`` (marked experimental in rpact):
    where the one-sided beta-spending bound (at half the alpha) is negative the inner bound is
    0 (no futility stop) and the beta spending starts later; the drift is chosen so that the
    last inner bound meets the last efficacy bound. Returns all ``kmax`` inner bounds, the
    efficacy bounds and the drift.
    """
    one_sided, _, _ = beta_spending_one_sided(critical, cum_alpha / 2.0, cum_beta, info, binding)
    one_sided = one_sided[:-1]
    beta_k = adjusted_beta_spending(cum_beta, one_sided)
    kmax = len(info)

    def bounds(shift: float, clamp_last: bool = True) -> tuple[np.ndarray, np.ndarray]:
        crit = critical.copy()
        fut = np.full(kmax, np.nan)
        for k in range(1, kmax + 1):
            if binding:
                crit[k - 1] = _two_sided_critical_value(k, crit, float(cum_alpha[k - 1]), info, fut)
            clamp = clamp_last or k < kmax
            fut[k - 1] = _futility_bound_two_sided(
                k, beta_k, info, fut, one_sided, crit, shift, clamp
            )
        return crit, fut

    def last_gap(shift: float) -> float:
        crit, fut = bounds(shift, clamp_last=False)
        return float(crit[-1] - fut[-1])

    # the gap is symmetric in the drift's sign: search the positive drifts (rpact's bisection
    # over [-4, 10] starts at 3 and ends there)
    shift = _bracketed_root(last_gap, 0.0, 10.0)
    crit, fut = bounds(shift)
    return fut, crit, shift
