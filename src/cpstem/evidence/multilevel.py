"""``rma_mv``: three-level random-effects models (metafor ``rma.mv``, ``random = ~ 1 | trial/es``).

Several comparisons (arms, time points) per trial are not independent. The model is

    y = X beta + u_trial + u_es + e,   u_trial ~ N(0, sigma2_1), u_es ~ N(0, sigma2_2), e ~ N(0, V)

with ``V`` the sampling (co)variances: ``diag(vi)``, a full matrix, or built from a within-trial
correlation ``rho`` (:func:`vcalc`, metafor's ``vcalc(vi, cluster, obs, rho)``). The variance
components are estimated by REML (default) or ML: Fisher scoring on the exact (restricted)
likelihood, kept inside ``sigma2 >= 0``, iterated to full precision, so the numbers equal
metafor's converged ``nlminb`` optimum (its log-scale parameters round values below
``10 * .Machine$double.eps`` to 0, as here). Tests, Q statistics and fit statistics follow
metafor 3.8's ``rma.mv`` (``test = "t"``: t and F tests with ``k - p`` degrees of freedom).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.evidence import dist
from cpstem.evidence.design import check_rank, moderators
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.estimators import LOG2PI
from cpstem.formatting import format_p
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd

_EPS10 = 10.0 * float(np.finfo(float).eps)


def _codes(values: Any, name: str, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    arr = np.asarray(values, dtype=object).reshape(-1)
    if arr.size != k:
        raise EvidenceError(
            f"{name}: {arr.size} values for {k} effect sizes",
            code="length_mismatch",
            field=name,
            params={"given": int(arr.size), "expected": k},
        )
    labels: dict[str, int] = {}
    codes = np.empty(k, dtype=int)
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            raise EvidenceError(
                f"{name}: row {i + 1} has no value", code="required", field=name, params={"row": i}
            )
        codes[i] = labels.setdefault(str(v), len(labels))
    return codes, tuple(labels)


def vcalc(vi: Any, cluster: Any, rho: float, obs: Any = None) -> np.ndarray:
    """Sampling variance-covariance matrix with correlation ``rho`` within a cluster.

    ``V[i, i] = vi[i]``; ``V[i, j] = rho * sqrt(vi[i] * vi[j])`` for two effect sizes of the same
    cluster (trial) and different ``obs`` (the same as metafor's ``vcalc(vi, cluster, obs, rho)``
    and clubSandwich's ``impute_covariance_matrix``); 0 across clusters. Rows of one cluster
    with the same ``obs`` share the same estimate: correlation 1.
    """
    v = np.asarray(vi, dtype=float).reshape(-1)
    if not -1.0 <= float(rho) <= 1.0:
        raise EvidenceError(
            f"rho = {rho}: a correlation lies between -1 and 1",
            code="out_of_range",
            field="rho",
            params={"value": float(rho)},
        )
    c, _ = _codes(cluster, "cluster", v.size)
    same = c[:, None] == c[None, :]
    r = np.where(same, float(rho), 0.0)
    if obs is not None:
        o, _ = _codes(obs, "obs", v.size)
        r = np.where(same & (o[:, None] == o[None, :]), 1.0, r)
    np.fill_diagonal(r, 1.0)
    s = np.sqrt(v)
    return r * np.outer(s, s)


@dataclass(frozen=True)
class MVResult(Result):
    """A fitted three-level model (metafor ``rma.mv`` with ``random = ~ 1 | cluster/es``).

    ``sigma2`` = (between trials, between comparisons within a trial); ``beta``/``se``/``stat``/
    ``pval``/``ci_lower``/``ci_upper`` per coefficient (floats for a model without moderators);
    ``q``/``q_df``/``q_pval`` the test for (residual) heterogeneity; ``qm`` the omnibus test of the
    moderators (F with ``test="t"``); ``fit_stats``: ``ll_ml, dev_ml, aic_ml, bic_ml, aicc_ml`` and
    the same ``_reml`` (both evaluated at the estimates, like metafor's ``fit.stats``);
    ``i2_levels``: the share of the total variance at each level (metafor FAQ, multilevel I^2).

    ``to_frame()``: one row per effect size (``cluster, yi, vi``); ``coef_frame()`` one row per
    coefficient.
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    n_clusters: int
    n_es: int
    coef_names: tuple[str, ...]
    beta: Any
    se: Any
    stat: Any
    pval: Any
    ci_lower: Any
    ci_upper: Any
    vb: np.ndarray
    sigma2: tuple[float, float]
    q: float
    q_df: int
    q_pval: float
    qm: float
    qm_df: tuple[int, float]
    qm_pval: float
    df: float
    pi_lower: float | None
    pi_upper: float | None
    i2_levels: tuple[float, float]
    fit_stats: Any
    yi: np.ndarray
    V: np.ndarray
    X: np.ndarray
    M: np.ndarray
    cluster: np.ndarray
    cluster_labels: tuple[str, ...]
    has_intercept: bool
    iterations: int

    @property
    def int_only(self) -> bool:
        return self.p == 1 and self.has_intercept

    @property
    def estimate(self) -> float:
        if self.p != 1:
            raise EvidenceError(
                "this model has moderators: read .beta (one per coefficient)",
                code="not_applicable",
            )
        return float(self.beta)

    @property
    def alpha(self) -> float:
        return dist.alpha_from_level(self.level)

    @property
    def vi(self) -> np.ndarray:
        return np.diag(self.V).copy()

    def coef_frame(self) -> pd.DataFrame:
        cols = {
            n: np.atleast_1d(getattr(self, n))
            for n in ("beta", "se", "stat", "pval", "ci_lower", "ci_upper")
        }
        cols["estimate"] = cols.pop("beta")
        order = ("estimate", "se", "stat", "pval", "ci_lower", "ci_upper")
        return frame_of({n: cols[n] for n in order}, index=list(self.coef_names))

    def to_frame(self) -> pd.DataFrame:
        return frame_of(
            {
                "cluster": [self.cluster_labels[c] for c in self.cluster],
                "yi": self.yi,
                "vi": self.vi,
            }
        )

    def summary(self) -> str:
        s1, s2 = self.sigma2
        lines = [
            f"Multilevel random-effects model (k = {self.k} in {self.n_clusters} clusters; "
            f"method: {self.method})",
            "",
            f"sigma^2.1 (between clusters):              {s1:.4f} (sqrt {np.sqrt(s1):.4f}; "
            f"{self.n_clusters} levels)",
            f"sigma^2.2 (within clusters, between es):    {s2:.4f} (sqrt {np.sqrt(s2):.4f}; "
            f"{self.n_es} levels)",
            f"I^2 by level: {self.i2_levels[0]:.1f}% (cluster), {self.i2_levels[1]:.1f}% (es)",
            f"Test for {'residual ' if not self.int_only else ''}heterogeneity: "
            f"Q(df = {self.q_df}) = {self.q:.4f}, p {format_p(self.q_pval, 4, prefix=True)}",
        ]
        if not self.int_only:
            if self.test == "t":
                lines.append(
                    f"Test of moderators: F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]:g}) = "
                    f"{self.qm:.4f}, p {format_p(self.qm_pval, 4, prefix=True)}"
                )
            else:
                lines.append(
                    f"Test of moderators: QM(df = {self.qm_df[0]}) = {self.qm:.4f}, "
                    f"p {format_p(self.qm_pval, 4, prefix=True)}"
                )
        stat = "tval" if self.test == "t" else "zval"
        lines += [
            "",
            f"{'':<14}{'estimate':>10}{'se':>9}{stat:>9}{'pval':>10}{'ci.lb':>10}{'ci.ub':>10}",
        ]
        for i, name in enumerate(self.coef_names):
            b, s, z, pv, lo, hi = (
                float(np.atleast_1d(a)[i])
                for a in (self.beta, self.se, self.stat, self.pval, self.ci_lower, self.ci_upper)
            )
            lines.append(
                f"{name[:14]:<14}{b:10.4f}{s:9.4f}{z:9.4f}{format_p(pv, 4):>10}{lo:10.4f}{hi:10.4f}"
            )
        if self.int_only and self.pi_lower is not None:
            lv = self.level if self.level > 1 else self.level * 100
            lines.append(f"{lv:g}% prediction interval: {self.pi_lower:.4f} to {self.pi_upper:.4f}")
        return "\n".join(lines)


class _Model:
    """Outcomes, design, sampling covariance and the two random-effect structures."""

    def __init__(self, y: np.ndarray, X: np.ndarray, V: np.ndarray, D: list[np.ndarray]):
        self.y, self.X, self.V, self.D = y, X, V, D
        self.k, self.p = X.shape
        self.logdet_xx = float(np.linalg.slogdet(X.T @ X)[1])

    def parts(self, theta: np.ndarray) -> dict[str, Any]:
        M = self.V + sum(t * d for t, d in zip(theta, self.D, strict=True))
        L = np.linalg.cholesky(M)
        Li = np.linalg.inv(L)
        W = Li.T @ Li
        WX = W @ self.X
        XWX = self.X.T @ WX
        XWXi = np.linalg.inv(XWX)
        beta = XWXi @ (WX.T @ self.y)
        r = self.y - self.X @ beta
        Wr = W @ r
        rss = float(r @ Wr)
        logdet_m = 2.0 * float(np.sum(np.log(np.diag(L))))
        logdet_xwx = float(np.linalg.slogdet(XWX)[1])
        ll_ml = -0.5 * self.k * LOG2PI - 0.5 * logdet_m - 0.5 * rss
        ll_reml = (
            -0.5 * (self.k - self.p) * LOG2PI
            + 0.5 * self.logdet_xx
            - 0.5 * logdet_m
            - 0.5 * logdet_xwx
            - 0.5 * rss
        )
        return {
            "M": M,
            "W": W,
            "WX": WX,
            "XWXi": XWXi,
            "beta": beta,
            "Wr": Wr,
            "ll_ml": ll_ml,
            "ll_reml": ll_reml,
        }

    def ll(self, theta: np.ndarray, reml: bool) -> float:
        try:
            pt = self.parts(theta)
        except np.linalg.LinAlgError:
            return -np.inf
        return pt["ll_reml"] if reml else pt["ll_ml"]

    def fit(self, reml: bool, maxiter: int = 500) -> tuple[np.ndarray, int]:
        """Fisher scoring on the (restricted) likelihood within sigma2 >= 0."""
        v_mean = float(np.mean(np.diag(self.V)))
        start = max(float(np.var(self.y)) - v_mean, 0.01 * v_mean, 1e-4) / len(self.D)
        theta = np.full(len(self.D), start)
        ll_old = self.ll(theta, reml)
        it = 0
        for it in range(1, maxiter + 1):  # noqa: B007 (the count is returned)
            pt = self.parts(theta)
            W = pt["W"]
            T = W - pt["WX"] @ pt["XWXi"] @ pt["WX"].T if reml else W
            Py = pt["Wr"]
            TD = [T @ d for d in self.D]
            score = np.array(
                [-0.5 * np.trace(td) + 0.5 * Py @ d @ Py for td, d in zip(TD, self.D, strict=True)]
            )
            info = np.array([[0.5 * np.sum(a * b.T) for b in TD] for a in TD])
            free = ~((theta <= 0.0) & (score <= 0.0))
            step = np.zeros_like(theta)
            if free.any():
                sub = info[np.ix_(free, free)]
                try:
                    step[free] = np.linalg.solve(sub, score[free])
                except np.linalg.LinAlgError:
                    # components not separately identified (e.g. one row per trial): the
                    # minimum-norm step keeps their sum right and splits it evenly
                    step[free] = np.linalg.lstsq(sub, score[free], rcond=None)[0]
            lam = 1.0
            for _ in range(60):
                new = np.maximum(theta + lam * step, 0.0)
                ll_new = self.ll(new, reml)
                if ll_new >= ll_old - 1e-12 * max(1.0, abs(ll_old)):
                    break
                lam /= 2.0
            change = np.max(np.abs(new - theta) / np.maximum(1e-8, np.abs(theta)))
            theta, ll_old = new, ll_new
            if change < 1e-11 or np.max(np.abs(step)) < 1e-15:
                break
        theta = np.where(theta <= _EPS10, 0.0, theta)
        return theta, it


def rma_mv(
    yi: Any,
    vi: Any = None,
    cluster: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    mods: Any = None,
    *,
    es: Any = None,
    V: Any = None,
    rho: float | None = None,
    intercept: bool = True,
) -> MVResult:
    """Fit ``rma.mv(yi, V, mods, random = ~ 1 | cluster/es)``: trials (``cluster``) and the
    comparisons within them (``es``; by default every row is its own comparison).

    Sampling (co)variances: ``vi`` (independent), ``V`` (a full k x k matrix), or ``vi`` with a
    within-trial correlation ``rho`` (:func:`vcalc`). ``method``: ``"REML"`` or ``"ML"``;
    ``test``: ``"z"`` or ``"t"`` (t and F tests with k - p degrees of freedom).
    """
    m = str(method).upper()
    if m not in ("REML", "ML"):
        raise EvidenceError(
            f"method {method!r}: allowed REML or ML",
            code="invalid_choice",
            field="method",
            params={"value": method, "allowed": ["REML", "ML"]},
        )
    t = str(test).lower()
    if t in ("knha", "hksj"):
        t = "t"
    if t not in ("z", "t"):
        raise EvidenceError(
            f"test {test!r}: allowed 'z' or 't'",
            code="invalid_choice",
            field="test",
            params={"value": test, "allowed": ["z", "t"]},
        )
    alpha = dist.alpha_from_level(level)
    y = np.asarray(yi, dtype=float).reshape(-1)
    k = y.size
    if cluster is None:
        raise EvidenceError(
            "give the trial (cluster) of every effect size", code="required", field="cluster"
        )
    c, c_labels = _codes(cluster, "cluster", k)
    if V is not None:
        Vm = np.asarray(V, dtype=float)
        if Vm.shape != (k, k) or not np.allclose(Vm, Vm.T):
            raise EvidenceError(
                f"V must be a symmetric {k} x {k} matrix", code="length_mismatch", field="V"
            )
    else:
        if vi is None:
            raise EvidenceError("give vi or V", code="required", field="vi")
        v = np.asarray(vi, dtype=float).reshape(-1)
        if v.size != k:
            raise EvidenceError(
                f"vi: {v.size} values for {k} effect sizes",
                code="length_mismatch",
                field="vi",
                params={"given": int(v.size), "expected": k},
            )
        Vm = vcalc(v, c, rho, obs=es) if rho is not None else np.diag(v)
    if np.isnan(y).any() or np.isnan(Vm).any():
        raise EvidenceError(
            "yi and the sampling variances must not be missing", code="not_a_number", field="yi"
        )
    if es is None:
        e = np.arange(k)
    else:
        e0, _ = _codes(es, "es", k)
        pairs: dict[tuple[int, int], int] = {}
        e = np.array(
            [pairs.setdefault((int(a), int(b)), len(pairs)) for a, b in zip(c, e0, strict=True)]
        )
    X, names, has_int = moderators(mods, k, intercept)
    X = np.ones((k, 1)) if X is None else X
    p = X.shape[1]
    if not (X.shape[1] == 1 and has_int):
        check_rank(X, names)
    if k < p + 2:
        raise EvidenceError(
            f"{k} effect sizes for {p} coefficients and 2 variance components",
            code="too_few_studies",
            field="yi",
            params={"k": k, "needed": p + 2},
        )
    D1 = (c[:, None] == c[None, :]).astype(float)
    D2 = (e[:, None] == e[None, :]).astype(float)
    model = _Model(y, X, Vm, [D1, D2])
    theta, iters = model.fit(reml=(m == "REML"))
    pt = model.parts(theta)
    beta = pt["beta"]
    vb = pt["XWXi"]
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    btt = np.arange(1, p) if (has_int and p > 1) else np.arange(p)
    qm = float(beta[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], beta[btt]))
    if t == "t":
        df = float(k - p)
        pval = dist.two_sided_p_t(stat, df)
        crit = float(dist.crit_t(alpha, df))
        qm = qm / btt.size
        qm_pval = float(dist.f_sf(qm, btt.size, df))
        qm_df = (int(btt.size), df)
    else:
        df = float("nan")
        pval = dist.two_sided_p_norm(stat)
        crit = dist.crit_norm(alpha)
        qm_pval = float(dist.chisq_sf(qm, btt.size))
        qm_df = (int(btt.size), float("nan"))
    # Q with the sampling covariances only
    W0 = np.linalg.inv(Vm)
    W0X = W0 @ X
    P0 = W0 - W0X @ np.linalg.solve(X.T @ W0X, W0X.T)
    q = float(y @ P0 @ y)
    q_pval = float(dist.chisq_sf(q, k - p))
    ll_qe = -0.5 * k * LOG2PI - 0.5 * float(np.linalg.slogdet(Vm)[1])
    parms = p + 2
    ll_ml, ll_reml = pt["ll_ml"], pt["ll_reml"]
    fit_stats = {
        "ll_ml": ll_ml,
        "dev_ml": -2.0 * (ll_ml - ll_qe),
        "aic_ml": -2.0 * ll_ml + 2 * parms,
        "bic_ml": -2.0 * ll_ml + parms * np.log(k),
        "aicc_ml": -2.0 * ll_ml + 2 * parms * max(k, parms + 2) / (max(k, parms + 2) - parms - 1),
        "ll_reml": ll_reml,
        "dev_reml": -2.0 * ll_reml,
        "aic_reml": -2.0 * ll_reml + 2 * parms,
        "bic_reml": -2.0 * ll_reml + parms * np.log(k - p),
        "aicc_reml": -2.0 * ll_reml
        + 2 * parms * max(k - p, parms + 2) / (max(k - p, parms + 2) - parms - 1),
    }
    typical = (k - p) / float(np.trace(P0))
    total = float(theta.sum()) + typical
    i2 = (100.0 * theta[0] / total, 100.0 * theta[1] / total)
    int_only = p == 1 and has_int
    pi = None
    if int_only:
        sd = float(np.sqrt(vb[0, 0] + theta.sum()))
        pi = (float(beta[0] - crit * sd), float(beta[0] + crit * sd))
    one = p == 1

    def out(a: Any) -> Any:
        a = np.asarray(a, dtype=float).reshape(-1)
        return float(a[0]) if one else a

    return MVResult(
        method=m,
        test=t,
        level=float(level),
        k=k,
        p=p,
        n_clusters=len(c_labels),
        n_es=int(e.max()) + 1,
        coef_names=tuple(names),
        beta=out(beta),
        se=out(se),
        stat=out(stat),
        pval=out(pval),
        ci_lower=out(beta - crit * se),
        ci_upper=out(beta + crit * se),
        vb=vb,
        sigma2=(float(theta[0]), float(theta[1])),
        q=q,
        q_df=k - p,
        q_pval=q_pval,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        df=df,
        pi_lower=None if pi is None else pi[0],
        pi_upper=None if pi is None else pi[1],
        i2_levels=(float(i2[0]), float(i2[1])),
        fit_stats={key: float(val) for key, val in fit_stats.items()},
        yi=y,
        V=Vm,
        X=X,
        M=pt["M"],
        cluster=c,
        cluster_labels=c_labels,
        has_intercept=has_int,
        iterations=iters,
    )
