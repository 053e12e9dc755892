"""The general model with moderators (meta-regression): metafor ``rma.uni`` with ``mods``.

Same estimators, starting values and stopping rules as :mod:`cpstem.evidence.estimators`, with
the projection matrix ``P = W - W X (X'WX)^-1 X'W`` of a design matrix ``X`` in place of the
intercept-only sums. Like metafor, tau^2 is estimated from the mean-centred outcomes.
"""

from __future__ import annotations

import numpy as np

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.estimators import (
    FALLBACK,
    LOG2PI,
    NO_OPTIMUM,
    OK,
    STATUS_TEXT,
    Control,
)
from cpstem.evidence.roots import bisect_decreasing, zeroin

MACHINE_EPS = float(np.finfo(float).eps)


def _inv(a: np.ndarray) -> np.ndarray:
    return np.linalg.inv(a)


class Design:
    """Outcomes, variances and design matrix of one meta-regression."""

    def __init__(self, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> None:
        self.y, self.v, self.X = y, v, X
        self.k, self.p = X.shape
        self.ymc = y - y.mean()
        self.allvipos = bool(np.all(v > 0.0))

    def proj(self, w: np.ndarray) -> np.ndarray:
        """``P = W - W X (X'WX)^-1 X' W`` for weights ``w``."""
        wx = self.X * w[:, None]
        return np.diag(w) - wx @ _inv(self.X.T @ wx) @ wx.T

    def weights(self, tau2: float) -> np.ndarray:
        tv = self.v + tau2
        if np.any(tv <= 0.0):
            raise _NoOptimum
        return 1.0 / tv

    def rss(self, tau2: float) -> float:
        P = self.proj(self.weights(tau2))
        return float(self.ymc @ P @ self.ymc)

    def loglik(self, tau2: float, reml: bool) -> float:
        w = self.weights(tau2)
        wx = self.X * w[:, None]
        xwx = self.X.T @ wx
        beta = np.linalg.solve(xwx, wx.T @ self.ymc)
        rss = float(np.sum(w * (self.ymc - self.X @ beta) ** 2))
        ll = -0.5 * np.sum(np.log(self.v + tau2)) - 0.5 * rss
        if reml:
            return ll - 0.5 * (self.k - self.p) * LOG2PI - 0.5 * np.linalg.slogdet(xwx)[1]
        return ll - 0.5 * self.k * LOG2PI


class _NoOptimum(Exception):
    pass


def estimate(d: Design, method: str, control: Control) -> tuple[float, float, int, int]:
    """``(tau2, se_tau2, status, iterations)`` for the design ``d``."""
    try:
        return _estimate(d, method, control)
    except _NoOptimum:
        return float("nan"), float("nan"), NO_OPTIMUM, 0


def _estimate(d: Design, method: str, control: Control) -> tuple[float, float, int, int]:
    k, p, ymc, v = d.k, d.p, d.ymc, d.v
    if method in ("DL", "HS", "PM") and not d.allvipos:
        raise EvidenceError(
            f"method {method} needs every sampling variance > 0; use REML, ML, HE, SJ or EB",
            code="nonpositive_variance",
            field="vi",
            params={"method": method},
        )
    if method in ("HS", "DL"):
        w = 1.0 / v
        P = d.proj(w)
        rss = float(ymc @ P @ ymc)
        trp = float(np.trace(P))
        spp = float(np.sum(P * P))
        if method == "HS":
            tau2 = max(0.0, (rss - k) / w.sum())
            se = np.sqrt(1 / w.sum() ** 2 * (2 * (k - p) + 4 * tau2 * trp + 2 * tau2**2 * spp))
        else:
            tau2 = max(0.0, (rss - (k - p)) / trp)
            se = np.sqrt(1 / trp**2 * (2 * (k - p) + 4 * tau2 * trp + 2 * tau2**2 * spp))
        return tau2, float(se), OK, 0
    # Hedges' estimator: also the starting value of the iterative ones
    P = np.eye(k) - d.X @ _inv(d.X.T @ d.X) @ d.X.T
    PV = P * v[None, :]
    trpv = float(np.trace(PV))
    he = (float(ymc @ P @ ymc) - trpv) / (k - p)
    if method == "HE":
        tau2 = max(0.0, he)
        se = np.sqrt(
            1 / (k - p) ** 2 * (2 * np.sum(PV * PV.T) + 4 * tau2 * trpv + 2 * tau2**2 * (k - p))
        )
        return tau2, float(se), OK, 0
    if method == "SJ":
        tau0 = float(np.var(ymc)) if control.tau2_init is None else float(control.tau2_init)
        P = d.proj(1.0 / (v + tau0))
        PV = P * v[None, :]
        tau2 = max(0.0, tau0 * float(ymc @ P @ ymc) / (k - p))
        se = np.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * np.sum(PV * PV.T) + 4 * tau2 * np.sum(PV * P) + 2 * tau2**2 * np.sum(P * P))
        )
        return tau2, float(se), OK, 0
    if method == "PM":
        tau2, status = _pm(d, control)
        return tau2, _eb_pm_se(d, tau2), status, 0
    return _fisher(d, method, control, he)


