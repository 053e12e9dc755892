"""Group-sequential designs: boundaries, error spending, inflation factor, expected sample size.

``group_sequential(...)`` builds a design like rpact's ``getDesignGroupSequential`` followed by
``getDesignCharacteristics`` (rpact 3.3.4), and its numbers equal rpact's to about 1e-8 (see
``tests/design/rpact``). Everything is on the z-scale of the canonical joint distribution:
``Z_k ~ N(θ√t_k, 1)`` with independent increments, ``t_k`` the information fraction.

The *drift* (rpact's ``shift``) is the maximum information, in units where the fixed design
needs ``n_fixed_z = (z_{1−α/s} + z_{1−β})²``, that gives power ``1 − β``; the inflation
factor is ``drift / n_fixed_z`` and the expected sample sizes (``asn_*``) are relative to the
fixed design, under H0, under H1 and half way (rpact's ``averageSampleNumber0/1/01``).
Non-binding futility bounds are used for power and expected sample size (stopping for
futility is expected to happen) but not for the type I error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from cpstem.design.boundaries import (
    beta_spending_one_sided,
    beta_spending_two_sided,
    decision_matrix,
    four_rows,
    spending_critical_values,
    wang_tsiatis_critical_values,
)
from cpstem.design.errors import DesignError
from cpstem.design.probabilities import FUTILITY_DEFAULT, probabilities
from cpstem.design.spending import SPENDING, spending_values
from cpstem.results import Result, frozen_array

CLASSIC_DELTA = {"obf": 0.0, "pocock": 0.5}
_NAMES = {
    "obf": "O'Brien-Fleming",
    "pocock": "Pocock",
    "hsd": "Hwang-Shih-DeCani",
    "kd": "Kim-DeMets",
}


def information_rates(k: int | None, timing: Any) -> np.ndarray:
    """Validated information fractions: ``timing`` (increasing, ending at 1) or ``k`` looks."""
    if timing is None:
        if k is None:
            raise DesignError("give k (number of analyses) or timing", code="missing", field="k")
        if int(k) != k or not 1 <= int(k) <= 20:
            raise DesignError(
                f"k {k}: allowed a whole number of analyses from 1 to 20",
                code="out_of_range",
                field="k",
                params={"value": k},
            )
        return np.arange(1, int(k) + 1) / int(k)
    t = np.asarray(timing, dtype=float).ravel()
    if k is not None and len(t) != k:
        raise DesignError(
            f"timing has {len(t)} values but k is {k}",
            code="invalid",
            field="timing",
            params={"k": k, "n": len(t)},
        )
    if len(t) == 0 or np.any(~np.isfinite(t)) or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise DesignError(
            "timing: information fractions must be positive and strictly increasing",
            code="invalid",
            field="timing",
            params={"value": t.tolist()},
        )
    if abs(t[-1] - 1.0) > 1e-12:
        raise DesignError(
            f"timing: the last information fraction must be 1, not {t[-1]:g}",
            code="invalid",
            field="timing",
            params={"value": t.tolist()},
        )
    t[-1] = 1.0
    return t


def _check_level(value: float, field: str, upper: float) -> None:
    if not (0 < value < upper):
        raise DesignError(
            f"{field} {value}: allowed above 0 and below {upper:g}",
            code="out_of_range",
            field=field,
            params={"value": value},
        )


@dataclass(frozen=True)
class GroupSequentialDesign(Result):
    """A group-sequential design and its characteristics (z-scale; rpact conventions).

    ``critical`` efficacy boundaries; ``futility_bounds`` (``k − 1`` values, NaN without
    futility); ``alpha_spent`` cumulative type I error; ``stage_levels`` one-sided nominal
    levels ``1 − Φ(critical)``; ``beta_spent`` cumulative type II error (futility designs);
    ``rejection_h0``/``rejection_h1`` stage-wise probabilities of crossing the efficacy
    boundary; ``futility_h1`` stage-wise probability of stopping for futility under H1;
    ``power`` cumulative power; ``drift``, ``n_fixed_z``, ``inflation_factor``, ``asn_h0``,
    ``asn_h01``, ``asn_h1`` as in rpact's ``getDesignCharacteristics``; with ``n_fixed``
    given, ``n_max`` and ``n_expected_*`` in participants.
    """

    k: int
    timing: np.ndarray
    alpha: float
    beta: float
    sided: int
    spending: str
    gamma: float | None
    classic: bool
    futility: str | None
    gamma_futility: float | None
    binding: bool
    critical: np.ndarray
    futility_bounds: np.ndarray
    alpha_spent: np.ndarray
    stage_levels: np.ndarray
    beta_spent: np.ndarray | None
    rejection_h0: np.ndarray
    rejection_h1: np.ndarray
    futility_h1: np.ndarray
    power: np.ndarray
    drift: float
    n_fixed_z: float
    inflation_factor: float
    asn_h0: float
    asn_h01: float
    asn_h1: float
    n_fixed: float | None
    n_max: float | None
    n_expected_h0: float | None
    n_expected_h01: float | None
    n_expected_h1: float | None

    @property
    def design_name(self) -> str:
        name = _NAMES[self.spending]
        if self.classic:
            return f"{name} (classic, Wang-Tsiatis)"
        g = f", gamma = {self.gamma:g}" if self.gamma is not None else ""
        return f"Lan-DeMets alpha spending, {name} type{g}"

    def to_frame(self) -> pd.DataFrame:
        """One row per stage: timing, boundaries, levels, spending and stopping probabilities."""
        fut = np.append(self.futility_bounds, np.nan)
        data: dict[str, Any] = {
            "stage": np.arange(1, self.k + 1),
            "information_rate": self.timing,
            "efficacy_z": self.critical,
            "futility_z": fut,
            "stage_level": self.stage_levels,
            "alpha_spent": self.alpha_spent,
            "rejection_h0": self.rejection_h0,
            "rejection_h1": self.rejection_h1,
            "futility_h1": np.append(self.futility_h1, np.nan),
            "power": self.power,
        }
        if self.beta_spent is not None:
            data["beta_spent"] = self.beta_spent
        if self.n_max is not None:
            data["n"] = self.timing * self.n_max
        return pd.DataFrame(data)

    def summary(self) -> str:
        """The design as rpact prints it: boundaries, spending and sample sizes."""
        sides = "one-sided" if self.sided == 1 else "two-sided"
        lines = [
            f"Group-sequential design: {self.design_name}",
            f"  k = {self.k} analyses, {sides} alpha = {self.alpha:g}, power = {1 - self.beta:g}",
        ]
        if self.futility is not None:
            g = f", gamma = {self.gamma_futility:g}" if self.gamma_futility is not None else ""
            kind = "binding" if self.binding else "non-binding"
            lines.append(f"  futility: beta spending, {_NAMES[self.futility]} type{g} ({kind})")
        header = ["Stage", *[str(i) for i in range(1, self.k + 1)]]
        rows = self.table_rows()
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for r in [header, *rows]:
            lines.append(
                "  "
                + "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        lines.append(
            f"  Inflation factor {self.inflation_factor:.4f}; expected sample size relative to the "
            f"fixed design: H0 {self.asn_h0:.4f}, H0/H1 midpoint {self.asn_h01:.4f}, "
            f"H1 {self.asn_h1:.4f}"
        )
        if self.n_fixed is not None and self.n_max is not None:
            lines.append(
                f"  Fixed design n = {self.n_fixed:g}: maximum n = {self.n_max:.1f}, expected n "
                f"under H0 {self.n_expected_h0:.1f}, under H1 {self.n_expected_h1:.1f}"
            )
        return "\n".join(lines)

    def table_rows(self) -> list[list[str]]:
        """The printed table as rpact shows it: one row per quantity, one column per stage."""
        frame = self.to_frame()
        rows: list[list[str]] = [
            ["Information rate", *[f"{v:.3f}" for v in self.timing]],
            ["Efficacy boundary (z)", *[_z(v) for v in self.critical]],
        ]
        if self.futility is not None:
            label = "Futility boundary (z)" if self.sided == 1 else "Futility region |z| <"
            rows.append([label, *[_z(v) for v in frame["futility_z"]]])
        rows += [
            ["Stage level (one-sided)", *[f"{v:.5f}" for v in self.stage_levels]],
            ["Cumulative alpha spent", *[f"{v:.5f}" for v in self.alpha_spent]],
        ]
        if self.beta_spent is not None:
            rows.append(["Cumulative beta spent", *[f"{v:.5f}" for v in self.beta_spent]])
        rows += [
            ["Rejection prob. under H1", *[f"{v:.4f}" for v in self.rejection_h1]],
            ["Cumulative power", *[f"{v:.4f}" for v in self.power]],
        ]
        if self.futility is not None:
            rows.append(["Futility stop under H1", *[_p(v) for v in frame["futility_h1"]]])
        if self.n_max is not None:
            rows.append(["Sample size (cumulative)", *[f"{v:.1f}" for v in frame["n"]]])
        return rows

    def conditional_power(self, stage: int, z: float, theta: float | str | None = None) -> float:
        """See :func:`conditional_power`."""
        return conditional_power(self, stage, z, theta)


def _z(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v:.4f}"


def _p(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:.4f}"


def _spent(
    kind: str, t: np.ndarray, level: float, sided: int, gamma: float | None, beta: bool
) -> np.ndarray:
    vals = spending_values(kind, t, level, sided=sided, gamma=gamma, beta=beta)
    vals[-1] = min(vals[-1], level) if t[-1] == 1.0 else vals[-1]
    return vals


def _stop_probability(probs: np.ndarray) -> np.ndarray:
    if probs.shape[0] == 3:
        return probs[2] - probs[1] + probs[0]
    return probs[4] - probs[3] + probs[2] - probs[1] + probs[0]


def _asn(info: np.ndarray, probs: np.ndarray, shift: float, n_fixed_z: float) -> float:
    stop = _stop_probability(probs)[:-1]
    return float((shift - np.sum(stop * (info[-1] - info[:-1]) * shift)) / n_fixed_z)


def _shifted_matrix(
    critical: np.ndarray,
    futility: np.ndarray | None,
    sided: int,
    info: np.ndarray,
    mean: np.ndarray,
) -> np.ndarray:
    """rpact's decision matrices of ``getDesignCharacteristics`` at drift ``mean`` (per stage)."""
    crit = np.minimum(critical, 7.5)
    if sided == 2:
        if futility is None:
            return np.vstack([-crit - mean, crit - mean])
        fut = np.where(np.isnan(futility), 0.0, futility)
        # rpact leaves the last stage's (empty) inner region at 0, unshifted
        inner_lo = np.append(-fut - mean[:-1], 0.0)
        inner_hi = np.append(fut - mean[:-1], 0.0)
        return np.vstack([-crit - mean, inner_lo, inner_hi, crit - mean])
    lower = np.full(len(crit), FUTILITY_DEFAULT)
    if futility is not None:
        shifted = futility - mean[:-1]
        shifted[futility <= FUTILITY_DEFAULT] = FUTILITY_DEFAULT
        lower[:-1] = shifted
    return np.vstack([lower, crit - mean])


