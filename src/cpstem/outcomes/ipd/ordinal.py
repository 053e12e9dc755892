"""Proportional-odds (ordered logit) model with cluster-robust standard errors.

The model (statsmodels' ``OrderedModel`` with ``distr="logit"``, fitted here by Newton-Raphson
with the analytic Hessian): ``P(Y <= j | x) = F(c_j - x'beta)`` with ``F`` the logistic
distribution function, so a positive ``beta`` moves children towards *higher* categories and
``exp(beta)`` is the common odds ratio of a higher category (the proportional-odds assumption:
one ``beta`` for every cut point).

Cluster-robust covariance (the sandwich) is computed here from analytic per-observation scores
in the natural parameters ``(beta, c_1 .. c_{J-1})``::

    V = G / (G - 1) * H^-1 (sum_g s_g s_g') H^-1

``s_g`` the summed score of cluster ``g`` (a child), ``G`` the number of clusters, ``H`` the
analytic Hessian of the log-likelihood. The ``beta``
block does not depend on how the cut points are parametrised (statsmodels' own parameters are
``c_1`` and log increments), because the reparametrisation only touches the cut-point block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpstem.outcomes.errors import OutcomeError


@dataclass(frozen=True)
class OrdinalFit:
    """``beta`` (per column of ``x``), ``cuts`` (J - 1 increasing cut points), ``cov_robust``
    and ``cov_model`` (over ``beta`` then ``cuts``), ``n_obs``, ``n_clusters``, ``levels``."""

    beta: np.ndarray
    cuts: np.ndarray
    cov_robust: np.ndarray
    cov_model: np.ndarray
    n_obs: int
    n_clusters: int
    levels: np.ndarray
    converged: bool


def _logistic_pdf(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def _cdf(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def score_obs(y: np.ndarray, x: np.ndarray, beta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Per-observation scores (n x (p + J - 1)) of the ordered logit log-likelihood.

    ``y`` holds category codes 0 .. J-1. With ``u = c_y - eta`` and ``l = c_{y-1} - eta``
    (``c_{-1} = -inf``, ``c_{J-1} = +inf``), ``P = F(u) - F(l)``:
    ``d log P / d beta = -x (f(u) - f(l)) / P``, ``d/d c_y = f(u) / P``,
    ``d/d c_{y-1} = -f(l) / P``.
    """
    n = len(y)
    k = len(cuts)
    eta = x @ beta
    ext = np.concatenate(([-np.inf], cuts, [np.inf]))
    u = ext[y + 1] - eta
    lo = ext[y] - eta
    fu = np.where(np.isfinite(u), _logistic_pdf(np.where(np.isfinite(u), u, 0.0)), 0.0)
    fl = np.where(np.isfinite(lo), _logistic_pdf(np.where(np.isfinite(lo), lo, 0.0)), 0.0)
    p = _cdf(u) - _cdf(lo)
    p = np.maximum(p, 1e-300)
    out = np.zeros((n, x.shape[1] + k))
    out[:, : x.shape[1]] = -x * ((fu - fl) / p)[:, None]
    rows = np.arange(n)
    upper = y < k  # c_y exists
    out[rows[upper], x.shape[1] + y[upper]] += fu[upper] / p[upper]
    lower = y > 0  # c_{y-1} exists
    out[rows[lower], x.shape[1] + y[lower] - 1] -= fl[lower] / p[lower]
    return out


def _loglik(y: np.ndarray, x: np.ndarray, beta: np.ndarray, cuts: np.ndarray) -> float:
    eta = x @ beta
    ext = np.concatenate(([-np.inf], cuts, [np.inf]))
    p = _cdf(ext[y + 1] - eta) - _cdf(ext[y] - eta)
    return float(np.sum(np.log(np.maximum(p, 1e-300))))


