"""Sample size and power for comparing two means (two parallel arms).

The test statistic is a two-sample t (``method="t"``, exact power from the noncentral t) or
z (``method="z"``, normal approximation) for the difference ``delta`` in the analysed
quantity, with per-participant variance ``sd² · variance_factor(...)``:

- ``"difference"``: the follow-up value (mean of ``followups`` = r measurements):
  ``(1 + (r−1)ρ)/r``; df ``n1 + n2 − 2``.
- ``"ancova"``: follow-up adjusted for baseline (mean of ``baselines`` = p measurements):
  ``(1 + (r−1)ρ)/r − pρ²/(1 + (p−1)ρ)``; with p = r = 1 the familiar ``1 − ρ²``;
  df ``n1 + n2 − 3`` (one covariate, the baseline mean).
- ``"change"``: follow-up mean minus baseline mean:
  ``(1 + (r−1)ρ)/r + (1 + (p−1)ρ)/p − 2ρ``; with p = r = 1 ``2(1 − ρ)``; df ``n1 + n2 − 2``.

These are Frison & Pocock (1992), "Repeated measures in clinical trials: analysis using mean
summary statistics and its implications for design", Stat Med 11:1685–1704, for compound
symmetry (all measurements with variance σ² and common correlation ρ): the ANCOVA factor is
the conditional variance of the follow-up mean given the baseline mean,
``var(ȳ_post) − cov²/var(ȳ_pre)`` with ``var(ȳ_post) = σ²(1+(r−1)ρ)/r``,
``var(ȳ_pre) = σ²(1+(p−1)ρ)/p`` and ``cov = ρσ²`` (see
``src/cpstem/design/data/REFERENCES.md``).

``ratio`` is the allocation ratio ``n2/n1`` (arm 2 : arm 1); ``sided=2`` tests two-sided at
``alpha``; with ``strict=True`` (default; R ``pwr`` and ``power.t.test(strict=TRUE)``) the
power of a two-sided test counts both tails, with ``strict=False`` only the tail of ``delta``
(``power.t.test``'s default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from cpstem.design.errors import DesignError
from cpstem.results import Result

ANALYSES = ("difference", "ancova", "change")
METHODS = ("t", "z")


def variance_factor(
    analysis: str = "difference",
    correlation: float | None = None,
    baselines: int = 1,
    followups: int = 1,
) -> float:
    """Variance of the analysed quantity per participant, in units of σ² (Frison & Pocock 1992)."""
    if analysis not in ANALYSES:
        raise DesignError(
            f"analysis {analysis!r}: allowed {', '.join(ANALYSES)}",
            code="not_allowed",
            field="analysis",
            params={"value": analysis, "allowed": list(ANALYSES)},
        )
    for name, value in (("baselines", baselines), ("followups", followups)):
        if int(value) != value or value < 1:
            raise DesignError(
                f"{name} {value}: allowed a whole number of measurements, 1 or more",
                code="out_of_range",
                field=name,
                params={"value": value},
            )
    p, r = int(baselines), int(followups)
    needs_rho = analysis != "difference" or r > 1
    if correlation is None:
        if needs_rho:
            raise DesignError(
                f"analysis {analysis!r} needs the correlation between measurements",
                code="missing",
                field="correlation",
                params={"analysis": analysis},
            )
        return 1.0
    rho = float(correlation)
    if not -1 < rho < 1:
        raise DesignError(
            f"correlation {rho:g}: allowed above -1 and below 1",
            code="out_of_range",
            field="correlation",
            params={"value": rho},
        )
    post = (1 + (r - 1) * rho) / r
    pre = (1 + (p - 1) * rho) / p
    if analysis == "difference":
        f = post
    elif analysis == "ancova":
        f = post - rho * rho / pre
    else:
        f = post + pre - 2 * rho
    if not f > 0:
        raise DesignError(
            f"correlation {rho} with {p} baseline and {r} follow-up measurements gives no "
            "valid compound-symmetry variance",
            code="out_of_range",
            field="correlation",
            params={"value": rho, "baselines": p, "followups": r},
        )
    return f


def _df(analysis: str, n1: float, n2: float) -> float:
    return n1 + n2 - (3 if analysis == "ancova" else 2)


def _power(
    n1: float,
    n2: float,
    effect: float,
    alpha: float,
    sided: int,
    analysis: str,
    method: str,
    strict: bool,
) -> float:
    """Power for standardised effect ``effect = |delta| / (sd·√factor)``."""
    ncp = effect / math.sqrt(1 / n1 + 1 / n2)
    q = 1 - alpha / sided
    if method == "z":
        crit = float(ndtri(q))
        pw = float(ndtr(ncp - crit))
        if sided == 2 and strict:
            pw += float(ndtr(-ncp - crit))
        return pw
    df = _df(analysis, n1, n2)
    crit = float(stats.t.ppf(q, df))
    pw = float(stats.nct.sf(crit, df, ncp))
    if sided == 2 and strict:
        pw += float(stats.nct.cdf(-crit, df, ncp))
    return pw


def _check(
    delta: float, sd: float, alpha: float, sided: int, ratio: float, method: str, dropout: float
) -> None:
    if not (math.isfinite(delta) and delta != 0):
        raise DesignError(
            f"delta {delta:g}: the difference to detect must be a number other than 0",
            code="out_of_range",
            field="delta",
            params={"value": delta},
        )
    if not (math.isfinite(sd) and sd > 0):
        raise DesignError(
            f"sd {sd:g}: must be above 0", code="out_of_range", field="sd", params={"value": sd}
        )
    if not 0 < alpha < 1:
        raise DesignError(
            f"alpha {alpha:g}: allowed above 0 and below 1",
            code="out_of_range",
            field="alpha",
            params={"value": alpha},
        )
    if sided not in (1, 2):
        raise DesignError(
            f"sided {sided}: allowed 1 or 2",
            code="not_allowed",
            field="sided",
            params={"value": sided},
        )
    if not (math.isfinite(ratio) and ratio > 0):
        raise DesignError(
            f"ratio {ratio:g}: the allocation ratio n2/n1 must be above 0",
            code="out_of_range",
            field="ratio",
            params={"value": ratio},
        )
    if method not in METHODS:
        raise DesignError(
            f"method {method!r}: allowed 't' (noncentral t) or 'z' (normal approximation)",
            code="not_allowed",
            field="method",
            params={"value": method},
        )
    if not 0 <= dropout < 1:
        raise DesignError(
            f"dropout {dropout:g}: allowed from 0 up to (not including) 1",
            code="out_of_range",
            field="dropout",
            params={"value": dropout},
        )


@dataclass(frozen=True)
class SampleSize(Result):
    """Participants needed: ``n1``/``n2`` analysed per arm (``ratio = n2/n1``), ``total``,
    ``recruited1``/``recruited2``/``recruited`` after ``dropout`` (``ceil(n/(1 − dropout))``
    per arm), the ``achieved_power`` with those whole numbers, and the unrounded ``n1_exact``.
    """

    delta: float
    sd: float
    alpha: float
    target_power: float
    ratio: float
    sided: int
    analysis: str
    correlation: float | None
    baselines: int
    followups: int
    dropout: float
    method: str
    strict: bool
    variance_factor: float
    n1_exact: float
    n1: int
    n2: int
    total: int
    recruited1: int
    recruited2: int
    recruited: int
    achieved_power: float

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: analysed and recruited participants."""
        return pd.DataFrame(
            {
                "arm": [1, 2],
                "analysed": [self.n1, self.n2],
                "recruited": [self.recruited1, self.recruited2],
            }
        )

    def summary(self) -> str:
        test = "noncentral t" if self.method == "t" else "normal approximation"
        sides = "two-sided" if self.sided == 2 else "one-sided"
        lines = [
            f"Sample size, two means ({self.analysis}; {test}; {sides} alpha = {self.alpha:g}; "
            f"target power {self.target_power:g})",
            f"  delta = {self.delta:g}, sd = {self.sd:g}, "
            f"variance factor {self.variance_factor:.4f}"
            + (f", correlation {self.correlation:g}" if self.correlation is not None else ""),
            f"  analysed: {self.n1} + {self.n2} = {self.total} (ratio n2/n1 = {self.ratio:g}); "
            f"achieved power {self.achieved_power:.4f}",
            f"  recruited: {self.recruited1} + {self.recruited2} = {self.recruited} "
            f"(dropout {self.dropout:.0%})",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class Power(Result):
    """Power of the comparison of two means with ``n1`` and ``n2`` analysed participants."""

    n1: float
    n2: float
    delta: float
    sd: float
    alpha: float
    sided: int
    analysis: str
    correlation: float | None
    method: str
    strict: bool
    variance_factor: float
    df: float | None
    noncentrality: float
    power: float

    def summary(self) -> str:
        return (
            f"Power {self.power:.4f} with n1 = {self.n1:g}, n2 = {self.n2:g} "
            f"({self.analysis}, delta = {self.delta:g}, sd = {self.sd:g}, alpha = {self.alpha:g}, "
            f"{'two' if self.sided == 2 else 'one'}-sided, {self.method})"
        )


def power_means(
    n: float,
    delta: float,
    sd: float,
    alpha: float = 0.05,
    ratio: float = 1,
    sided: int = 2,
    analysis: str = "difference",
    correlation: float | None = None,
    method: str = "t",
    *,
    n2: float | None = None,
    baselines: int = 1,
    followups: int = 1,
    strict: bool = True,
) -> Power:
    """Power with ``n`` analysed participants in arm 1 and ``n2`` (default ``ratio·n``) in arm 2."""
    _check(delta, sd, alpha, sided, ratio, method, 0.0)
    m2 = ratio * n if n2 is None else n2
    f = variance_factor(analysis, correlation, baselines, followups)
    minimum = 3 if analysis == "ancova" else 2
    if not (n > 0 and m2 > 0 and n + m2 > minimum):
        raise DesignError(
            f"n1 = {n:g}, n2 = {m2:g}: need more than {minimum} participants in all",
            code="out_of_range",
            field="n",
            params={"n1": n, "n2": m2},
        )
    effect = abs(delta) / (sd * math.sqrt(f))
    pw = _power(n, m2, effect, alpha, sided, analysis, method, strict)
    return Power(
        n1=float(n),
        n2=float(m2),
        delta=delta,
        sd=sd,
        alpha=alpha,
        sided=sided,
        analysis=analysis,
        correlation=correlation,
        method=method,
        strict=strict,
        variance_factor=f,
        df=_df(analysis, n, m2) if method == "t" else None,
        noncentrality=effect / math.sqrt(1 / n + 1 / m2),
        power=pw,
    )


def sample_size_means(
    delta: float,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1,
    sided: int = 2,
    analysis: str = "difference",
    correlation: float | None = None,
    dropout: float = 0,
    method: str = "t",
    *,
    baselines: int = 1,
    followups: int = 1,
    strict: bool = True,
) -> SampleSize:
    """Participants per arm to detect ``delta`` with ``power`` (see the module docstring).

    ``ratio = n2/n1``. The unrounded ``n1_exact`` solves power(n1, ratio·n1) = ``power``;
    ``n1 = ceil(n1_exact)``, ``n2 = ceil(ratio·n1_exact)``.
    """
    _check(delta, sd, alpha, sided, ratio, method, dropout)
    if not alpha / sided < power < 1:
        raise DesignError(
            f"power {power:g}: allowed above alpha and below 1",
            code="out_of_range",
            field="power",
            params={"value": power},
        )
    f = variance_factor(analysis, correlation, baselines, followups)
    effect = abs(delta) / (sd * math.sqrt(f))
    minimum = 3 if analysis == "ancova" else 2
    # at least 2 analysed participants in each arm (as R pwr and power.t.test search from 2)
    lower = 2.0 / min(1.0, ratio) + 1e-10

    def gap(n1: float) -> float:
        return _power(n1, ratio * n1, effect, alpha, sided, analysis, method, strict) - power

    if gap(lower) >= 0:
        n1_exact = lower
    else:
        upper = lower * 2
        while gap(upper) < 0:
            upper *= 2
            if upper > 1e12:
                raise DesignError(
                    "no sample size reaches this power", code="no_solution", field="power"
                )
        n1_exact = float(brentq(gap, lower, upper, xtol=1e-10, rtol=1e-14, maxiter=500))
    n1 = max(math.ceil(n1_exact - 1e-9), 1)
    n2 = max(math.ceil(ratio * n1_exact - 1e-9), 1)
    if n1 + n2 <= minimum:
        n2 = minimum + 1 - n1
    achieved = _power(n1, n2, effect, alpha, sided, analysis, method, strict)
    r1 = math.ceil(n1 / (1 - dropout) - 1e-9)
    r2 = math.ceil(n2 / (1 - dropout) - 1e-9)
    return SampleSize(
        delta=delta,
        sd=sd,
        alpha=alpha,
        target_power=power,
        ratio=ratio,
        sided=sided,
        analysis=analysis,
        correlation=correlation,
        baselines=int(baselines),
        followups=int(followups),
        dropout=dropout,
        method=method,
        strict=strict,
        variance_factor=f,
        n1_exact=n1_exact,
        n1=n1,
        n2=n2,
        total=n1 + n2,
        recruited1=r1,
        recruited2=r2,
        recruited=r1 + r2,
        achieved_power=achieved,
    )