def characteristics(
    critical: np.ndarray,
    futility: np.ndarray | None,
    info: np.ndarray,
    alpha: float,
    beta: float,
    sided: int,
) -> dict[str, Any]:
    """rpact's ``getDesignCharacteristics`` for designs without a two-sided futility region."""
    n_fixed_z = float((ndtri(1 - alpha / sided) + ndtri(1 - beta)) ** 2)
    kmax = len(info)
    if kmax == 1:
        return {
            "drift": n_fixed_z, "n_fixed_z": n_fixed_z, "inflation_factor": 1.0,
            "asn_h0": 1.0, "asn_h01": 1.0, "asn_h1": 1.0,
            "power": np.array([1 - beta]), "rejection_h1": np.array([1 - beta]),
            "futility_h1": np.zeros(0),
        }  # fmt: skip

    def probs_at(shift: float) -> np.ndarray:
        return probabilities(
            _shifted_matrix(critical, futility, sided, info, np.sqrt(shift * info)), info
        )

    def power_gap(shift: float) -> float:
        p = probs_at(shift)
        return float(np.sum(p[-1] - p[-2])) - 1 + beta

    upper = 4 * (ndtri(1 - alpha / sided) + ndtri(1 - beta)) ** 2
    shift = float(brentq(power_gap, 0.0, upper, xtol=1e-13, rtol=1e-15, maxiter=200))
    p1 = probs_at(shift)
    rej1 = p1[-1] - p1[-2]
    if futility is None:
        fut1 = np.zeros(kmax - 1)
        last_beta = 1 - float(np.sum(rej1))
    elif sided == 1:
        fut1 = p1[0][:-1].copy()
        fut1[futility == FUTILITY_DEFAULT] = 0.0
        last_beta = float(p1[1, -1])
    else:
        fut1 = (p1[2] - p1[1])[:-1]
        last_beta = float(p1[3, -1] - p1[0, -1])
    return {
        "drift": shift,
        "n_fixed_z": n_fixed_z,
        "inflation_factor": shift / n_fixed_z,
        "asn_h1": _asn(info, p1, shift, n_fixed_z),
        "asn_h0": _asn(info, probs_at(0.0), shift, n_fixed_z),
        "asn_h01": _asn(
            info,
            probabilities(
                _shifted_matrix(critical, futility, sided, info, np.sqrt(shift * info) / 2), info
            ),
            shift,
            n_fixed_z,
        ),
        "power": np.cumsum(rej1),
        "rejection_h1": rej1,
        "futility_h1": fut1,
        "beta_spent": np.cumsum(np.append(fut1, last_beta)),
    }


