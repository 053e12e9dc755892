"""Estimate, tests, heterogeneity and prediction interval of intercept-only models, per row.

Given tau^2, everything metafor's ``rma.uni`` and ``predict`` report is computed here for all
rows at once; :func:`cpstem.evidence.rma` (one row) and :func:`cpstem.evidence.rma_batch` (many)
share it, so the batch gives the single-fit numbers by construction.
"""

from __future__ import annotations

import numpy as np

from cpstem.evidence import dist
from cpstem.evidence.estimators import LOG2PI, Rows, dot_rows, rsum, weights

MACHINE_EPS = float(np.finfo(float).eps)


def finish(
    r: Rows,
    tau2: np.ndarray,
    method: str,
    test: str,
    alpha: float,
    tau2_fixed: bool = False,
    loglik: bool = True,
    t_pvalues: bool = True,
) -> dict[str, np.ndarray]:
    """All reported figures of the intercept-only model for each row.

    ``loglik=False`` leaves out the log-likelihoods (``ll_ml``, ``ll_reml``; ``rss`` too unless
    the test needs it), which ``rma_batch`` does not report.
    """
    k = r.k.astype(float)
    knha = (test == "knha") & (r.k > 1)  # metafor switches to z when k = 1
    w = weights(r, tau2)
    with np.errstate(all="ignore"):
        sw = rsum(w)
        beta = dot_rows(w, r.y) / sw
        if loglik or knha.any():
            resid = r.y - beta[:, None]  # masked studies have w = 0
            rss = dot_rows(w, resid, resid)
        else:
            rss = np.full(k.size, np.nan)
        fx = r.fixed()
        out = figures(
            r.k, tau2, sw, beta, rss, fx.q, fx.trp, r.allvipos, method, test, alpha, t_pvalues
        )
        if loglik:  # metafor's fit.stats, REMLf = TRUE
            logv = rsum(np.where(r.m, np.log(np.where(r.m, r.v + tau2[:, None], 1.0)), 0.0))
            ll_ml = -0.5 * k * LOG2PI - 0.5 * logv - 0.5 * rss
            ll_reml = -0.5 * (k - 1.0) * LOG2PI + 0.5 * np.log(k) - 0.5 * logv - 0.5 * np.log(sw)
            ll_reml = ll_reml - 0.5 * rss
        else:
            ll_ml = ll_reml = np.full(k.size, np.nan)
    out.update(ll_ml=ll_ml, ll_reml=ll_reml, rss=rss)
    return out


def _same(a: np.ndarray) -> bool:
    """All values of ``a`` equal (and there is at least one)."""
    return bool(a.size) and bool((a == a[0]).all())


def figures(
    kk: np.ndarray,
    tau2: np.ndarray,
    sw: np.ndarray,
    beta: np.ndarray,
    rss: np.ndarray,
    q_raw: np.ndarray,
    trp: np.ndarray,
    allvipos: np.ndarray,
    method: str,
    test: str,
    alpha: float,
    t_pvalues: bool = True,
) -> dict[str, np.ndarray]:
    """The per-row figures from the row sums: ``kk`` studies, the weights' sum ``sw`` and
    estimate ``beta`` at ``tau2``, their weighted residual sum of squares ``rss`` (needed for
    ``knha`` only), Cochran's ``q_raw`` and ``trp = tr(P)`` of the fixed-effect weights.

    ``t_pvalues=False``: when every row has a t test (``knha``), ``pval`` and ``qm_pval`` are
    left out (the t tail is the slowest figure; ``rma_batch`` computes them on first use)."""
    k = kk.astype(float)
    knha = (test == "knha") & (kk > 1)  # metafor switches to z when k = 1
    with np.errstate(all="ignore"):
        vb = 1.0 / sw
        s2w = np.where(knha, np.where(rss <= MACHINE_EPS, 0.0, rss / (k - 1.0)), 1.0)
        vb = s2w * vb
        se = np.sqrt(vb)
        stat = beta / se
        df = np.where(knha, k - 1.0, np.nan)
        pval: dist.ArrayLike | None
        # compute only the distribution the rows use (z for all, t for all, or both)
        if not knha.any():
            pval = dist.two_sided_p_norm(stat)
            crit = np.full(stat.shape, dist.crit_norm(alpha))
        elif knha.all():
            pval = dist.two_sided_p_t(stat, df) if t_pvalues else None
            if _same(df):  # one quantile for all rows
                crit = np.full(df.shape, float(dist.crit_t(alpha, float(df[0]))))
            else:
                crit = np.asarray(dist.crit_t(alpha, df))
        else:
            pval = np.where(knha, dist.two_sided_p_t(stat, df), dist.two_sided_p_norm(stat))
            crit = np.where(knha, dist.crit_t(alpha, df), dist.crit_norm(alpha))
        ci_lower = beta - crit * se
        ci_upper = beta + crit * se
        qm = np.where(vb > 0, beta**2 / vb, np.nan)  # metafor: chol() of vb fails -> NA
        # QM = stat^2 on 1 df: its chi-square (z) or F(1, df) (knha) p value is the two-sided
        # p value of stat
        qm_pval = None if pval is None else np.where(np.isnan(qm), np.nan, pval)
        sdp = np.sqrt(vb + tau2)
        pi_lower = beta - crit * sdp
        pi_upper = beta + crit * sdp

        # heterogeneity: Q with fixed-effect weights, metafor's I^2/H^2
        q = np.maximum(0.0, q_raw)
        dfq = k - 1.0
        q_pval = dist.chisq_sf(q, dfq)
        vt = dfq / trp
        if method == "FE":
            i2 = np.maximum(0.0, 100.0 * (q - dfq) / q)
            i2 = np.where(np.isnan(i2), np.nan, i2)
            h2 = q / dfq
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
        single = kk <= 1
        if single.any():
            q = np.where(single, 0.0, q)
            q_pval = np.where(single, 1.0, q_pval)
            i2 = np.where(single, 0.0, i2)
            h2 = np.where(single, 1.0, h2)
            vt = np.where(single, 0.0, vt)
        nonpos = ~allvipos
        if nonpos.any():
            q, q_pval, i2, h2, vt = (np.where(nonpos, np.nan, a) for a in (q, q_pval, i2, h2, vt))
    return {
        "beta": beta,
        "se": se,
        "stat": stat,
        "pval": pval,
        "ci_lower": ci_lower,
        "ci_upper": ci_upper,
        "df": df,
        "crit": crit,
        "vb": vb,
        "s2w": s2w,
        "qm": qm,
        "qm_pval": qm_pval,
        "pi_lower": pi_lower,
        "pi_upper": pi_upper,
        "q": q,
        "q_pval": q_pval,
        "i2": i2,
        "h2": h2,
        "vt": vt,
    }
