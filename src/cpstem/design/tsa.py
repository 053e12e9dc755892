"""Trial sequential analysis (TSA) of a cumulative meta-analysis.

Wetterslev J, Thorlund K, Brok J, Gluud C (2008). Trial sequential analysis may establish
when firm evidence is reached in cumulative meta-analysis. J Clin Epidemiol 61:64–75.
Wetterslev J, Thorlund K, Brok J, Gluud C (2009). Estimating required information size by
quantifying diversity in random-effects model meta-analyses. BMC Med Res Methodol 9:86.

- :func:`required_information_size`: the participants a meta-analysis needs (RIS) to detect
  ``delta`` (continuous: ``4(z_{1−α/2} + z_{1−β})²σ²/δ²``) or a relative risk reduction
  (binary: ``4(z_{1−α/2} + z_{1−β})² p̄(1 − p̄)/(p_C − p_E)²``, ``p_E = p_C(1 − RRR)``,
  ``p̄ = (p_C + p_E)/2``), adjusted for heterogeneity by diversity ``D²``
  (``DARIS = RIS/(1 − D²)``) or ``I²`` (``RIS/(1 − I²)``).
- :func:`diversity`: ``D² = 1 − V_F/V_R`` with ``V_F``, ``V_R`` the variances of the fixed-
  and the random-effects (DerSimonian–Laird) pooled estimates, and Higgins' ``I²``.
- :func:`tsa`: the cumulative Z-curve in chronological order against Lan–DeMets
  O'Brien–Fleming monitoring boundaries on the information fraction (accrued participants /
  required information size), two-sided: cumulative ``2 − 2Φ(z_{1−α/2}/√t)`` split equally
  between benefit and harm, as in the Copenhagen TSA program (looks beyond the required
  information are final analyses at fraction 1); optional beta-spending futility boundaries
  (the inner wedge, non-binding: O'Brien–Fleming-type beta spending against the benefit
  boundary with the drift at which the two meet at the required information, mirrored for
  harm; the small chance of crossing the harm boundary under the alternative is ignored);
  the TSA-adjusted confidence interval
  ``estimate ± c·se`` with ``c`` the monitoring boundary at the current information; and a
  verdict in words. ``alpha_spending="per_side"`` spends ``α/2`` on each side with the
  one-sided function ``2 − 2Φ(z_{1−α/4}/√t)`` instead (R RTSA 0.2.2, rpact ``asOF`` with
  ``sided = 2``, gsDesign): slightly wider boundaries.
- :func:`tsa_binary`: the same for a binary outcome from 2×2 counts, as a meta-analysis of log
  risk ratios (``"RR"``) or risk differences (``"RD"``). Zero events: a trial with no event in
  one arm gets ``zero`` (default 0.5) added to each event count and ``2·zero`` to each arm
  size (constant continuity correction: RTSA 0.2.2 ``zero_adj``, RevMan); a trial with no event
  in either arm carries no information on the ratio scale and is left out by default (as RTSA
  and metafor's ``drop00``), its participants not counted; ``double_zero="include"`` keeps it
  with the correction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from cpstem.design.boundaries import beta_spending_one_sided, spending_critical_values
from cpstem.design.errors import DesignError
from cpstem.design.spending import lan_demets_obf, spending_values
from cpstem.results import Result, frozen_array

ADJUSTMENTS = ("diversity", "i2", "none")
MODELS = ("random", "fixed")
ALPHA_SPENDING = ("total", "per_side")
BINARY_MEASURES = ("RR", "RD")


@dataclass(frozen=True)
class Heterogeneity(Result):
    """DerSimonian–Laird ``tau2``, Higgins' ``i2``, diversity ``d2``, ``v_fixed``, ``v_random``."""

    k: int
    tau2: float
    i2: float
    d2: float
    v_fixed: float
    v_random: float
    q: float


