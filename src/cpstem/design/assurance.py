"""Assurance (probability of success) and slope sizing.

Assurance: O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design. Pharm Stat
2005;4:187–201. With a normal prior δ ~ N(m, v) and an estimate d̂ ~ N(δ, s²)
(s = σ·sqrt(f)·sqrt(1/n1 + 1/n2)), a z test that rejects when d̂/s > z (z = z_{1−α/sided})
succeeds with probability ``Φ((m − z·s)/sqrt(s² + v))`` (their eq. for the normal case;
the other tail of a two-sided test, counted with ``strict``, adds ``Φ((−m − z·s)/sqrt(s² + v))``).
For the t test the exact power (noncentral t) is integrated over the prior numerically
(Gauss–Hermite, 80 nodes).

The prior from a meta-analysis: mean = the pooled effect, sd = the half-width of the
prediction interval divided by its normal quantile (``prior_from_meta``), i.e. the predictive
distribution of the effect in a new trial (sqrt(τ² + SE²) for a normal-quantile interval).

Slopes (``sample_size_slope``): per-child least-squares slope over visit times t_j has
variance ``σ_b² + σ_e²/Σ(t_j − t̄)²`` (random intercept and slope model; Diggle PJ, Heagerty P,
Liang K-Y, Zeger SL. Analysis of Longitudinal Data, 2nd ed., OUP 2002, §2.4), and the slopes are
compared between arms with the two-sample t test of :func:`sample_size_means`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from cpstem.design.errors import DesignError
from cpstem.design.samplesize import SampleSize, power_means, sample_size_means, variance_factor
from cpstem.results import Result

__all__ = [
    "Assurance",
    "Prior",
    "VarianceComponents",
    "assurance",
    "prior_from_meta",
    "sample_size_slope",
    "slope_sd",
    "variance_from_table",
]


@dataclass(frozen=True)
class Prior(Result):
    """Normal prior on δ: ``mean``, ``sd`` and where they came from."""

    mean: float
    sd: float
    source: str = "given"

    def summary(self) -> str:
        return f"Prior on delta: N({self.mean:.4g}, {self.sd:.4g}^2) ({self.source})"


def prior_from_meta(result: Any) -> Prior:
    """Prior from a random-effects meta-analysis result (``estimate``/``beta``, ``pi_lower``,
    ``pi_upper``, ``level``): mean = pooled effect, sd = PI half-width / z_{(1+level)/2}."""
    mean = float(np.atleast_1d(result.beta)[0])
    lo, hi = result.pi_lower, result.pi_upper
    if lo is None or hi is None:
        raise DesignError(
            "the meta-analysis has no prediction interval", code="missing", field="result"
        )
    level = float(getattr(result, "level", 95.0))
    level = level / 100 if level > 1 else level
    z = float(ndtri(0.5 + level / 2))
    return Prior(mean=mean, sd=(float(hi) - float(lo)) / (2 * z), source="meta-analysis")


@dataclass(frozen=True)
class Assurance(Result):
    """Probability of success averaged over the prior, with the power at the prior mean."""

    n1: float
    n2: float
    prior_mean: float
    prior_sd: float
    sd: float
    alpha: float
    sided: int
    method: str
    analysis: str
    correlation: float | None
    assurance: float
    power_at_mean: float

    def summary(self) -> str:
        return (
            f"Assurance {self.assurance:.4f} (power at the prior mean {self.power_at_mean:.4f}) "
            f"with n1 = {self.n1:g}, n2 = {self.n2:g}; prior delta ~ N({self.prior_mean:.4g}, "
            f"{self.prior_sd:.4g}^2), sd {self.sd:g}, {self.analysis}, {self.method} test, "
            f"{'two' if self.sided == 2 else 'one'}-sided alpha {self.alpha:g} "
            "(O'Hagan, Stevens & Campbell 2005)"
        )


def assurance(
    n: float,
    prior_mean: float,
    prior_sd: float,
    sd: float,
    alpha: float = 0.05,
    ratio: float = 1,
    sided: int = 2,
    analysis: str = "difference",
    correlation: float | None = None,
    method: str = "z",
    *,
    n2: float | None = None,
    strict: bool = False,
    nodes: int = 80,
) -> Assurance:
    """Assurance of a trial with ``n`` (arm 1) and ``n2 = ratio·n`` (arm 2) analysed."""
    if prior_sd < 0 or sd <= 0:
        raise DesignError(
            "prior_sd must be ≥ 0 and sd > 0",
            code="out_of_range",
            field="prior_sd",
            params={"prior_sd": prior_sd, "sd": sd},
        )
    m2 = ratio * n if n2 is None else n2
    f = variance_factor(analysis, correlation)
    pm = power_means(
        n,
        prior_mean if prior_mean != 0 else 1e-12,
        sd,
        alpha,
        sided=sided,
        analysis=analysis,
        correlation=correlation,
        method=method,
        n2=m2,
        strict=strict,
    )
    if method == "z":
        s = sd * math.sqrt(f) * math.sqrt(1 / n + 1 / m2)
        z = float(ndtri(1 - alpha / sided))
        scale = math.sqrt(s * s + prior_sd * prior_sd)
        value = float(ndtr((prior_mean - z * s) / scale))
        if sided == 2 and strict:
            value += float(ndtr((-prior_mean - z * s) / scale))
        power_at_mean = pm.power
    else:
        x, w = np.polynomial.hermite_e.hermegauss(nodes)  # weight exp(-x²/2)
        w = w / math.sqrt(2 * math.pi)
        deltas = prior_mean + prior_sd * x
        powers = np.array(
            [
                _signed_power(d, n, m2, sd, alpha, sided, analysis, correlation, strict)
                for d in deltas
            ]
        )
        value = float(np.dot(w, powers))
        power_at_mean = _signed_power(
            prior_mean, n, m2, sd, alpha, sided, analysis, correlation, strict
        )
    return Assurance(
        n1=float(n),
        n2=float(m2),
        prior_mean=prior_mean,
        prior_sd=prior_sd,
        sd=sd,
        alpha=alpha,
        sided=sided,
        method=method,
        analysis=analysis,
        correlation=correlation,
        assurance=value,
        power_at_mean=power_at_mean,
    )


def _signed_power(
    delta: float,
    n1: float,
    n2: float,
    sd: float,
    alpha: float,
    sided: int,
    analysis: str,
    correlation: float | None,
    strict: bool,
) -> float:
    """Power to reject in favour of δ > 0 (a negative true δ gives the wrong-direction tail
    only when ``strict``)."""
    from scipy import stats

    f = variance_factor(analysis, correlation)
    df = n1 + n2 - (3 if analysis == "ancova" else 2)
    ncp = delta / (sd * math.sqrt(f) * math.sqrt(1 / n1 + 1 / n2))
    crit = float(stats.t.ppf(1 - alpha / sided, df))
    p = float(stats.nct.sf(crit, df, ncp))
    if sided == 2 and strict:
        p += float(stats.nct.cdf(-crit, df, ncp))
    return p


def slope_sd(times: Sequence[float], sd_residual: float, sd_slope: float) -> float:
    """SD of a child's least-squares slope: sqrt(σ_b² + σ_e²/Σ(t_j − t̄)²)."""
    t = np.asarray(times, dtype=float)
    sxx = float(((t - t.mean()) ** 2).sum())
    if t.size < 2 or sxx <= 0:
        raise DesignError(
            "times: give at least two different visit times", code="out_of_range", field="times"
        )
    return math.sqrt(sd_slope**2 + sd_residual**2 / sxx)