def _eb_pm_se(d: Design, tau2: float) -> float:
    sw = float(np.sum(1.0 / (d.v + tau2)))
    return float(np.sqrt(2 * d.k**2 / (d.k - d.p) / sw**2))


def _mad2(y: np.ndarray) -> float:
    return float((1.4826 * np.median(np.abs(y - np.median(y)))) ** 2)


def _qroot(d: Design, lo: float, target: float) -> float:
    hi = max(2.0 * lo, 1.0)
    while d.rss(hi) - target > 0.0:
        hi *= 2.0

    def g(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.array([d.rss(float(t)) - target for t in x])

    return float(bisect_decreasing(g, np.array([lo]), np.array([hi]))[0])


def _pm(d: Design, control: Control) -> tuple[float, int]:
    target = d.k - d.p
    f0 = d.rss(0.0) - target
    if f0 < 0.0:
        return 0.0, OK
    upper = max(100.0 if control.tau2_max is None else control.tau2_max, 10 * _mad2(d.y))
    fmax = d.rss(upper) - target
    if fmax > 0.0:
        return _qroot(d, upper, target), FALLBACK

    def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.array([d.rss(float(t)) - target for t in x])

    root, _ = zeroin(
        f,
        np.zeros(1),
        np.array([upper]),
        np.array([f0]),
        np.array([fmax]),
        control.tol,
        control.maxiter,
    )
    return max(0.0, float(root[0])), OK


def _adjust(d: Design, tau2: float, method: str) -> float:
    w = d.weights(tau2)
    P = d.proj(w)
    Py = P @ d.ymc
    if method == "ML":
        return (float(Py @ Py) - w.sum()) / float(np.sum(w * w))
    if method == "REML":
        return (float(Py @ Py) - float(np.trace(P))) / float(np.sum(P * P))
    return (float(d.ymc @ Py) * d.k / (d.k - d.p) - d.k) / w.sum()


def _score(d: Design, tau2: float, method: str) -> float:
    w = d.weights(tau2)
    P = d.proj(w)
    Py = P @ d.ymc
    return float(Py @ Py) - (w.sum() if method == "ML" else float(np.trace(P)))


def _fisher(d: Design, method: str, control: Control, he: float) -> tuple[float, float, int, int]:
    tau2 = max(0.0, he) if control.tau2_init is None else float(control.tau2_init)
    it = 0
    conv = True
    change = control.threshold + 1.0
    while change > control.threshold:
        it += 1
        old = tau2
        adj = _adjust(d, tau2, method) * control.stepadj
        if np.isnan(adj):
            adj = 0.0
        if tau2 <= 0.0 and adj < 0.0:
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > control.maxiter:
            conv = False
            break
    status = OK
    if conv and method in ("ML", "REML") and control.ll0check and d.allvipos:
        reml = method == "REML"
        if d.loglik(0.0, reml) - d.loglik(tau2, reml) > control.tol and tau2 > control.threshold:
            tau2 = 0.0
    if not conv:
        tau2 = _fallback(d, method)
        status = FALLBACK
    tau2 = max(0.0, tau2)
    w = d.weights(tau2)
    if method == "ML":
        se = np.sqrt(2.0 / np.sum(w * w))
    elif method == "REML":
        P = d.proj(w)
        se = np.sqrt(2.0 / np.sum(P * P))
    else:
        se = _eb_pm_se(d, tau2)
    return tau2, float(se), status, it


def _fallback(d: Design, method: str) -> float:
    if method == "EB":
        target = d.k - d.p
        return 0.0 if d.rss(0.0) <= target else _qroot(d, 0.0, target)
    reml = method == "REML"
    top = max(100.0, 10 * _mad2(d.y), 10 * float(np.var(d.ymc)))
    grid = np.concatenate([[0.0], np.geomspace(1e-10, 1.0, 240)]) * top
    lls = []
    for t in grid:
        try:
            lls.append(d.loglik(float(t), reml))
        except _NoOptimum:
            lls.append(-np.inf)
    j = int(np.argmax(lls))
    if j == 0 and _score(d, 0.0, method) <= 0.0:
        return 0.0

    def g(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.array([_score(d, float(t), method) for t in x])

    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    return float(bisect_decreasing(g, np.array([lo]), np.array([hi]))[0])


def fit(
    d: Design,
    tau2: float,
    method: str,
    test: str,
    alpha: float,
    btt: np.ndarray,
    tau2_fixed: bool,
) -> dict:
    """Coefficients, tests, heterogeneity and fit statistics for a given tau^2."""
    k, p = d.k, d.p
    knha = test == "knha" and k > 1
    w = d.weights(tau2)
    wx = d.X * w[:, None]
    vb = _inv(d.X.T @ wx)
    beta = vb @ (wx.T @ d.y)
    resid = d.y - d.X @ beta
    rss = float(np.sum(w * resid**2))
    s2w = 1.0
    if knha:
        s2w = 0.0 if rss <= MACHINE_EPS else rss / (k - p)
    vb = s2w * vb
    with np.errstate(all="ignore"):
        se = np.sqrt(np.diag(vb))
        stat = beta / se
        m = btt.size
        sub = vb[np.ix_(btt, btt)]
        try:
            qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt]))
            np.linalg.cholesky(sub)
        except np.linalg.LinAlgError:
            qm = float("nan")
        if knha:
            df = float(k - p)
            qm = qm / m
            qm_pval = float(dist.f_sf(qm, m, df)) if df > 0 else float("nan")
            pval = dist.two_sided_p_t(stat, df)
            crit = float(dist.crit_t(alpha, df))
        else:
            df = float("nan")
            qm_pval = float(dist.chisq_sf(qm, m))
            pval = dist.two_sided_p_norm(stat)
            crit = dist.crit_norm(alpha)
        ci_lower = beta - crit * se
        ci_upper = beta + crit * se
    if d.allvipos:
        if k > p:
            w0 = 1.0 / d.v
            P0 = d.proj(w0)
            q = max(0.0, float(d.ymc @ P0 @ d.ymc))
            q_pval = float(dist.chisq_sf(q, k - p))
            vt = (k - p) / float(np.trace(P0))
            if method == "FE":
                with np.errstate(all="ignore"):
                    i2 = max(0.0, 100 * (q - (k - p)) / q) if q > 0 else float("nan")
                    h2 = q / (k - p)
            else:
                i2 = 100 * tau2 / (vt + tau2)
                h2 = tau2 / vt + 1
        else:
            q, q_pval, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    else:
        q = q_pval = i2 = h2 = vt = float("nan")
    logv = float(np.sum(np.log(d.v + tau2)))
    ll_ml = -0.5 * k * LOG2PI - 0.5 * logv - 0.5 * rss
    ll_reml = (
        -0.5 * (k - p) * LOG2PI
        + 0.5 * np.linalg.slogdet(d.X.T @ d.X)[1]
        - 0.5 * logv
        - 0.5 * np.linalg.slogdet(d.X.T @ wx)[1]
        - 0.5 * rss
    )
    return {
        "beta": beta,
        "se": se,
        "stat": stat,
        "pval": np.asarray(pval, dtype=float),
        "ci_lower": ci_lower,
        "ci_upper": ci_upper,
        "vb": vb,
        "df": df,
        "crit": crit,
        "s2w": s2w,
        "qm": qm,
        "qm_df": m,
        "qm_pval": qm_pval,
        "q": q,
        "q_pval": q_pval,
        "i2": i2,
        "h2": h2,
        "vt": vt,
        "ll_ml": float(ll_ml),
        "ll_reml": float(ll_reml),
        "rss": rss,
    }


def r2_fixed(d: Design) -> float:
    """metafor's R^2 of a fixed-effects meta-regression: adjusted R^2 of weighted least squares."""
    if np.all(d.y == d.y[0]):
        return 0.0
    w = 1.0 / d.v
    wx = d.X * w[:, None]
    beta = np.linalg.solve(d.X.T @ wx, wx.T @ d.y)
    rss = float(np.sum(w * (d.y - d.X @ beta) ** 2))
    ybar = float(np.sum(w * d.y) / np.sum(w))
    tss = float(np.sum(w * (d.y - ybar) ** 2))
    r2 = 1.0 - rss / tss
    if d.k == d.p:  # saturated: R's lm gives an undefined adjusted R^2
        return float("nan")
    adj = 1.0 - (1.0 - r2) * (d.k - 1) / (d.k - d.p)
    return max(0.0, 100.0 * adj)


__all__ = ["FALLBACK", "NO_OPTIMUM", "OK", "STATUS_TEXT", "Design", "estimate", "fit"]