def _pool(yi: np.ndarray, vi: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """Fixed and DL random-effects estimates with variances, tau², Q."""
    w = 1.0 / vi
    sw = w.sum()
    fixed = float((w * yi).sum() / sw)
    q = float((w * (yi - fixed) ** 2).sum())
    k = len(yi)
    c = sw - (w * w).sum() / sw
    tau2 = max(0.0, (q - (k - 1)) / c) if k > 1 and c > 0 else 0.0
    wr = 1.0 / (vi + tau2)
    random = float((wr * yi).sum() / wr.sum())
    return fixed, 1.0 / sw, random, 1.0 / float(wr.sum()), tau2, q


def diversity(yi: Any, vi: Any) -> Heterogeneity:
    """Diversity ``D² = 1 − V_F/V_R`` (Wetterslev 2009) and ``I² = (Q − df)/Q`` (DL fit)."""
    y, v = _vectors(yi, vi)
    _, vf, _, vr, tau2, q = _pool(y, v)
    k = len(y)
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    return Heterogeneity(k=k, tau2=tau2, i2=i2, d2=1.0 - vf / vr, v_fixed=vf, v_random=vr, q=q)


def _vectors(yi: Any, vi: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if len(y) == 0 or len(y) != len(v):
        raise DesignError(
            f"yi ({len(y)} values) and vi ({len(v)} values) must have the same, non-zero length",
            code="invalid",
            field="vi",
            params={"yi": len(y), "vi": len(v)},
        )
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise DesignError(
            "yi must be finite and every sampling variance vi above 0",
            code="invalid",
            field="vi",
        )
    return y, v


@dataclass(frozen=True)
class InformationSize(Result):
    """Required information size: ``ris`` (participants, unadjusted) and ``required`` after the
    heterogeneity ``adjustment`` (``"diversity"`` → DARIS, ``"i2"``, or ``"none"``)."""

    outcome: str
    alpha: float
    beta: float
    sided: int
    delta: float | None
    sd: float | None
    control_risk: float | None
    rrr: float | None
    adjustment: str
    heterogeneity: float
    ris: float
    required: float

    def summary(self) -> str:
        if self.outcome == "continuous":
            what = f"mean difference {self.delta:g} (sd {self.sd:g})"
        else:
            what = f"relative risk reduction {self.rrr:.0%} at control risk {self.control_risk:.1%}"
        adj = {
            "diversity": f"diversity-adjusted (D2 = {self.heterogeneity:.0%}) DARIS",
            "i2": f"heterogeneity-adjusted (I2 = {self.heterogeneity:.0%})",
            "none": "not adjusted for heterogeneity",
        }[self.adjustment]
        return (
            f"Required information size to detect a {what}, alpha {self.alpha:g}, "
            f"power {1 - self.beta:g}: {math.ceil(self.ris)} participants; "
            f"{adj}: {math.ceil(self.required)}"
        )


def required_information_size(
    *,
    delta: float | None = None,
    sd: float | None = None,
    control_risk: float | None = None,
    rrr: float | None = None,
    alpha: float = 0.05,
    beta: float = 0.2,
    sided: int = 2,
    diversity: float | None = None,
    i2: float | None = None,
) -> InformationSize:
    """RIS for a continuous (``delta``, ``sd``) or binary (``control_risk``, ``rrr``) outcome.

    ``diversity`` (D²) gives DARIS = RIS/(1 − D²); otherwise ``i2`` gives RIS/(1 − I²).
    """
    if not 0 < alpha < 1:
        raise DesignError(
            f"alpha {alpha:g}: allowed above 0 and below 1", code="out_of_range", field="alpha"
        )
    if not 0 < beta < 1:
        raise DesignError(
            f"beta {beta}: allowed above 0 and below 1", code="out_of_range", field="beta"
        )
    if sided not in (1, 2):
        raise DesignError(f"sided {sided}: allowed 1 or 2", code="not_allowed", field="sided")
    zz = (float(ndtri(1 - alpha / sided)) + float(ndtri(1 - beta))) ** 2
    if delta is not None or sd is not None:
        if delta is None or sd is None or control_risk is not None or rrr is not None:
            raise DesignError(
                "give delta and sd (continuous outcome) or control_risk and rrr (binary), not both",
                code="invalid",
                field="delta",
            )
        if not (math.isfinite(delta) and delta != 0):
            raise DesignError(
                f"delta {delta:g}: must be a number other than 0",
                code="out_of_range",
                field="delta",
            )
        if not sd > 0:
            raise DesignError(f"sd {sd:g}: must be above 0", code="out_of_range", field="sd")
        outcome = "continuous"
        ris = 4 * zz * sd * sd / (delta * delta)
    elif control_risk is not None and rrr is not None:
        if not 0 < control_risk < 1:
            raise DesignError(
                f"control_risk {control_risk}: allowed above 0 and below 1",
                code="out_of_range",
                field="control_risk",
            )
        if not (0 < rrr < 1 or -1 / control_risk + 1 < rrr < 0):
            raise DesignError(
                f"rrr {rrr}: a relative risk reduction other than 0 giving a risk between 0 and 1",
                code="out_of_range",
                field="rrr",
            )
        outcome = "binary"
        pe = control_risk * (1 - rrr)
        pbar = (control_risk + pe) / 2
        ris = 4 * zz * pbar * (1 - pbar) / (control_risk - pe) ** 2
    else:
        raise DesignError(
            "give delta and sd (continuous outcome) or control_risk and rrr (binary)",
            code="missing",
            field="delta",
        )
    adjustment, het = "none", 0.0
    if diversity is not None:
        adjustment, het = "diversity", float(diversity)
    elif i2 is not None:
        adjustment, het = "i2", float(i2)
    if not 0 <= het < 1:
        raise DesignError(
            f"{adjustment} {het}: allowed from 0 up to (not including) 1",
            code="out_of_range",
            field="diversity" if adjustment == "diversity" else "i2",
        )
    return InformationSize(
        outcome=outcome,
        alpha=alpha,
        beta=beta,
        sided=sided,
        delta=delta,
        sd=sd,
        control_risk=control_risk,
        rrr=rrr,
        adjustment=adjustment,
        heterogeneity=het,
        ris=ris,
        required=ris / (1 - het),
    )


@dataclass(frozen=True)
class TSAResult(Result):
    """A trial sequential analysis: one entry per cumulative look (chronological order).

    ``z`` cumulative Z-statistics (sign: positive = ``benefit`` direction when
    ``benefit="positive"``), ``fraction`` accrued information / required, ``upper``/``lower``
    monitoring boundaries (±, ``inf`` where no alpha is spent yet), ``futility`` inner-wedge
    bounds (NaN without futility), ``estimate``/``se`` of the last cumulative meta-analysis,
    ``ci_*`` conventional and ``tsa_ci_*`` TSA-adjusted intervals, ``status`` one of
    ``"benefit"``, ``"harm"``, ``"futility"``, ``"ris_reached"``, ``"inconclusive"``,
    ``more_needed`` participants still needed, and ``verdict`` in words.
    """

    labels: tuple[str, ...]
    years: np.ndarray
    n: np.ndarray
    accrued: np.ndarray
    fraction: np.ndarray
    estimates: np.ndarray
    ses: np.ndarray
    z: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    futility: np.ndarray
    final_upper: float
    information: InformationSize
    heterogeneity: Heterogeneity
    model: str
    alpha: float
    beta: float
    benefit: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    tsa_ci_lower: float
    tsa_ci_upper: float
    status: str
    more_needed: int
    verdict: str
    #: binary outcomes (:func:`tsa_binary`): ``"RR"`` (estimates on the log scale) or ``"RD"``
    measure: str = ""
    #: what was done about zero events, trials left out
    notes: tuple[str, ...] = ()

    @property
    def required(self) -> float:
        """The (heterogeneity-adjusted) required information size."""
        return self.information.required

    def to_frame(self) -> pd.DataFrame:
        """One row per cumulative look."""
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "year": self.years,
                "n": self.n,
                "accrued": self.accrued,
                "fraction": self.fraction,
                "estimate": self.estimates,
                "se": self.ses,
                "z": self.z,
                "upper": self.upper,
                "lower": self.lower,
                "futility": self.futility,
            }
        )

    def summary(self) -> str:
        lines = [
            "Trial sequential analysis",
            f"  {self.information.summary()}",
            f"  accrued {int(self.accrued[-1])} participants in {len(self.n)} "
            f"trial{'s' if len(self.n) != 1 else ''} "
            f"({self.fraction[-1]:.1%} of the required information); {self.model}-effects model, "
            f"D2 = {self.heterogeneity.d2:.0%}, I2 = {self.heterogeneity.i2:.0%}",
            f"  cumulative Z = {self.z[-1]:.3f}; monitoring boundary ±{_fmt(self.upper[-1])}; "
            f"conventional ±{ndtri(1 - self.alpha / 2):.3f}",
            f"  estimate {self.estimate:.4f}, {1 - self.alpha:.0%} CI {self.ci_lower:.4f} to "
            f"{self.ci_upper:.4f}; TSA-adjusted CI {_fmt(self.tsa_ci_lower)} to "
            f"{_fmt(self.tsa_ci_upper)}",
            f"  {self.verdict}",
        ]
        if self.measure == "RR":
            lines.insert(
                -1,
                f"  risk ratio {math.exp(self.estimate):.3f}, {1 - self.alpha:.0%} CI "
                f"{math.exp(self.ci_lower):.3f} to {math.exp(self.ci_upper):.3f}; TSA-adjusted "
                f"CI {_fmt_exp(self.tsa_ci_lower)} to {_fmt_exp(self.tsa_ci_upper)}",
            )
        lines[1:1] = [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """The TSA plot (see :func:`cpstem.design.plots.tsa_plot`)."""
        from cpstem.design.plots import tsa_plot

        return tsa_plot(self, ax=ax)


def _fmt_exp(v: float) -> str:
    return f"{math.exp(v):.3f}" if math.isfinite(v) else "not available"


def _fmt(v: float) -> str:
    return f"{v:.3f}" if math.isfinite(v) else "not available"


def _cumulative_alpha(info: np.ndarray, alpha: float, alpha_spending: str) -> np.ndarray:
    """Two-sided alpha spent by ``info`` (both sides together)."""
    if alpha_spending == "per_side":
        return 2.0 * spending_values("obf", info, alpha / 2.0, sided=1)
    return np.asarray(lan_demets_obf(info, alpha), dtype=float)


def _check_spending(alpha_spending: str) -> None:
    if alpha_spending not in ALPHA_SPENDING:
        raise DesignError(
            f"alpha_spending {alpha_spending!r}: allowed {', '.join(ALPHA_SPENDING)}",
            code="not_allowed",
            field="alpha_spending",
        )


def monitoring_boundaries(
    fraction: Sequence[float] | np.ndarray, alpha: float = 0.05, alpha_spending: str = "total"
) -> np.ndarray:
    """Two-sided Lan–DeMets O'Brien–Fleming monitoring boundaries (upper; the lower are their
    negatives) at the information ``fraction`` of each look, in increasing order; the last look
    is the final analysis and spends all of ``alpha`` (as RTSA at its last timing). ``inf``
    where (almost) no alpha is spent yet (a boundary above 7.5)."""
    info = np.asarray(fraction, dtype=float).ravel()
    if (
        len(info) == 0
        or np.any(~np.isfinite(info))
        or np.any(info <= 0)
        or np.any(np.diff(info) <= 0)
    ):
        raise DesignError(
            "fraction: positive, increasing information fractions needed",
            code="invalid",
            field="fraction",
        )
    _check_spending(alpha_spending)
    spend = np.minimum(_cumulative_alpha(info, alpha, alpha_spending), alpha)
    spend[-1] = alpha
    crit = spending_critical_values(spend, info, sided=2)
    return np.where(crit >= 7.5, np.inf, crit)


def _monitoring(
    fraction: np.ndarray, alpha: float, alpha_spending: str = "total"
) -> tuple[np.ndarray, np.ndarray, float]:
    """Boundaries at the looks (fraction ≥ 1 is the final analysis) and the final boundary."""
    early = fraction[fraction < 1]
    info = np.append(early, 1.0)
    crit = monitoring_boundaries(info, alpha, alpha_spending)
    return _at_looks(crit, len(early), len(fraction)), info, float(crit[-1])


def _at_looks(values: np.ndarray, early: int, k: int) -> np.ndarray:
    """Values on ``info`` (the early looks, then t = 1) mapped onto the ``k`` looks."""
    return np.concatenate([values[:early], np.full(k - early, values[-1])])


def tsa(
    yi: Any,
    vi: Any = None,
    n: Sequence[float] | np.ndarray | None = None,
    years: Sequence[float] | np.ndarray | None = None,
    *,
    information: InformationSize | float | None = None,
    delta: float | None = None,
    sd: float | None = None,
    control_risk: float | None = None,
    rrr: float | None = None,
    alpha: float = 0.05,
    beta: float = 0.2,
    model: str = "random",
    adjustment: str = "diversity",
    futility: bool = False,
    benefit: str = "positive",
    labels: Sequence[str] | None = None,
    alpha_spending: str = "total",
    _fixed_pool: Callable[[np.ndarray], tuple[float, float]] | None = None,
) -> TSAResult:
    """Trial sequential analysis of effect estimates ``yi`` with variances ``vi``.

    ``yi`` may be a fitted ``cpstem.evidence`` model (its ``yi``, ``vi`` and labels are used).
    ``n``: participants per trial; ``years`` (or any ordering key) sorts the trials
    chronologically (stable; given order if omitted). The required information comes from
    ``information`` (an :class:`InformationSize`, or a number of participants already
    adjusted), or from ``delta``/``sd`` or ``control_risk``/``rrr``, adjusted by the
    ``adjustment`` (``"diversity"`` D² or ``"i2"`` of all trials, or ``"none"``).
    ``benefit``: the sign of ``yi`` that favours the intervention (``"positive"`` for a mean
    difference in GMFM points, ``"negative"`` for a log risk ratio of harm events).
    ``alpha_spending``: ``"total"`` (``2 − 2Φ(z_{1−α/2}/√t)`` of the two-sided α, split
    equally) or ``"per_side"`` (α/2 per side, as R RTSA 0.2.2).
    """
    if hasattr(yi, "yi") and hasattr(yi, "vi"):
        fit = yi
        if labels is None and getattr(fit, "labels", None):
            labels = list(fit.labels)
        yi, vi = fit.yi, fit.vi
    y, v = _vectors(yi, vi)
    k = len(y)
    if n is None:
        raise DesignError("n (participants per trial) is needed", code="missing", field="n")
    nn = np.asarray(n, dtype=float).ravel()
    if len(nn) != k or np.any(~np.isfinite(nn)) or np.any(nn <= 0):
        raise DesignError(
            f"n: {k} positive participant counts needed, one per trial",
            code="invalid",
            field="n",
            params={"k": k, "n": len(nn)},
        )
    if model not in MODELS:
        raise DesignError(
            f"model {model!r}: allowed 'random' or 'fixed'", code="not_allowed", field="model"
        )
    _check_spending(alpha_spending)
    if adjustment not in ADJUSTMENTS:
        raise DesignError(
            f"adjustment {adjustment!r}: allowed {', '.join(ADJUSTMENTS)}",
            code="not_allowed",
            field="adjustment",
        )
    if benefit not in ("positive", "negative"):
        raise DesignError(
            f"benefit {benefit!r}: allowed 'positive' or 'negative'",
            code="not_allowed",
            field="benefit",
        )
    if not 0 < alpha < 1:
        raise DesignError(
            f"alpha {alpha:g}: allowed above 0 and below 1", code="out_of_range", field="alpha"
        )
    order = (
        np.arange(k) if years is None else np.argsort(np.asarray(years, dtype=float), kind="stable")
    )
    yrs = np.full(k, np.nan) if years is None else np.asarray(years, dtype=float)[order]
    labs = tuple(
        str(x) for x in (labels if labels is not None else [f"trial {i + 1}" for i in range(k)])
    )
    if len(labs) != k:
        raise DesignError(f"labels: {k} needed", code="invalid", field="labels")
    labs = tuple(labs[i] for i in order)
    y, v, nn = y[order], v[order], nn[order]
    het = diversity(y, v)
    if isinstance(information, InformationSize):
        info_size = information
    else:
        hetvalue = {"diversity": het.d2, "i2": het.i2, "none": None}[adjustment]
        if information is not None:
            req = float(information)
            if not req > 0:
                raise DesignError(
                    "information: must be above 0", code="out_of_range", field="information"
                )
            info_size = InformationSize(
                outcome="given", alpha=alpha, beta=beta, sided=2, delta=None, sd=None,
                control_risk=None, rrr=None, adjustment="none", heterogeneity=0.0,
                ris=req, required=req,
            )  # fmt: skip
        else:
            info_size = required_information_size(
                delta=delta,
                sd=sd,
                control_risk=control_risk,
                rrr=rrr,
                alpha=alpha,
                beta=beta,
                diversity=hetvalue if adjustment == "diversity" else None,
                i2=hetvalue if adjustment == "i2" else None,
            )
    required = info_size.required
    sign = 1.0 if benefit == "positive" else -1.0
    est = np.empty(k)
    ses = np.empty(k)
    for j in range(1, k + 1):
        f, vf, r, vr, _, _ = _pool(y[:j], v[:j])
        if model == "fixed" and _fixed_pool is not None:
            f, vf = _fixed_pool(order[:j])
        est[j - 1], ses[j - 1] = (r, math.sqrt(vr)) if model == "random" else (f, math.sqrt(vf))
    z = sign * est / ses
    accrued = np.cumsum(nn)
    fraction = accrued / required
    upper, info, final = _monitoring(fraction, alpha, alpha_spending)
    fut = np.full(k, np.nan)
    if futility:
        cum_beta = spending_values("obf", info, beta, beta=True)
        cum_beta[-1] = beta
        crit_info = np.append(upper[fraction < 1], final)
        crit_info = np.where(np.isfinite(crit_info), crit_info, 8.0)
        fb, _, _ = beta_spending_one_sided(
            crit_info, np.zeros(len(info)), cum_beta, info, binding=False
        )
        fut = _at_looks(fb, int(np.sum(fraction < 1)), k)
        fut = np.where(fut > 0, fut, np.nan)
    estimate, se = float(est[-1]), float(ses[-1])
    zc = float(ndtri(1 - alpha / 2))
    c_now = float(upper[-1])
    tsa_lo = estimate - c_now * se if math.isfinite(c_now) else -math.inf
    tsa_hi = estimate + c_now * se if math.isfinite(c_now) else math.inf
    status, more, verdict = _verdict(
        z[-1], upper[-1], fut[-1], fraction[-1], required, accrued[-1], alpha
    )
    return TSAResult(
        labels=labs,
        years=frozen_array(yrs),
        n=frozen_array(nn),
        accrued=frozen_array(accrued),
        fraction=frozen_array(fraction),
        estimates=frozen_array(est),
        ses=frozen_array(ses),
        z=frozen_array(z),
        upper=frozen_array(upper),
        lower=frozen_array(-upper),
        futility=frozen_array(fut),
        final_upper=final,
        information=info_size,
        heterogeneity=het,
        model=model,
        alpha=alpha,
        beta=beta,
        benefit=benefit,
        estimate=estimate,
        se=se,
        ci_lower=estimate - zc * se,
        ci_upper=estimate + zc * se,
        tsa_ci_lower=tsa_lo,
        tsa_ci_upper=tsa_hi,
        status=status,
        more_needed=more,
        verdict=verdict,
    )


def _verdict(
    z: float,
    bound: float,
    fut: float,
    fraction: float,
    required: float,
    accrued: float,
    alpha: float,
) -> tuple[str, int, str]:
    more = max(0, math.ceil(required - accrued))
    if math.isfinite(bound) and z >= bound:
        return (
            "benefit",
            0,
            (
                f"Benefit established: the cumulative Z-curve ({z:.2f}) crosses the monitoring "
                f"boundary for benefit ({bound:.2f}) at {fraction:.0%} of the required information."
            ),
        )
    if math.isfinite(bound) and z <= -bound:
        return (
            "harm",
            0,
            (
                f"Harm established: the cumulative Z-curve ({z:.2f}) crosses the monitoring "
                f"boundary for harm ({-bound:.2f}) at {fraction:.0%} of the required information."
            ),
        )
    if math.isfinite(fut) and abs(z) < fut:
        return (
            "futility",
            0,
            (
                f"Futility: the cumulative Z-curve ({z:.2f}) lies inside the futility boundaries "
                f"(±{fut:.2f}); an effect of the size assumed is unlikely."
            ),
        )
    if fraction >= 1:
        return (
            "ris_reached",
            0,
            (
                "The required information size is reached without crossing a monitoring boundary: "
                "an effect of the size assumed is unlikely."
            ),
        )
    zc = ndtri(1 - alpha / 2)
    conv = " (although it crosses the conventional boundary)" if abs(z) >= zc else ""
    return (
        "inconclusive",
        more,
        (
            f"Inconclusive: the cumulative Z-curve ({z:.2f}) crosses no monitoring boundary{conv}; "
            f"{more} more participants are needed to reach the required information size "
            f"({math.ceil(required)})."
        ),
    )


def implied_sd(vi: Any, n1i: Any, n2i: Any) -> float:
    """The outcome SD implied by mean-difference variances ``vi = sd²(1/n1 + 1/n2)`` (equal SDs
    in both arms), pooled over trials with weights ``n1 + n2 − 2``: the SD for the required
    information size of a mean difference when the trials' SDs are not at hand."""
    v = np.asarray(vi, dtype=float).ravel()
    n1 = np.asarray(n1i, dtype=float).ravel()
    n2 = np.asarray(n2i, dtype=float).ravel()
    if not (len(v) == len(n1) == len(n2)) or len(v) == 0 or np.any(v <= 0) or np.any(n1 < 1):
        raise DesignError(
            "vi, n1i, n2i: one positive variance and arm sizes per trial",
            code="invalid",
            field="vi",
        )
    sd2 = v / (1 / n1 + 1 / n2)
    df = n1 + n2 - 2
    return float(math.sqrt((df * sd2).sum() / df.sum()))


def _counts(name: str, values: Any, k: int | None) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    if (k is not None and len(a) != k) or len(a) == 0 or np.any(~np.isfinite(a)) or np.any(a < 0):
        raise DesignError(
            f"{name}: one non-negative count per trial needed",
            code="invalid",
            field=name,
        )
    return a


def binary_effects(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    measure: str = "RR",
    zero: float = 0.5,
    double_zero: str = "exclude",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Log risk ratios (``"RR"``) or risk differences (``"RD"``) of intervention (``ai`` events
    of ``n1i``) vs control (``ci`` of ``n2i``) with their variances, the mask of trials kept and
    notes on the zero-event handling (see the module docstring; as R RTSA 0.2.2 metaPrepare)."""
    if measure not in BINARY_MEASURES:
        raise DesignError(
            f"measure {measure!r}: allowed {', '.join(BINARY_MEASURES)}",
            code="not_allowed",
            field="measure",
        )
    if double_zero not in ("exclude", "include"):
        raise DesignError(
            f"double_zero {double_zero!r}: allowed 'exclude' or 'include'",
            code="not_allowed",
            field="double_zero",
        )
    if not (math.isfinite(zero) and zero > 0):
        raise DesignError(f"zero {zero}: must be above 0", code="out_of_range", field="zero")
    a = _counts("ai", ai, None)
    k = len(a)
    n1, c, n2 = _counts("n1i", n1i, k), _counts("ci", ci, k), _counts("n2i", n2i, k)
    if np.any(n1 <= 0) or np.any(n2 <= 0) or np.any(a > n1) or np.any(c > n2):
        raise DesignError(
            "each arm needs at least one participant and no more events than participants",
            code="invalid",
            field="n1i",
        )
    notes: list[str] = []
    both = (a == 0) & (c == 0)
    keep = ~both if double_zero == "exclude" else np.ones(k, dtype=bool)
    if both.any():
        notes.append(
            f"{int(both.sum())} trial(s) with no event in either arm "
            + (
                "left out (no information on a ratio scale; their participants not counted)"
                if double_zero == "exclude"
                else f"kept with {zero:g} added to each cell"
            )
        )
    if measure == "RR":
        allev = (a == n1) & (c == n2)
        if (allev & keep).any():
            notes.append(
                f"{int((allev & keep).sum())} trial(s) with events in every participant left out"
            )
            keep &= ~allev
    if not keep.any():
        raise DesignError(
            "no trial has an event: a trial sequential analysis of a risk ratio needs events",
            code="invalid",
            field="ai",
        )
    a, n1, c, n2 = a[keep], n1[keep], c[keep], n2[keep]
    adj = (a == 0) | (c == 0) | (a == n1) | (c == n2)
    if adj.any():
        notes.append(
            f"{int(adj.sum())} trial(s) with a zero cell: {zero:g} added to each event count and "
            f"{2 * zero:g} to each arm (constant continuity correction)"
        )
    a, n1, c, n2 = _adjusted_counts(a, n1, c, n2, zero)
    p1, p2 = a / n1, c / n2
    if measure == "RR":
        yi = np.log(p1 / p2)
        vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    else:
        yi = p1 - p2
        vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    return yi, vi, keep, notes


def _adjusted_counts(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, zero: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    adj = (a == 0) | (c == 0) | (a == n1) | (c == n2)
    return (
        np.where(adj, a + zero, a),
        np.where(adj, n1 + 2 * zero, n1),
        np.where(adj, c + zero, c),
        np.where(adj, n2 + 2 * zero, n2),
    )


def mantel_haenszel(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, measure: str = "RR"
) -> tuple[float, float]:
    """Mantel–Haenszel pooled log risk ratio or risk difference and its variance
    (Greenland & Robins 1985), as R RTSA 0.2.2 and metafor ``rma.mh``."""
    b, d = n1 - a, n2 - c
    n = n1 + n2
    if measure == "RR":
        r = a * n2 / n
        s_ = c * n1 / n
        p = (n1 * n2 * (a + c) - a * c * n) / n**2
        return float(math.log(r.sum() / s_.sum())), float(p.sum() / (r.sum() * s_.sum()))
    w = n1 * n2 / n
    rd = float((w * (a / n1 - c / n2)).sum() / w.sum())
    var = float(((a * b * n2**3 + c * d * n1**3) / (n1 * n2 * n**2)).sum() / w.sum() ** 2)
    return rd, var


def tsa_binary(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    years: Sequence[float] | np.ndarray | None = None,
    *,
    rrr: float = 0.2,
    control_risk: float | None = None,
    measure: str = "RR",
    zero: float = 0.5,
    double_zero: str = "exclude",
    alpha: float = 0.05,
    beta: float = 0.2,
    model: str = "random",
    adjustment: str = "diversity",
    futility: bool = False,
    benefit: str = "negative",
    labels: Sequence[str] | None = None,
    alpha_spending: str = "total",
    weights: str = "IV",
) -> TSAResult:
    """Trial sequential analysis of a binary outcome from 2×2 counts per trial.

    ``ai`` events among ``n1i`` intervention participants, ``ci`` among ``n2i`` controls. The
    required information is the binary RIS for ``control_risk`` (default: the pooled risk of
    the control arms analysed, ``Σci/Σn2i``) and the relative risk reduction ``rrr``;
    accrued information is the participants of the trials analysed. ``benefit="negative"``:
    fewer events with the intervention favour it (a harmful event such as a serious adverse
    event). Zero events: see :func:`binary_effects`. ``weights="MH"``: the fixed-effect
    cumulative estimates are Mantel–Haenszel (on the corrected counts, as RTSA); the random-
    effects model is always inverse-variance DerSimonian–Laird.
    """
    if weights not in ("IV", "MH"):
        raise DesignError(
            f"weights {weights!r}: allowed 'IV' or 'MH'", code="not_allowed", field="weights"
        )
    yi, vi, keep, notes = binary_effects(ai, n1i, ci, n2i, measure, zero, double_zero)
    a0, n10, c0, n20 = (np.asarray(x, dtype=float).ravel()[keep] for x in (ai, n1i, ci, n2i))
    ca, cn1, cc, cn2 = _adjusted_counts(a0, n10, c0, n20, zero)

    def mh(idx: np.ndarray) -> tuple[float, float]:
        return mantel_haenszel(ca[idx], cn1[idx], cc[idx], cn2[idx], measure)

    n1 = np.asarray(n1i, dtype=float).ravel()[keep]
    n2 = np.asarray(n2i, dtype=float).ravel()[keep]
    c = np.asarray(ci, dtype=float).ravel()[keep]
    if control_risk is None:
        control_risk = float(c.sum() / n2.sum())
        notes.append(
            f"control risk {control_risk:.2%} = control-arm events / participants of the trials "
            f"analysed ({int(c.sum())}/{int(n2.sum())})"
        )
        if control_risk == 0:
            raise DesignError(
                "no control-arm event: give control_risk",
                code="missing",
                field="control_risk",
            )
    labs = None if labels is None else [str(x) for x, kk in zip(labels, keep, strict=True) if kk]
    yrs = None if years is None else np.asarray(years, dtype=float).ravel()[keep]
    res = tsa(
        yi, vi, n1 + n2, yrs, control_risk=control_risk, rrr=rrr, alpha=alpha, beta=beta,
        model=model, adjustment=adjustment, futility=futility, benefit=benefit, labels=labs,
        alpha_spending=alpha_spending, _fixed_pool=mh if weights == "MH" else None,
    )  # fmt: skip
    return replace(res, measure=measure, notes=tuple(notes))