def group_sequential(
    k: int | None = None,
    timing: Any = None,
    alpha: float = 0.025,
    beta: float = 0.2,
    sided: int = 1,
    spending: str = "obf",
    gamma: float | None = None,
    futility: str | None = None,
    binding: bool = False,
    *,
    gamma_futility: float | None = None,
    classic: bool = False,
    n_fixed: float | None = None,
) -> GroupSequentialDesign:
    """A group-sequential design with ``k`` equally spaced analyses or at fractions ``timing``.

    ``spending``: the Lan–DeMets alpha-spending function ``"obf"`` (rpact ``asOF``),
    ``"pocock"`` (``asP``), ``"hsd"`` (``asHSD``, needs ``gamma``) or ``"kd"`` (``asKD``).
    ``classic=True`` gives instead the classic Wang–Tsiatis designs: ``spending="obf"``
    O'Brien & Fleming (1979), ``"pocock"`` Pocock (1977) (rpact ``OF``/``P``).
    ``alpha`` is one-sided for ``sided=1`` and the total of both sides for ``sided=2``.
    ``futility``: a beta-spending function (``"obf"``, ``"pocock"``, ``"hsd"`` with
    ``gamma_futility``, ``"kd"``) for futility bounds of an alpha-spending design, ``binding``
    or not; for ``sided=2`` an inner futility region ``|Z_k| < u_k`` as rpact computes it
    (marked experimental there; ``NaN`` where no futility stop is possible).
    ``n_fixed``: the fixed-design sample size, to get the maximum and
    expected sample sizes in participants.
    """
    info = information_rates(k, timing)
    kmax = len(info)
    _check_level(alpha, "alpha", 0.5)
    _check_level(beta, "beta", 1 - alpha)
    if sided not in (1, 2):
        raise DesignError(f"sided {sided}: allowed 1 or 2", code="not_allowed", field="sided")
    if spending not in SPENDING:
        raise DesignError(
            f"spending {spending!r}: allowed {', '.join(SPENDING)}",
            code="not_allowed",
            field="spending",
            params={"value": spending, "allowed": list(SPENDING)},
        )
    if classic and spending not in CLASSIC_DELTA:
        raise DesignError(
            f"classic design {spending!r}: allowed 'obf' or 'pocock'",
            code="not_allowed",
            field="spending",
            params={"value": spending},
        )
    if futility is not None:
        if futility not in SPENDING:
            raise DesignError(
                f"futility {futility!r}: allowed {', '.join(SPENDING)} or none",
                code="not_allowed",
                field="futility",
                params={"value": futility},
            )
        if classic:
            raise DesignError(
                "futility bounds by beta spending: available for alpha-spending designs",
                code="not_allowed",
                field="futility",
                params={"classic": classic},
            )
        if kmax == 1:
            raise DesignError(
                "futility bounds need at least 2 analyses", code="invalid", field="futility"
            )
    if n_fixed is not None and not n_fixed > 0:
        raise DesignError(
            f"n_fixed {n_fixed}: must be above 0", code="out_of_range", field="n_fixed"
        )

    fut: np.ndarray | None = None
    beta_spent: np.ndarray | None = None
    if kmax == 1:
        crit = np.array([ndtri(1 - alpha / sided)])
    elif classic:
        crit = wang_tsiatis_critical_values(CLASSIC_DELTA[spending], alpha, info, sided)
    else:
        cum_alpha = _spent(spending, info, alpha, sided, gamma, beta=False)
        crit = spending_critical_values(cum_alpha, info, sided)
        if futility is not None:
            cum_beta = _spent(futility, info, beta, 1, gamma_futility, beta=True)
            if sided == 1:
                fut_all, crit, _ = beta_spending_one_sided(crit, cum_alpha, cum_beta, info, binding)
                fut = fut_all[:-1]
                fut = np.where(fut <= FUTILITY_DEFAULT, FUTILITY_DEFAULT, fut)
            else:
                fut_all, crit, drift = beta_spending_two_sided(
                    crit, cum_alpha, cum_beta, info, binding
                )
                # rpact reports the beta spent at the beta-spending drift (C++), not at the
                # drift of the design characteristics
                pb = probabilities(four_rows(info, crit, fut_all, drift), info)
                beta_spent = np.cumsum(pb[2] - pb[1])
                fut = fut_all[:-1]
                fut = np.where(fut <= 1e-5, np.nan, fut)
    # alpha spent (type I error: non-binding futility is ignored)
    if sided == 2 and binding and fut is not None:
        inner = np.append(np.where(np.isnan(fut), 0.0, fut), 0.0)
        p0 = probabilities(np.vstack([-crit, -inner, inner, crit]), info)
        rej0 = p0[4] - p0[3] + p0[0]
    else:
        p0 = probabilities(decision_matrix(crit, fut, binding and fut is not None, sided), info)
        rej0 = p0[2] - p0[1] + (p0[0] if sided == 2 else 0.0)
    ch = characteristics(crit, fut, info, alpha, beta, sided)
    if fut is not None and beta_spent is None:
        beta_spent = np.asarray(ch["beta_spent"])
    crit_out = np.where(crit >= 7.5, np.inf, crit)
    n_max = ne0 = ne01 = ne1 = None
    if n_fixed is not None:
        n_max = ch["inflation_factor"] * n_fixed
        ne0, ne01, ne1 = (ch[a] * n_fixed for a in ("asn_h0", "asn_h01", "asn_h1"))
    return GroupSequentialDesign(
        k=kmax,
        timing=frozen_array(info),
        alpha=alpha,
        beta=beta,
        sided=sided,
        spending=spending,
        gamma=gamma,
        classic=classic,
        futility=futility,
        gamma_futility=gamma_futility,
        binding=bool(binding and fut is not None),
        critical=frozen_array(crit_out),
        futility_bounds=frozen_array(fut if fut is not None else np.full(kmax - 1, np.nan)),
        alpha_spent=frozen_array(np.cumsum(rej0)),
        stage_levels=frozen_array(1 - ndtr(crit)),
        beta_spent=frozen_array(beta_spent) if beta_spent is not None else None,
        rejection_h0=frozen_array(rej0),
        rejection_h1=frozen_array(ch["rejection_h1"]),
        futility_h1=frozen_array(ch["futility_h1"]),
        power=frozen_array(ch["power"]),
        drift=ch["drift"],
        n_fixed_z=ch["n_fixed_z"],
        inflation_factor=ch["inflation_factor"],
        asn_h0=ch["asn_h0"],
        asn_h01=ch["asn_h01"],
        asn_h1=ch["asn_h1"],
        n_fixed=n_fixed,
        n_max=n_max,
        n_expected_h0=ne0,
        n_expected_h01=ne01,
        n_expected_h1=ne1,
    )


