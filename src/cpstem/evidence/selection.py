"""Small-study and selection sensitivity: PET-PEESE, step-function selection models, Henmi-Copas.

* :func:`pet_peese` -- Stanley & Doucouliagos (2014, Res Synth Methods 5:60-78): weighted least
  squares meta-regressions (weights 1/vi, multiplicative error, R's ``lm(yi ~ sei, weights =
  1/vi)``) of the effects on their standard errors (PET) and on their variances (PEESE). The
  conditional estimator reports PEESE's intercept when PET's intercept differs from 0 at
  ``alpha`` (default two-sided 0.05; ``one_sided=True`` tests beta0 > 0 in the direction of the
  effect, as the authors' later applications do), otherwise PET's intercept.
* :func:`selmodel` -- metafor's ``selmodel(res, type = "stepfun", steps = ...)`` (Vevea & Hedges
  1995; with ``steps=(0.025,)`` the three-parameter selection model, 3PSM): maximum likelihood
  of (beta, tau^2, delta) with the selection weights delta of the p-value intervals (the first
  fixed at 1), the likelihood-ratio test against the model without selection, standard errors
  from the Hessian on the untransformed scale.
* :func:`hc` -- Henmi & Copas (2010): the fixed-effect estimate with a confidence interval that
  allows for heterogeneity and is robust to publication bias (metafor ``hc``), with R's
  ``integrate`` (QUADPACK) and ``uniroot`` at metafor's tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, optimize, special, stats

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.rma import RMAResult, rma
from cpstem.evidence.roots import zeroin
from cpstem.formatting import format_p
from cpstem.results import Result

_EPS = float(np.finfo(float).eps)
_NM = {"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000}


def _need_model(res: Any, what: str) -> RMAResult:
    if not isinstance(res, RMAResult):
        raise EvidenceError(
            f"{what}() takes a model fitted by rma()", code="not_applicable", field="res"
        )
    if not np.all(res.vi > 0):
        raise EvidenceError(
            f"{what}() needs every sampling variance > 0",
            code="nonpositive_variance",
            field="vi",
        )
    return res


# ------------------------------------------------------------------------------------------
# PET-PEESE


@dataclass(frozen=True)
class WLSFit(Result):
    """One weighted least squares meta-regression: intercept and slope with t tests."""

    predictor: str
    coef: np.ndarray
    se: np.ndarray
    tval: np.ndarray
    pval: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    df: int
    sigma: float


def _wls(y: np.ndarray, x: np.ndarray, v: np.ndarray, name: str, alpha: float) -> WLSFit:
    X = np.column_stack([np.ones_like(x), x])
    w = 1.0 / v
    xtwx = X.T @ (X * w[:, None])
    coef = np.linalg.solve(xtwx, X.T @ (w * y))
    e = y - X @ coef
    df = y.size - 2
    s2 = float(np.sum(w * e * e) / df)
    se = np.sqrt(np.diag(np.linalg.inv(xtwx)) * s2)
    t = coef / se
    crit = dist.crit_t(alpha, df)
    return WLSFit(
        predictor=name,
        coef=coef,
        se=se,
        tval=t,
        pval=np.asarray(dist.two_sided_p_t(t, df), dtype=float),
        ci_lower=coef - crit * se,
        ci_upper=coef + crit * se,
        df=df,
        sigma=float(np.sqrt(s2)),
    )


@dataclass(frozen=True)
class PetPeese(Result):
    """PET and PEESE fits and the conditional estimate (``estimate``, ``ci_lower``, ``ci_upper``,
    ``chosen`` = ``"PET"`` or ``"PEESE"``)."""

    pet: WLSFit
    peese: WLSFit
    chosen: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    pet_test_pval: float
    alpha: float
    one_sided: bool
    k: int

    def summary(self) -> str:
        side = "one-sided" if self.one_sided else "two-sided"
        lines = [f"PET-PEESE (Stanley & Doucouliagos 2014), k = {self.k}"]
        for f in (self.pet, self.peese):
            lines.append(
                f"  {'PET' if f.predictor == 'sei' else 'PEESE'} intercept {f.coef[0]:.4f} "
                f"(SE {f.se[0]:.4f}; {self.level_text()} CI {f.ci_lower[0]:.4f} to "
                f"{f.ci_upper[0]:.4f}); slope {f.coef[1]:.4f}, "
                f"p {format_p(f.pval[1], 4, prefix=True)}"
            )
        lines.append(
            f"  PET intercept test ({side}, alpha {self.alpha:g}): p "
            f"{format_p(self.pet_test_pval, 4, prefix=True)} -> {self.chosen}: "
            f"{self.estimate:.4f} [{self.ci_lower:.4f}, {self.ci_upper:.4f}]"
        )
        return "\n".join(lines)

    def level_text(self) -> str:
        return "95%"


def pet_peese(
    x: Any, vi: Any = None, alpha: float = 0.05, one_sided: bool = False, level: float = 95
) -> PetPeese:
    """Conditional PET-PEESE of a fitted model or of effect sizes ``x`` with variances ``vi``."""
    if isinstance(x, RMAResult):
        y, v = x.yi, x.vi
    else:
        if vi is None:
            raise EvidenceError("give a fitted model, or yi and vi", code="required", field="vi")
        y = np.asarray(x, dtype=float).reshape(-1)
        v = np.asarray(vi, dtype=float).reshape(-1)
        keep = ~(np.isnan(y) | np.isnan(v))
        y, v = y[keep], v[keep]
    if y.size < 3 or np.any(v <= 0):
        raise EvidenceError(
            "PET-PEESE needs at least 3 studies with positive sampling variances",
            code="too_few_studies",
            field="yi",
            params={"k": int(y.size), "needed": 3},
        )
    a = dist.alpha_from_level(level)
    pet = _wls(y, np.sqrt(v), v, "sei", a)
    peese = _wls(y, v, v, "vi", a)
    if one_sided:
        t0 = float(pet.tval[0]) * (1.0 if np.sum(y / v) >= 0 else -1.0)
        p_test = float(special.stdtr(pet.df, -t0))
    else:
        p_test = float(pet.pval[0])
    use = peese if p_test < alpha else pet
    return PetPeese(
        pet=pet,
        peese=peese,
        chosen="PEESE" if use is peese else "PET",
        estimate=float(use.coef[0]),
        se=float(use.se[0]),
        ci_lower=float(use.ci_lower[0]),
        ci_upper=float(use.ci_upper[0]),
        pet_test_pval=p_test,
        alpha=float(alpha),
        one_sided=bool(one_sided),
        k=int(y.size),
    )


# ------------------------------------------------------------------------------------------
# Henmi-Copas


@dataclass(frozen=True)
class HCResult(Result):
    """Henmi-Copas: ``estimate`` (fixed-effect), ``se``, ``ci_lower``/``ci_upper``, ``tau2`` (DL),
    and the random-effects model's ``estimate_rma``/``ci_lower_rma``/``ci_upper_rma``."""

    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    tau2: float
    estimate_rma: float
    se_rma: float
    ci_lower_rma: float
    ci_upper_rma: float
    tau2_rma: float
    method_rma: str

    def summary(self) -> str:
        return "\n".join(
            [
                "Henmi-Copas confidence interval (robust to publication bias)",
                f"{'method':<8}{'tau2':>9}{'estimate':>10}{'se':>9}{'ci.lb':>10}{'ci.ub':>10}",
                f"{self.method_rma:<8}{self.tau2_rma:9.4f}{self.estimate_rma:10.4f}"
                f"{self.se_rma:9.4f}{self.ci_lower_rma:10.4f}{self.ci_upper_rma:10.4f}",
                f"{'HC':<8}{self.tau2:9.4f}{self.estimate:10.4f}{self.se:9.4f}"
                f"{self.ci_lower:10.4f}{self.ci_upper:10.4f}",
            ]
        )


