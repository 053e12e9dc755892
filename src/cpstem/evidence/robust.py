"""``robust``: cluster-robust inference for ``rma`` and ``rma_mv`` fits (metafor ``robust``).

``vcov="CR2"`` (default): the bias-reduced linearisation sandwich (Bell & McCaffrey 2002;
Pustejovsky & Tipton 2018) with Satterthwaite degrees of freedom per coefficient and the HTZ
Wald test for the moderators -- metafor's ``robust(res, cluster, clubSandwich = TRUE)``, i.e.
clubSandwich's ``vcovCR(type = "CR2")``, ``coef_test``/``conf_int`` (Satterthwaite) and
``Wald_test`` (HTZ), with the model's marginal covariance as working model.
``vcov="CR1"``: metafor's own ``robust(res, cluster)``: the sandwich with the ``n / (n - p)``
factor and t/F tests with ``n - p`` degrees of freedom (n clusters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.formatting import format_p
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RobustResult(Result):
    """Cluster-robust coefficients: ``se``, ``stat`` (t), ``df`` (per coefficient for CR2),
    ``pval``, ``ci_lower``/``ci_upper``, ``vb`` and the moderator test ``qm`` (F) with
    ``qm_df`` and ``qm_pval``. ``coef_frame()``: one row per coefficient."""

    vcov_type: str
    level: float
    n_clusters: int
    k: int
    coef_names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    vb: np.ndarray
    qm: float
    qm_df: tuple[float, float]
    qm_pval: float

    @property
    def estimate(self) -> float:
        if self.beta.size != 1:
            raise EvidenceError("this model has moderators: read .beta", code="not_applicable")
        return float(self.beta[0])

    def coef_frame(self) -> pd.DataFrame:
        names = ("beta", "se", "stat", "df", "pval", "ci_lower", "ci_upper")
        cols = {n: getattr(self, n) for n in names}
        cols["estimate"] = cols.pop("beta")
        order = ("estimate", "se", "stat", "df", "pval", "ci_lower", "ci_upper")
        return frame_of({n: cols[n] for n in order}, index=list(self.coef_names))

    def to_frame(self) -> pd.DataFrame:
        return self.coef_frame()

    def summary(self) -> str:
        how = (
            "CR2, Satterthwaite t tests, HTZ Wald test (clubSandwich)"
            if self.vcov_type == "CR2"
            else "CR1, t tests with n - p df (metafor robust)"
        )
        lines = [
            f"Cluster-robust inference: {self.k} estimates in {self.n_clusters} clusters ({how})",
            "",
            f"{'':<14}{'estimate':>10}{'se':>9}{'tval':>9}{'df':>8}{'pval':>10}{'ci.lb':>10}"
            f"{'ci.ub':>10}",
        ]
        for i, name in enumerate(self.coef_names):
            lines.append(
                f"{name[:14]:<14}{self.beta[i]:10.4f}{self.se[i]:9.4f}{self.stat[i]:9.4f}"
                f"{self.df[i]:8.2f}{format_p(self.pval[i], 4):>10}{self.ci_lower[i]:10.4f}"
                f"{self.ci_upper[i]:10.4f}"
            )
        if self.beta.size > 1 or self.coef_names[0] != "intrcpt":
            lines.append(
                f"Test of moderators: F(df1 = {self.qm_df[0]:g}, df2 = {self.qm_df[1]:.2f}) = "
                f"{self.qm:.4f}, p {format_p(self.qm_pval, 4, prefix=True)}"
            )
        return "\n".join(lines)


def _matrix_power(a: np.ndarray, power: float) -> np.ndarray:
    """clubSandwich's ``matrix_power``: eigenvalues <= 1e-12 are set to 0."""
    val, vec = np.linalg.eigh(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        vp = np.where(val > 1e-12, np.abs(val) ** power, 0.0)
    return (vec * vp) @ vec.T


def _model_parts(res: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple, bool]:
    from cpstem.evidence.multilevel import MVResult
    from cpstem.evidence.rma import RMAResult

    if isinstance(res, MVResult):
        return res.yi, res.X, res.M, np.atleast_1d(res.beta), res.coef_names, res.int_only
    if isinstance(res, RMAResult):
        M = np.diag(res.vi + res.tau2)
        return res.yi, res.X, M, np.atleast_1d(res.beta), res.coef_names, res.int_only
    raise EvidenceError(
        "robust() takes a model fitted by rma() or rma_mv()", code="not_applicable", field="res"
    )


def robust(res: Any, cluster: Any, vcov: str = "CR2", level: float | None = None) -> RobustResult:
    """Cluster-robust tests and confidence intervals of a fitted model (see the module)."""
    from cpstem.evidence.multilevel import _codes

    kind = str(vcov).upper()
    if kind not in ("CR2", "CR1"):
        raise EvidenceError(
            f"vcov {vcov!r}: allowed 'CR2' (clubSandwich) or 'CR1' (metafor's default)",
            code="invalid_choice",
            field="vcov",
            params={"value": vcov, "allowed": ["CR2", "CR1"]},
        )
    y, X, M, beta, names, int_only = _model_parts(res)
    k, p = X.shape
    c, labels = _codes(cluster, "cluster", k)
    n = len(labels)
    if n - p <= 0:
        raise EvidenceError(
            f"{n} clusters for {p} coefficients: need more clusters than coefficients",
            code="too_few_studies",
            field="cluster",
            params={"clusters": n, "coefficients": p},
        )
    lv = float(res.level if level is None else level)
    alpha = dist.alpha_from_level(lv)
    btt = np.arange(1, p) if (p > 1 and not int_only and names[0] == "intrcpt") else np.arange(p)
    groups = [np.flatnonzero(c == j) for j in range(n)]
    resid = y - X @ beta
    if kind == "CR1":
        W = np.linalg.inv(M)
        vb0 = np.linalg.inv(X.T @ W @ X)
        bread = vb0 @ X.T @ W
        meat = np.zeros((k, k))
        for g in groups:
            meat[np.ix_(g, g)] = np.outer(resid[g], resid[g])
        vb = bread @ meat @ bread.T * (n / (n - p))
        se = np.sqrt(np.diag(vb))
        stat = beta / se
        df = np.full(p, float(n - p))
        pval = dist.two_sided_p_t(stat, df)
        crit = dist.crit_t(alpha, df)
        sub = vb[np.ix_(btt, btt)]
        qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt])) / btt.size
        qm_df = (float(btt.size), float(n - p))
        qm_pval = float(dist.f_sf(qm, btt.size, n - p))
    else:
        Wj = [np.linalg.inv(M[np.ix_(g, g)]) for g in groups]
        Xj = [X[g] for g in groups]
        XWX = sum(x.T @ w @ x for x, w in zip(Xj, Wj, strict=True))
        Mb = np.linalg.inv(XWX)
        Cm = np.linalg.cholesky(Mb)
        G: list[np.ndarray] = []
        H: list[np.ndarray] = []
        comps = []
        for g, x, w in zip(groups, Xj, Wj, strict=True):
            theta = M[np.ix_(g, g)]
            L = np.linalg.cholesky(theta)  # theta = L L'
            U = L.T
            inner = U @ (theta - x @ Mb @ x.T) @ U.T
            A = U.T @ _matrix_power(inner, -0.5) @ U
            E = x.T @ w @ A
            comps.append(E @ resid[g])
            ME = Mb @ E
            G.append(ME @ L)
            H.append(ME @ x @ Cm)
        comp = np.array(comps)  # n x p
        vb = Mb @ (comp.T @ comp) @ Mb
        se = np.sqrt(np.diag(vb))
        stat = beta / se
        Harr = np.stack(H, axis=2)  # p x p(u) x J

        def p_array(rows_s: np.ndarray, rows_t: np.ndarray, gs: list, gt: list) -> np.ndarray:
            out = -rows_s.T @ rows_t  # J x J
            out[np.diag_indices_from(out)] += np.array([a @ b for a, b in zip(gs, gt, strict=True)])
            return out

        df = np.empty(p)
        for i in range(p):
            P = p_array(Harr[i], Harr[i], [gm[i] for gm in G], [gm[i] for gm in G])
            df[i] = np.trace(P) ** 2 / np.sum(P * P)
        pval = dist.two_sided_p_t(stat, df)
        crit = dist.crit_t(alpha, df)
        if int_only:
            qm = max(0.0, float(stat[0] ** 2))
            qm_df = (1.0, float(df[0]))
            qm_pval = float(np.asarray(pval)[0])
        else:
            q = btt.size
            C = np.eye(p)[btt]
            GC = [C @ gm for gm in G]
            HC = np.einsum("qp,puj->quj", C, Harr)
            Parr = np.empty((q, q, n, n))
            for s in range(q):
                for t in range(q):
                    Parr[s, t] = p_array(HC[s], HC[t], [gm[s] for gm in GC], [gm[t] for gm in GC])
            Omega = np.einsum("stjj->st", Parr)
            On = _matrix_power(Omega, -0.5)
            B = np.einsum("sa,abjl,bt->stjl", On, Parr, On)
            var = np.empty((q, q))
            for s in range(q):
                for t in range(q):
                    var[s, t] = np.sum(B[s, t] * B[t, s]) + np.sum(B[s, s] * B[t, t])
            nu = q * (q + 1) / np.sum(var)
            cb = C @ beta
            Q = float(cb @ np.linalg.solve(C @ vb @ C.T, cb))
            delta = max((nu - q + 1) / nu, 0.0)
            ddf = nu - q + 1
            qm = max(0.0, delta * Q / q)
            qm_df = (float(q), float(ddf))
            qm_pval = float(dist.f_sf(qm, q, ddf)) if ddf > 0 else float("nan")
    return RobustResult(
        vcov_type=kind,
        level=lv,
        n_clusters=n,
        k=k,
        coef_names=tuple(names),
        beta=np.asarray(beta, dtype=float),
        se=se,
        stat=stat,
        df=np.asarray(df, dtype=float),
        pval=np.asarray(pval, dtype=float),
        ci_lower=beta - crit * se,
        ci_upper=beta + crit * se,
        vb=vb,
        qm=float(qm),
        qm_df=qm_df,
        qm_pval=float(qm_pval),
    )