def sample_size_slope(
    delta_slope: float,
    times: Sequence[float],
    sd_residual: float,
    sd_slope: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1,
    sided: int = 2,
    dropout: float = 0,
    method: str = "t",
) -> SampleSize:
    """Per-arm n to detect a difference ``delta_slope`` (units per time unit) in mean slopes
    (Diggle et al. 2002 §2.4); ``dropout`` inflates recruitment as in :func:`sample_size_means`
    (children lost before the last visit are treated as lost; conservative)."""
    return sample_size_means(
        delta_slope,
        slope_sd(times, sd_residual, sd_slope),
        alpha,
        power,
        ratio,
        sided,
        dropout=dropout,
        method=method,
    )


@dataclass(frozen=True)
class VarianceComponents(Result):
    """σ of GMFM-66 at baseline and follow-up, their correlation, from an analysis table."""

    sd_baseline: float
    sd_followup: float
    sd: float
    correlation: float
    months: float
    n_children: int

    def summary(self) -> str:
        return (
            f"From {self.n_children} children at {self.months:g} months: sd baseline "
            f"{self.sd_baseline:.3f}, follow-up {self.sd_followup:.3f}, pooled {self.sd:.3f}, "
            f"baseline–follow-up correlation {self.correlation:.3f}"
        )


def variance_from_table(
    table: pd.DataFrame, months: float = 12, window: float = 3
) -> VarianceComponents:
    """σ and the baseline–follow-up correlation of GMFM-66 from the analysis table
    (``child``, ``gmfm66_baseline``, ``months``, ``gmfm66``; the assessment nearest to
    ``months`` within ± ``window`` per child, within-group centred so a treatment effect
    does not inflate them)."""
    need = ["child", "gmfm66_baseline", "months", "gmfm66"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DesignError(
            f"analysis table lacks {', '.join(missing)}",
            code="missing",
            field=missing[0],
            params={"missing": missing},
        )
    t = table.dropna(subset=need).copy()
    t["_gap"] = (t["months"] - months).abs()
    t = t[t["_gap"] <= window].sort_values("_gap").groupby("child", sort=False).head(1)
    if len(t) < 3:
        raise DesignError(
            f"fewer than 3 children with an assessment at {months:g} ± {window:g} months",
            code="out_of_range",
            field="months",
            params={"n": len(t)},
        )
    x = t["gmfm66_baseline"].to_numpy(float, copy=True)
    y = t["gmfm66"].to_numpy(float, copy=True)
    if "group" in t.columns:
        g = t["group"].astype(str).to_numpy()
        for level in np.unique(g):
            sel = g == level
            x[sel] -= x[sel].mean()
            y[sel] -= y[sel].mean()
        dof = len(t) - len(np.unique(g))
    else:
        x = x - x.mean()
        y = y - y.mean()
        dof = len(t) - 1
    sx = math.sqrt(float(x @ x) / dof)
    sy = math.sqrt(float(y @ y) / dof)
    r = float(x @ y) / math.sqrt(float(x @ x) * float(y @ y))
    return VarianceComponents(
        sd_baseline=sx,
        sd_followup=sy,
        sd=math.sqrt((sx * sx + sy * sy) / 2),
        correlation=r,
        months=float(months),
        n_children=len(t),
    )
