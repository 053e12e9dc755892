"""Small-study effects and publication bias: ``regtest`` (Egger), ``ranktest`` (Begg),
``trimfill`` (Duval & Tweedie), as metafor's functions of the same names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats
from scipy.special import comb

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.rma import RMAResult, rma
from cpstem.formatting import format_p
from cpstem.results import Result

if TYPE_CHECKING:
    import pandas as pd


def _data(x: Any, vi: Any) -> tuple[np.ndarray, np.ndarray, RMAResult | None]:
    if isinstance(x, RMAResult):
        return x.yi, x.vi, x
    if vi is None:
        raise EvidenceError(
            "give a fitted model, or effect sizes and their variances vi",
            code="required",
            field="vi",
        )
    from cpstem.evidence.design import outcomes

    y, v = outcomes(x, vi)
    keep = ~(np.isnan(y) | np.isnan(v))
    return y[keep], v[keep], None


@dataclass(frozen=True)
class RegTest(Result):
    """Egger's regression test: the slope on the predictor (``sei`` by default).

    ``fit`` is the regression: an :class:`RMAResult` (``model="rma"``) or a mapping of the
    weighted least-squares ``beta`` and ``se`` (``model="lm"``). ``to_frame()``: one row,
    columns ``model, predictor, stat, pval, df, estimate, ci_lower, ci_upper``.
    """

    model: str
    predictor: str
    stat: float
    pval: float
    df: float
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    fit: Any

    def summary(self) -> str:
        kind = "mixed-effects meta-regression" if self.model == "rma" else "weighted regression"
        s = "t" if np.isfinite(self.df) else "z"
        df = f", df = {self.df:g}" if np.isfinite(self.df) else ""
        lines = [
            f"Regression test for funnel plot asymmetry ({kind}, predictor {self.predictor})",
            f"  test for asymmetry: {s} = {self.stat:.4f}{df}, "
            f"p {format_p(self.pval, 4, prefix=True)}",
        ]
        if self.estimate is not None:
            lines.append(
                f"  limit estimate (as sei -> 0): {self.estimate:.4f} "
                f"(CI {self.ci_lower:.4f} to {self.ci_upper:.4f})"
            )
        return "\n".join(lines)

    def _dict_items(self) -> dict[str, Any]:
        return {k: v for k, v in super()._dict_items().items() if k != "fit"} | {
            "fit": self.fit.to_dict() if isinstance(self.fit, Result) else dict(self.fit)
        }


def regtest(
    x: Any,
    vi: Any = None,
    model: str = "rma",
    predictor: str = "sei",
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
) -> RegTest:
    """Egger's regression test (metafor ``regtest``).

    ``x``: a fitted :class:`RMAResult` (its method and test are used) or effect sizes with
    ``vi`` (then REML and z). ``model="rma"`` adds the predictor to the (mixed-effects) model;
    ``model="lm"`` is Egger's original weighted regression. ``predictor``: ``"sei"`` or
    ``"vi"``.
    """
    yi, v, fit = _data(x, vi)
    if model not in ("rma", "lm"):
        raise EvidenceError(
            f"model {model!r}: allowed 'rma' or 'lm'",
            code="invalid_choice",
            field="model",
            params={"value": model},
        )
    if predictor not in ("sei", "vi"):
        raise EvidenceError(
            f"predictor {predictor!r}: allowed 'sei' or 'vi'",
            code="invalid_choice",
            field="predictor",
            params={"value": predictor},
        )
    pred = np.sqrt(v) if predictor == "sei" else v
    X = fit.X if fit is not None else np.ones((yi.size, 1))
    has_int = fit.has_intercept if fit is not None else True
    p = X.shape[1]
    method = method or (fit.method if fit is not None else "REML")
    test = test or (fit.test if fit is not None else "z")
    level = level if level is not None else (fit.level if fit is not None else 95)
    Xf = np.column_stack([X, pred])
    if np.linalg.matrix_rank(Xf) < Xf.shape[1]:
        raise EvidenceError(
            "the predictor is constant (equal variances): no regression test",
            code="constant_moderator",
            field="vi",
        )
    limit = p == 1 and has_int
    res: RMAResult | dict[str, np.ndarray]
    est: tuple[float, float, float] | tuple[None, None, None]
    if model == "rma":
        mods = Xf[:, 1:] if has_int else Xf
        res = rma(yi, v, method=method, test=test, level=level, mods=mods, intercept=has_int)
        stat, pval = float(res.stat[p]), float(res.pval[p])
        df = res.df
        est = (float(res.beta[0]), float(res.ci_lower[0]), float(res.ci_upper[0]))
    else:
        w = 1.0 / v
        wx = Xf * w[:, None]
        xtwx = Xf.T @ wx
        beta = np.linalg.solve(xtwx, wx.T @ yi)
        resid = yi - Xf @ beta
        df = float(yi.size - Xf.shape[1])
        sigma2 = float(np.sum(w * resid**2) / df)
        se = np.sqrt(np.diag(np.linalg.inv(xtwx)) * sigma2)
        stat = float(beta[p] / se[p])
        pval = float(dist.two_sided_p_t(stat, df))
        crit = float(dist.crit_t(dist.alpha_from_level(level), df))
        est = (float(beta[0]), float(beta[0] - crit * se[0]), float(beta[0] + crit * se[0]))
        res = {"beta": beta, "se": se}
    if not limit:
        est = (None, None, None)
    return RegTest(model, predictor, stat, pval, float(df), est[0], est[1], est[2], fit=res)


@dataclass(frozen=True)
class RankTest(Result):
    """Begg and Mazumdar's rank correlation test: Kendall's tau and its p value.

    ``to_frame()``: one row, columns ``tau, pval, exact``.
    """

    tau: float
    pval: float
    exact: bool

    def summary(self) -> str:
        how = "exact" if self.exact else "normal approximation (ties)"
        return (
            "Rank correlation test for funnel plot asymmetry\n"
            f"  Kendall's tau = {self.tau:.4f}, p {format_p(self.pval, 4, prefix=True)} ({how})"
        )


def _kendall_cdf(q: int, n: int) -> float:
    """P(T <= q) for the number of concordant pairs T among n untied pairs (exact)."""
    if q < 0:
        return 0.0
    size = n * (n - 1) // 2 + 1
    p = np.zeros(size)
    p[0] = 1.0
    top = 0
    for m in range(2, n + 1):
        c = np.concatenate([[0.0], np.cumsum(p[: top + 1])])
        new_top = top + m - 1
        j = np.arange(new_top + 1)
        hi = np.minimum(j, top) + 1
        lo = np.maximum(j - (m - 1), 0)
        p[: new_top + 1] = (c[hi] - c[lo]) / m
        top = new_top
    return float(min(1.0, p[: min(q, size - 1) + 1].sum()))


def ranktest(x: Any, vi: Any = None) -> RankTest:
    """Begg's rank correlation test (metafor ``ranktest``; exact p unless there are ties)."""
    yi, v, _ = _data(x, vi)
    n = yi.size
    if n < 3:
        raise EvidenceError(
            f"{n} studies: the rank correlation test needs at least 3",
            code="too_few_studies",
            params={"k": n, "needed": 3},
        )
    w = 1.0 / v
    theta = float(np.sum(w * yi) / np.sum(w))
    vstar = v - 1.0 / np.sum(w)
    ystar = (yi - theta) / np.sqrt(vstar)
    tau = float(stats.kendalltau(ystar, v).statistic)
    ties = min(np.unique(ystar).size, np.unique(v).size) < n
    if not ties:
        q = round((tau + 1) * n * (n - 1) / 4)
        p = 1.0 - _kendall_cdf(q - 1, n) if q > n * (n - 1) / 4 else _kendall_cdf(q, n)
        return RankTest(tau, min(2 * p, 1.0), True)
    xt = np.unique(ystar, return_counts=True)[1]
    yt = np.unique(v, return_counts=True)[1]
    xt, yt = xt[xt > 1].astype(float), yt[yt > 1].astype(float)
    t0 = n * (n - 1) / 2
    t1, t2 = np.sum(xt * (xt - 1)) / 2, np.sum(yt * (yt - 1)) / 2
    s = tau * np.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(xt * (xt - 1) * (2 * xt + 5))
    vu = np.sum(yt * (yt - 1) * (2 * yt + 5))
    v1 = np.sum(xt * (xt - 1)) * np.sum(yt * (yt - 1))
    v2 = np.sum(xt * (xt - 1) * (xt - 2)) * np.sum(yt * (yt - 1) * (yt - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s / np.sqrt(var_s)
    return RankTest(tau, float(dist.two_sided_p_norm(z)), False)


@dataclass(frozen=True)
class TrimFill(Result):
    """Trim-and-fill: number of missing studies and the model refitted with them filled in.

    ``to_frame()``: one row per study of the refitted model (columns as
    :meth:`RMAResult.to_frame`) and ``filled`` (True for a study filled in).
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    fit: RMAResult
    fill: np.ndarray
    p_k0: float | None

    @property
    def yi(self) -> np.ndarray:
        return self.fit.yi

    @property
    def vi(self) -> np.ndarray:
        return self.fit.vi

    def to_frame(self) -> pd.DataFrame:
        """One row per study of the refitted model, with ``filled``."""
        frame = self.fit.to_frame()
        frame["filled"] = self.fill
        return frame

    def summary(self) -> str:
        head = (
            f"Trim-and-fill ({self.estimator}): estimated {self.k0} missing studies on the "
            f"{self.side} side (SE {self.se_k0:.4f})"
        )
        return head + "\n\n" + self.fit.summary()


def trimfill(
    res: RMAResult, side: str | None = None, estimator: str = "L0", maxiter: int = 100
) -> TrimFill:
    """Duval & Tweedie's trim-and-fill (metafor ``trimfill``) for a model without moderators.

    Like metafor, the augmented model is refitted with the original method and a z test.
    """
    if not isinstance(res, RMAResult) or not res.int_only:
        raise EvidenceError(
            "trim-and-fill needs a fitted model without moderators",
            code="not_applicable",
            field="res",
        )
    if res.k < 2:
        raise EvidenceError(
            "trim-and-fill needs at least 2 studies",
            code="too_few_studies",
            params={"k": res.k, "needed": 2},
        )
    if estimator not in ("L0", "R0", "Q0"):
        raise EvidenceError(
            f"estimator {estimator!r}: allowed L0, R0 or Q0",
            code="invalid_choice",
            field="estimator",
            params={"value": estimator},
        )
    yi, vi = res.yi.copy(), res.vi.copy()
    if side is None:
        slope = rma(yi, vi, method=res.method, mods=np.sqrt(vi), control=res.control).beta[1]
        side = "right" if slope < 0 else "left"
    if side not in ("left", "right"):
        raise EvidenceError(
            f"side {side!r}: allowed 'left' or 'right'",
            code="invalid_choice",
            field="side",
            params={"value": side},
        )
    if side == "right":
        yi = -yi
    order = np.argsort(yi, kind="stable")
    yi, vi = yi[order], vi[order]
    k = yi.size
    k0_prev, k0, it = -1, 0, 0
    se_k0 = 0.0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise EvidenceError(
                "trim-and-fill did not converge", code="not_converged", params={"maxiter": maxiter}
            )
        beta = float(rma(yi[: k - k0], vi[: k - k0], method=res.method, control=res.control).beta)
        yc = yi - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            k0f = float(k - np.max(-signed[signed < 0])) - 1
            se = float(np.sqrt(2 * max(0.0, k0f) + 2))
        else:
            sr = float(np.sum(signed[signed > 0]))
            if estimator == "L0":
                k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            else:
                k0f = k - 0.5 - float(np.sqrt(2 * k**2 - 4 * sr + 0.25))
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0f**3
                + 27 * k0f**2
                + 17 * k0f
                - 18 * k * k0f**2
                - 18 * k * k0f
                + 6 * k**2 * k0f
            ) / 24
            if estimator == "L0":
                se = 4 * float(np.sqrt(var_sr)) / (2 * k - 1)
            else:
                se = 2 * float(np.sqrt(var_sr) / np.sqrt((k - 0.5) ** 2 - k0f * (2 * k - k0f - 1)))
        k0 = int(max(0, _round_half_even(k0f)))
        se_k0 = float(max(0.0, se))
    p_k0 = None
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1 - np.sum(comb(m + 1, m + 1) * 0.5 ** (m + 2)))
    if k0 > 0:
        yc = yi - beta
        yc = -(yc - beta) if side == "right" else yc - beta
        filled_y = -yc[k - k0 :]
        filled_v = vi[k - k0 :]
        y_all = np.concatenate([res.yi, filled_y])
        v_all = np.concatenate([res.vi, filled_v])
        labels = (*res.labels, *(f"Filled {i + 1}" for i in range(k0)))
        fit = rma(
            y_all, v_all, method=res.method, labels=labels, measure=res.measure, control=res.control
        )
        fill = np.r_[np.zeros(res.k, dtype=bool), np.ones(k0, dtype=bool)]
    else:
        fit, fill = res, np.zeros(res.k, dtype=bool)
    return TrimFill(k0, se_k0, side, estimator, fit, fill, p_k0)


def _round_half_even(x: float) -> float:
    """R's ``round`` (IEC 60559: halves to even)."""
    return float(np.round(x))
