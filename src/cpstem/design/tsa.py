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
  verdict in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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
            f"  accrued {int(self.accrued[-1])} participants in {len(self.n)} trials "
            f"({self.fraction[-1]:.1%} of the required information); {self.model}-effects model, "
            f"D2 = {self.heterogeneity.d2:.0%}, I2 = {self.heterogeneity.i2:.0%}",
            f"  cumulative Z = {self.z[-1]:.3f}; monitoring boundary ±{_fmt(self.upper[-1])}; "
            f"conventional ±{ndtri(1 - self.alpha / 2):.3f}",
            f"  estimate {self.estimate:.4f}, {1 - self.alpha:.0%} CI {self.ci_lower:.4f} to "
            f"{self.ci_upper:.4f}; TSA-adjusted CI {_fmt(self.tsa_ci_lower)} to "
            f"{_fmt(self.tsa_ci_upper)}",
            f"  {self.verdict}",
        ]
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """The TSA plot (see :func:`cpstem.design.plots.tsa_plot`)."""
        from cpstem.design.plots import tsa_plot

        return tsa_plot(self, ax=ax)


def _fmt(v: float) -> str:
    return f"{v:.3f}" if math.isfinite(v) else "not available"


def _monitoring(fraction: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Boundaries at the looks (fraction ≥ 1 is the final analysis) and the final boundary."""
    early = fraction[fraction < 1]
    info = np.append(early, 1.0)
    spend = np.minimum(lan_demets_obf(info, alpha), alpha)
    spend[-1] = alpha
    crit = spending_critical_values(spend, info, sided=2)
    crit = np.where(crit >= 7.5, np.inf, crit)
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
        est[j - 1], ses[j - 1] = (r, math.sqrt(vr)) if model == "random" else (f, math.sqrt(vf))
    z = sign * est / ses
    accrued = np.cumsum(nn)
    fraction = accrued / required
    upper, info, final = _monitoring(fraction, alpha)
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