def conditional_power(
    design: GroupSequentialDesign, stage: int, z: float, theta: float | str | None = None
) -> float:
    """Probability of crossing a later efficacy boundary given ``Z = z`` at analysis ``stage``.

    ``theta`` is the drift ``E[Z]`` at full information (``θ√I_max``): ``None`` for the
    design's alternative (``√drift``, power ``1 − β``), ``"trend"`` for the current estimate
    ``z/√t_stage``, or a number (0 gives the conditional type I error). Given ``Z_k = z`` the
    remaining statistics are again a canonical group-sequential process on fractions
    ``(t_j − t_k)/(1 − t_k)`` with boundaries ``(c_j√t_j − z√t_k)/√(t_j − t_k)`` and drift
    ``θ√(1 − t_k)`` (Jennison & Turnbull 2000, on stochastic curtailment). Binding futility
    bounds of one-sided designs stop the trial; non-binding ones and the inner futility region
    of two-sided designs are ignored; for two-sided designs only the upper boundary counts as
    success.
    """
    if int(stage) != stage or not 1 <= stage < design.k:
        raise DesignError(
            f"stage {stage}: allowed an interim analysis 1 to {design.k - 1}",
            code="out_of_range",
            field="stage",
            params={"value": stage, "k": design.k},
        )
    if not math.isfinite(z):
        raise DesignError(f"z {z}: must be a finite number", code="invalid", field="z")
    info = np.asarray(design.timing)
    tk = info[stage - 1]
    if theta is None:
        drift = math.sqrt(design.drift)
    elif theta == "trend":
        drift = z / math.sqrt(tk)
    elif isinstance(theta, str):
        raise DesignError(
            f"theta {theta!r}: a number, 'trend' or None", code="invalid", field="theta"
        )
    else:
        drift = float(theta)
    later = info[stage:]
    t_rest = (later - tk) / (1 - tk)
    crit = np.minimum(np.asarray(design.critical)[stage:], 8.0)

    def moved(b: np.ndarray) -> np.ndarray:
        return (b * np.sqrt(later) - z * math.sqrt(tk)) / np.sqrt(later - tk)

    upper = moved(crit)
    if design.sided == 2:
        lower = moved(-crit)
    else:
        lower = np.full(len(later), -np.inf)
        if design.binding:
            fut = np.append(np.asarray(design.futility_bounds), -np.inf)[stage:]
            lower = np.where(np.isfinite(fut), moved(np.where(np.isfinite(fut), fut, 0.0)), -np.inf)
    mean = np.sqrt(t_rest) * drift * math.sqrt(1 - tk)
    dm = np.vstack([np.maximum(lower - mean, -8.0), upper - mean])
    p = probabilities(dm, t_rest)
    return float(np.sum(p[2] - p[1]))