def _hessian(y: np.ndarray, x: np.ndarray, beta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return _derivatives(y, x, beta, cuts)[1]


def _derivatives(
    y: np.ndarray, x: np.ndarray, beta: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Total score and analytic Hessian of the log-likelihood in ``(beta, cuts)``.

    With ``u = c_y - eta``, ``l = c_{y-1} - eta``, ``P = F(u) - F(l)``, ``a = f(u)/P``,
    ``b = f(l)/P`` and ``f' = f (1 - 2F)``: ``d2 log P/du2 = a (1 - 2F(u)) - a^2``,
    ``d2/dl2 = -b (1 - 2F(l)) - b^2``, ``d2/du dl = a b``; ``du/dbeta = dl/dbeta = -x``,
    ``du/dc_y = 1``, ``dl/dc_{y-1} = 1`` (terms at infinite ``u`` or ``l`` vanish).
    """
    p = x.shape[1]
    k = len(cuts)
    eta = x @ beta
    ext = np.concatenate(([-np.inf], cuts, [np.inf]))
    u = ext[y + 1] - eta
    lo = ext[y] - eta
    fin_u, fin_l = np.isfinite(u), np.isfinite(lo)
    uu, ll = np.where(fin_u, u, 0.0), np.where(fin_l, lo, 0.0)
    fu = np.where(fin_u, _logistic_pdf(uu), 0.0)
    fl = np.where(fin_l, _logistic_pdf(ll), 0.0)
    prob = np.maximum(_cdf(u) - _cdf(lo), 1e-300)
    a, b = fu / prob, fl / prob
    huu = np.where(fin_u, a * (1.0 - 2.0 * _cdf(uu)) - a * a, 0.0)
    hll = np.where(fin_l, -b * (1.0 - 2.0 * _cdf(ll)) - b * b, 0.0)
    hul = a * b
    score = np.concatenate(
        [-(x.T @ (a - b)), np.bincount(y, a, k + 1)[:k] - np.bincount(y, b, k + 1)[1:]]
    )
    # du/dbeta = dl/dbeta = -x; u moves with c_y (y < k), l with c_{y-1} (y > 0)
    h = np.zeros((p + k, p + k))
    h[:p, :p] = (x * (huu + hll + 2.0 * hul)[:, None]).T @ x
    # beta x c_j: -x (huu + hul) over y = j (u), -x (hll + hul) over y = j + 1 (l)
    xu, xl = x * (-(huu + hul))[:, None], x * (-(hll + hul))[:, None]
    for c in range(p):
        col = np.bincount(y, xu[:, c], k + 1)[:k] + np.bincount(y, xl[:, c], k + 1)[1:]
        h[:p, p:][c] = col
        h[p:, :p][:, c] = col
    diag = np.bincount(y, huu, k + 1)[:k] + np.bincount(y, hll, k + 1)[1:]
    h[p:, p:] = np.diag(diag)
    # c_j (as l) and c_{j+1} (as u) of one observation: y = j + 1
    off = np.bincount(y, hul, k + 1)[1:k]
    idx = np.arange(k - 1)
    h[p + idx, p + idx + 1] = off
    h[p + idx + 1, p + idx] = off
    return score, h


def _start(y: np.ndarray, p: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Start values: no covariate effect, cut points at the logits of the cumulative shares."""
    share = np.cumsum(np.bincount(y, minlength=k + 1))[:-1] / len(y)
    share = np.clip(share, 1e-6, 1 - 1e-6)
    return np.zeros(p), np.log(share / (1 - share))


def _newton(
    y: np.ndarray, x: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum likelihood by Newton-Raphson with step halving (the ordered-logit
    log-likelihood is concave in ``(beta, cuts)``, Pratt 1981); stops when the largest score is
    below 1e-9 per observation or no step improves the likelihood."""
    n, p = x.shape
    k = int(y.max())
    beta, cuts = _start(y, p, k)
    ll = _loglik(y, x, beta, cuts)
    for _ in range(max_iter):
        score, h = _derivatives(y, x, beta, cuts)
        if np.max(np.abs(score)) < 1e-9 * max(n, 1):
            return beta, cuts, True
        try:
            step = np.linalg.solve(-h, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(-h, score, rcond=None)[0]
        t = 1.0
        for _ in range(40):
            nb, nc = beta + t * step[:p], cuts + t * step[p:]
            if np.all(np.diff(nc) > 0):
                new = _loglik(y, x, nb, nc)
                if new >= ll - 1e-12 * abs(ll):
                    break
            t /= 2
        else:
            return beta, cuts, False
        beta, cuts, ll = nb, nc, new
    return beta, cuts, False


def cluster_sandwich(
    y: np.ndarray, x: np.ndarray, beta: np.ndarray, cuts: np.ndarray, clusters: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """(robust covariance, model-based covariance, number of clusters); see the module text."""
    scores = score_obs(y, x, beta, cuts)
    codes, _ = pd.factorize(pd.Series(clusters))
    g = int(codes.max()) + 1
    summed = np.zeros((g, scores.shape[1]))
    np.add.at(summed, codes, scores)
    bread = np.linalg.inv(-_hessian(y, x, beta, cuts))
    meat = summed.T @ summed
    factor = g / (g - 1) if g > 1 else np.nan
    return factor * bread @ meat @ bread, bread, g


def fit_ordinal(y: np.ndarray, x: np.ndarray, clusters: np.ndarray) -> OrdinalFit:
    """Ordered logit of ``y`` (ordinal values; the observed ones are the categories) on ``x``
    (no constant column), with the cluster-robust covariance by ``clusters``: maximum
    likelihood by Newton-Raphson with the analytic Hessian (the same estimates as statsmodels'
    ``OrderedModel``, ~50x faster at 60,000 limbs)."""

    levels, codes = np.unique(np.asarray(y), return_inverse=True)
    if len(levels) < 2:
        raise OutcomeError(
            "the ordinal model needs at least two different outcome categories",
            code="too_few",
            field="mas",
            params={"categories": len(levels)},
        )
    x = np.asarray(x, dtype=float)
    beta, cuts, _ = _newton(codes, x)
    robust, bread, g = cluster_sandwich(codes, x, beta, cuts, clusters)
    return OrdinalFit(
        beta=beta,
        cuts=cuts,
        cov_robust=robust,
        cov_model=bread,
        n_obs=len(codes),
        n_clusters=g,
        levels=levels,
        converged=bool(np.max(np.abs(_derivatives(codes, x, beta, cuts)[0])) < 1e-4),
    )
