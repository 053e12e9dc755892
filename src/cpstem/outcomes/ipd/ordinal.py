"""Proportional-odds (ordered logit) model with cluster-robust standard errors.

The model is fitted by statsmodels' ``OrderedModel`` (``distr="logit"``):
``P(Y <= j | x) = F(c_j - x'beta)`` with ``F`` the logistic distribution function, so a positive
``beta`` moves children towards *higher* categories and ``exp(beta)`` is the common odds ratio
of a higher category (the proportional-odds assumption: one ``beta`` for every cut point).

Cluster-robust covariance (the sandwich) is computed here from analytic per-observation scores
in the natural parameters ``(beta, c_1 .. c_{J-1})``::

    V = G / (G - 1) * H^-1 (sum_g s_g s_g') H^-1

``s_g`` the summed score of cluster ``g`` (a child), ``G`` the number of clusters, ``H`` the
Hessian of the log-likelihood (central differences of the analytic total score). The ``beta``
block does not depend on how the cut points are parametrised (statsmodels' own parameters are
``c_1`` and log increments), because the reparametrisation only touches the cut-point block.
"""

from __future__ import annotations

import warnings
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


def _hessian(y: np.ndarray, x: np.ndarray, beta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    p = x.shape[1]
    theta = np.concatenate([beta, cuts])
    m = len(theta)
    h = np.empty((m, m))
    for j in range(m):
        step = 1e-5 * max(1.0, abs(theta[j]))
        up = theta.copy()
        dn = theta.copy()
        up[j] += step
        dn[j] -= step
        su = score_obs(y, x, up[:p], up[p:]).sum(axis=0)
        sd = score_obs(y, x, dn[:p], dn[p:]).sum(axis=0)
        h[:, j] = (su - sd) / (2 * step)
    return (h + h.T) / 2


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
    (no constant column), with the cluster-robust covariance by ``clusters``."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    levels, codes = np.unique(np.asarray(y), return_inverse=True)
    if len(levels) < 2:
        raise OutcomeError(
            "the ordinal model needs at least two different outcome categories",
            code="too_few",
            field="mas",
            params={"categories": len(levels)},
        )
    x = np.asarray(x, dtype=float)
    model = OrderedModel(codes, x, distr="logit")
    with warnings.catch_warnings():
        # convergence is judged below from the analytic score, not BFGS's own gradient test
        warnings.simplefilter("ignore")
        res = model.fit(method="bfgs", disp=False, maxiter=2000, gtol=1e-10)
    params = np.asarray(res.params, dtype=float)
    p = x.shape[1]
    beta = params[:p]
    cuts = np.asarray(model.transform_threshold_params(params), dtype=float)[1:-1]
    robust, bread, g = cluster_sandwich(codes, x, beta, cuts, clusters)
    return OrdinalFit(
        beta=beta,
        cuts=cuts,
        cov_robust=robust,
        cov_model=bread,
        n_obs=len(codes),
        n_clusters=g,
        levels=levels,
        converged=bool(np.max(np.abs(score_obs(codes, x, beta, cuts).sum(axis=0))) < 1e-4),
    )