def hc(res: RMAResult, level: float | None = None) -> HCResult:
    """Henmi & Copas (2010) confidence interval, as metafor's ``hc()`` (models without
    moderators)."""
    res = _need_model(res, "hc")
    if not res.int_only:
        raise EvidenceError(
            "hc() applies to models without moderators", code="not_applicable", field="res"
        )
    y, v = res.yi, res.vi
    k = y.size
    if k < 2:
        raise EvidenceError("hc() needs k >= 2", code="too_few_studies", field="yi")
    alpha = res.alpha if level is None else dist.alpha_from_level(level)
    wi = 1.0 / v
    W1 = wi.sum()
    W2 = np.sum(wi**2) / W1
    W3 = np.sum(wi**3) / W1
    W4 = np.sum(wi**4) / W1
    beta = np.sum(wi * y) / W1
    Q = np.sum(wi * (y - beta) ** 2)
    tau2 = max(0.0, (Q - (k - 1)) / (W1 - W2))
    se = np.sqrt((tau2 * W2 + 1) / W1)
    VR = 1 + tau2 * W2
    SDR = np.sqrt(VR)

    def EQ(r: float) -> float:
        return (k - 1) + tau2 * (W1 - W2) + tau2**2 * ((1 / VR**2) * r**2 - 1 / VR) * (W3 - W2**2)

    def VQ(r: float) -> float:
        rsq = r**2
        rv2 = 1 / VR**2
        return (
            2 * (k - 1)
            + 4 * tau2 * (W1 - W2)
            + 2 * tau2**2 * (W1 * W2 - 2 * W3 + W2**2)
            + 4 * tau2**2 * (rv2 * rsq - 1 / VR) * (W3 - W2**2)
            + 4 * tau2**3 * (rv2 * rsq - 1 / VR) * (W4 - 2 * W2 * W3 + W2**3)
            + 2 * tau2**4 * (rv2 - 2 * (1 / VR**3) * rsq) * (W3 - W2**2) ** 2
        )

    def finv(f: float) -> float:
        return (W1 / W2 - 1) * (f**2 - 1) + (k - 1)

    tol = _EPS**0.25

    def eqn_one(x: float) -> float:
        def integrand(r: float) -> float:
            r_ = SDR * r
            scale = VQ(r_) / EQ(r_)
            shape = EQ(r_) ** 2 / VQ(r_)
            with np.errstate(divide="ignore", invalid="ignore"):
                q = finv(np.float64(r) / x)  # x = 0: R's r / 0 = Inf
            g = special.gammainc(shape, q / scale) if q > 0 else 0.0
            return float(g * stats.norm.pdf(r))

        val = integrate.quad(integrand, x, np.inf, epsabs=tol, epsrel=tol, limit=100)[0]
        return val - alpha / 2

    def f(xs: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.array([eqn_one(float(t)) for t in xs])

    lo, hi = np.array([0.0]), np.array([2.0])
    root, _ = zeroin(f, lo, hi, f(lo, np.arange(1)), f(hi, np.arange(1)), tol, 1000)
    t0 = float(root[0])
    u0 = SDR * t0
    return HCResult(
        estimate=float(beta),
        se=float(se),
        ci_lower=float(beta - u0 * se),
        ci_upper=float(beta + u0 * se),
        tau2=float(tau2),
        estimate_rma=float(res.beta),
        se_rma=float(res.se),
        ci_lower_rma=float(res.ci_lower),
        ci_upper_rma=float(res.ci_upper),
        tau2_rma=float(res.tau2),
        method_rma=res.method,
    )


# ------------------------------------------------------------------------------------------
# step-function selection model


@dataclass(frozen=True)
class SelModel(Result):
    """A fitted step-function selection model (metafor ``selmodel(type = "stepfun")``).

    ``beta``/``se``/``stat``/``pval``/``ci_lower``/``ci_upper`` (z tests), ``tau2``/``se_tau2``,
    ``delta`` (selection weight per p-value interval; the first is fixed at 1), ``se_delta``,
    ``pval_delta`` (H0: delta = 1), ``ci_lower_delta``/``ci_upper_delta``, ``ll`` and ``ll0``
    (the model without selection), ``lrt``/``lrt_df``/``lrt_pval`` (test for selection),
    ``lrt_tau2``/``lrt_tau2_pval`` (test for heterogeneity), ``k_per_interval``, ``aic``/``bic``.
    """

    steps: tuple[float, ...]
    alternative: str
    k: int
    beta: Any
    se: Any
    stat: Any
    pval: Any
    ci_lower: Any
    ci_upper: Any
    tau2: float
    se_tau2: float
    delta: np.ndarray
    se_delta: np.ndarray
    pval_delta: np.ndarray
    ci_lower_delta: np.ndarray
    ci_upper_delta: np.ndarray
    ll: float
    ll0: float
    lrt: float
    lrt_df: int
    lrt_pval: float
    lrt_tau2: float
    lrt_tau2_pval: float
    k_per_interval: np.ndarray
    aic: float
    bic: float

    @property
    def estimate(self) -> float:
        return float(np.atleast_1d(self.beta)[0])

    def summary(self) -> str:
        lines = [
            f"Step-function selection model (k = {self.k}; steps "
            f"{', '.join(f'{s:g}' for s in self.steps)}; alternative {self.alternative})",
            f"tau^2: {self.tau2:.4f} (SE {self.se_tau2:.4f}); LRT for heterogeneity "
            f"{self.lrt_tau2:.4f}, p {format_p(self.lrt_tau2_pval, 4, prefix=True)}",
            f"Test for selection: LRT(df = {self.lrt_df}) = {self.lrt:.4f}, "
            f"p {format_p(self.lrt_pval, 4, prefix=True)}",
            f"estimate {self.estimate:.4f} (SE {float(np.atleast_1d(self.se)[0]):.4f}), 95% CI "
            f"{float(np.atleast_1d(self.ci_lower)[0]):.4f} to "
            f"{float(np.atleast_1d(self.ci_upper)[0]):.4f}",
            "",
            f"{'interval':<22}{'k':>4}{'delta':>9}{'se':>9}{'pval':>10}",
        ]
        edges = (0.0, *self.steps)
        for j in range(self.delta.size):
            name = f"{edges[j]:g} < p <= {edges[j + 1]:g}"
            se = "---" if j == 0 else f"{self.se_delta[j]:.4f}"
            pv = "---" if j == 0 else format_p(self.pval_delta[j], 4)
            lines.append(
                f"{name:<22}{int(self.k_per_interval[j]):>4}{self.delta[j]:9.4f}{se:>9}{pv:>10}"
            )
        return "\n".join(lines)


def _pvals(y: np.ndarray, v: np.ndarray, alternative: str) -> np.ndarray:
    z = y / np.sqrt(v)
    if alternative == "two.sided":
        return 2 * special.ndtr(-np.abs(z))
    return special.ndtr(-z) if alternative == "greater" else special.ndtr(z)


def _sel_ll(
    beta: np.ndarray,
    tau2: float,
    delta: np.ndarray,
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    steps: np.ndarray,
    grp: np.ndarray,
    alternative: str,
) -> float:
    tau2 = 0.0 if tau2 < _EPS * 10 else tau2
    mu = X @ beta
    s = np.sqrt(v + tau2)
    sv = np.sqrt(v)
    # probability of each p-value interval for each study
    if alternative == "two.sided":
        up = sv[:, None] * special.ndtri(1 - steps[None, :] / 2)  # upper cut-offs (y)
        cdf_hi = special.ndtr((mu[:, None] - up) / s[:, None])  # P(y > up)
        cdf_lo = special.ndtr((-up - mu[:, None]) / s[:, None])  # P(y < -up)
        tail = cdf_hi + cdf_lo  # P(p <= step_j)
    else:
        sign = 1.0 if alternative == "greater" else -1.0
        cut = sign * sv[:, None] * special.ndtri(1 - steps[None, :])
        tail = special.ndtr(sign * (mu[:, None] - cut) / s[:, None])  # P(p <= step_j)
    tail[:, -1] = 1.0
    prob = np.diff(np.column_stack([np.zeros(y.size), tail]), axis=1)
    A = prob @ delta
    ll = np.sum(np.log(delta[grp]) + stats.norm.logpdf(y, mu, s) - np.log(A))
    return float(ll)


def _hessian(f: Any, x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian with Richardson extrapolation (4 levels; numDeriv-style)."""
    n = x.size
    H = np.zeros((n, n))
    d0 = 1e-4 * np.maximum(np.abs(x), 1e-2)

    def second(i: int, j: int, h: np.ndarray) -> float:
        ei = np.zeros(n)
        ej = np.zeros(n)
        ei[i] = h[i]
        ej[j] = h[j]
        if i == j:
            return (f(x + ei) - 2 * f(x) + f(x - ei)) / h[i] ** 2
        return (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
            4 * h[i] * h[j]
        )

    for i in range(n):
        for j in range(i, n):
            a = [second(i, j, d0 * 8.0 / 2.0**m) for m in range(4)]
            for m in range(1, 4):
                a = [(4**m * a[q + 1] - a[q]) / (4**m - 1) for q in range(len(a) - 1)]
            H[i, j] = H[j, i] = a[0]
    return H


def selmodel(
    res: RMAResult,
    type: str = "stepfun",
    steps: Any = (0.025,),
    alternative: str = "greater",
) -> SelModel:
    """Fit a step-function selection model to a fitted model (metafor ``selmodel``).

    metafor refits by maximum likelihood whatever ``res``'s estimator; the likelihood-ratio test
    for selection compares with ``res``'s ML log-likelihood, so fit ``res`` with ``method="ML"``
    (as metafor's documentation does) for a test of like with like. ``method="FE"`` keeps tau^2
    at 0.
    """
    res = _need_model(res, "selmodel")
    if type != "stepfun":
        raise EvidenceError(
            f"type {type!r}: only 'stepfun' is available",
            code="invalid_choice",
            field="type",
            params={"value": type, "allowed": ["stepfun"]},
        )
    if alternative not in ("greater", "less", "two.sided"):
        raise EvidenceError(
            f"alternative {alternative!r}: allowed greater, less, two.sided",
            code="invalid_choice",
            field="alternative",
        )
    st = np.unique(np.asarray(steps, dtype=float).reshape(-1))
    if st.size == 0 or np.any((st < 0) | (st > 1)):
        raise EvidenceError("steps must lie between 0 and 1", code="out_of_range", field="steps")
    if st[-1] != 1.0:
        st = np.append(st, 1.0)
    y, v, X = res.yi, res.vi, res.X
    k, p = X.shape
    pv = _pvals(y, v, alternative)
    grp = np.array([int(np.flatnonzero(q <= st)[0]) for q in pv])
    counts = np.bincount(grp, minlength=st.size)
    nd = st.size
    if np.any(counts[1:] == 0):  # metafor: the first interval (delta fixed at 1) may be empty
        raise EvidenceError(
            "one or more p-value intervals contain no study: choose other steps",
            code="empty_interval",
            field="steps",
            params={"k_per_interval": counts.tolist()},
        )
    fixed_tau = res.method == "FE" or res.tau2_fixed
    if k < p + (0 if fixed_tau else 1) + (nd - 1):
        raise EvidenceError(
            f"{k} studies are too few to fit the selection model",
            code="too_few_studies",
            field="yi",
        )
    dmax = 100.0

    def unpack(par: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        beta = par[:p]
        tau2 = float(res.tau2) if res.tau2_fixed else (0.0 if fixed_tau else float(np.exp(par[p])))
        off = p + (0 if fixed_tau else 1)
        d = np.concatenate([[1.0], dmax / (1 + np.exp(-par[off:]))])
        return beta, tau2, d

    def nll(par: np.ndarray) -> float:
        b, t2, d = unpack(par)
        val = -_sel_ll(b, t2, d, y, v, X, st, grp, alternative)
        return val if np.isfinite(val) else 1e300

    init = np.concatenate(
        [
            np.atleast_1d(res.beta).astype(float),
            [] if fixed_tau else [np.log(res.tau2 + 0.001)],
            np.full(nd - 1, np.log(1.0 / (dmax - 1.0))),
        ]
    )
    opt = optimize.minimize(nll, init, method="BFGS", options={"gtol": 1e-10, "maxiter": 10000})
    best = opt.x
    for _ in range(3):  # polish: Nelder-Mead then BFGS again from the optimum
        o2 = optimize.minimize(  # type: ignore[call-overload]
            nll,
            best,
            method="Nelder-Mead",
            options=_NM,
        )
        o3 = optimize.minimize(nll, o2.x, method="BFGS", options={"gtol": 1e-11, "maxiter": 10000})
        cand = o3.x if o3.fun <= o2.fun else o2.x
        if nll(cand) >= nll(best) - 1e-13:
            best = cand if nll(cand) < nll(best) else best
            break
        best = cand
    beta, tau2, delta = unpack(best)
    tau2 = 0.0 if tau2 < _EPS * 10 else tau2
    ll = -nll(best)

    # Hessian of -ll on the untransformed scale (beta, tau2, delta[1:])
    def nll_raw(z: np.ndarray) -> float:
        b = z[:p]
        t2 = float(res.tau2) if res.tau2_fixed else (0.0 if fixed_tau else max(float(z[p]), 0.0))
        off = p + (0 if fixed_tau else 1)
        d = np.concatenate([[1.0], np.clip(z[off:], 0.0, dmax)])
        return -_sel_ll(b, t2, d, y, v, X, st, grp, alternative)

    z0 = np.concatenate([beta, [] if fixed_tau else [tau2], delta[1:]])
    se_tau2 = float("nan")
    try:
        iH = np.linalg.inv(_hessian(nll_raw, z0))
        np.linalg.cholesky(iH)
        vb = iH[:p, :p]
        off = p + (0 if fixed_tau else 1)
        if not fixed_tau:
            se_tau2 = float(np.sqrt(iH[p, p]))
        se_d = np.concatenate([[np.nan], np.sqrt(np.diag(iH)[off:])])
    except np.linalg.LinAlgError:
        vb = np.full((p, p), np.nan)
        se_d = np.full(nd, np.nan)
    se = np.sqrt(np.diag(vb))
    z = beta / se
    crit = dist.crit_norm(res.alpha)
    zd = (delta - 1.0) / se_d
    lo_d = np.maximum(delta - crit * se_d, 0.0)
    hi_d = delta + crit * se_d
    # metafor: logLik(res, REML = FALSE), the ML log-likelihood of the model without selection
    ll0 = float(
        res.fit_stats["ll_ml"]
        if res.method in ("ML", "FE") or res.tau2_fixed
        else rma(y, v, method="ML", mods=X, intercept=False).fit_stats["ll_ml"]
    )
    lrt = max(0.0, -2 * (ll0 - ll))
    lrt_df = nd - 1
    lrt_tau2 = lrt_tau2_p = float("nan")
    if not fixed_tau:

        def nll0(par: np.ndarray) -> float:
            b = par[:p]
            d = np.concatenate([[1.0], dmax / (1 + np.exp(-par[p:]))])
            val = -_sel_ll(b, 0.0, d, y, v, X, st, grp, alternative)
            return val if np.isfinite(val) else 1e300

        i0 = np.concatenate([np.atleast_1d(res.beta), np.full(nd - 1, np.log(1.0 / (dmax - 1)))])
        o0 = optimize.minimize(nll0, i0, method="BFGS", options={"gtol": 1e-10, "maxiter": 10000})
        o1 = optimize.minimize(  # type: ignore[call-overload]
            nll0,
            o0.x,
            method="Nelder-Mead",
            options=_NM,
        )
        lrt_tau2 = max(0.0, -2 * (-min(o0.fun, o1.fun) - ll))
        lrt_tau2_p = float(dist.chisq_sf(lrt_tau2, 1))
    parms = p + (0 if fixed_tau else 1) + (nd - 1)
    one = p == 1

    def out(a: Any) -> Any:
        a = np.asarray(a, dtype=float).reshape(-1)
        return float(a[0]) if one else a

    return SelModel(
        steps=tuple(float(s) for s in st),
        alternative=alternative,
        k=k,
        beta=out(beta),
        se=out(se),
        stat=out(z),
        pval=out(dist.two_sided_p_norm(z)),
        ci_lower=out(beta - crit * se),
        ci_upper=out(beta + crit * se),
        tau2=float(tau2),
        se_tau2=se_tau2,
        delta=delta,
        se_delta=se_d,
        pval_delta=np.asarray(dist.two_sided_p_norm(zd), dtype=float),
        ci_lower_delta=lo_d,
        ci_upper_delta=hi_d,
        ll=float(ll),
        ll0=ll0,
        lrt=float(lrt),
        lrt_df=int(lrt_df),
        lrt_pval=float(dist.chisq_sf(lrt, lrt_df)),
        lrt_tau2=float(lrt_tau2),
        lrt_tau2_pval=float(lrt_tau2_p),
        k_per_interval=counts,
        aic=-2 * ll + 2 * parms,
        bic=-2 * ll + parms * np.log(k),
    )
