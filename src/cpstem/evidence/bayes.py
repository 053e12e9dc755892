"""Bayesian random-effects meta-analysis by numerical integration (no MCMC), as ``bayesmeta``.

Model (Röver 2020, J Stat Softw 93(6)): ``y_i ~ N(theta_i, sigma_i^2)``, ``theta_i ~ N(mu,
tau^2)``; prior on ``mu`` flat (improper) or normal; prior on ``tau``: half-normal, half-Cauchy
(Röver 2020's weakly informative choices), or a log-normal / log-t(df) prior on ``tau^2``
(Turner et al. 2015 log-normal priors for binary outcomes; Rhodes et al. 2015 log-t(5) priors
for standardised mean differences; see :func:`heterogeneity_priors`).

Given tau, ``mu`` is normal (conjugate), so the marginal posterior of tau is one-dimensional
(likelihood times prior, integrated with adaptive quadrature), and the posteriors of ``mu`` and
of a new trial's effect ``theta_new`` are mixtures of normals over tau. Every figure
(means, medians, central credible intervals, ``P(mu > threshold)``) comes from these integrals.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from cpstem.evidence.errors import EvidenceError
from cpstem.results import Result

_TAU_PRIORS = ("halfnormal", "halfcauchy", "lognormal_tau2", "logt_tau2")


@cache
def heterogeneity_priors() -> dict[str, Any]:
    """The published prior parameters in ``priors.toml`` (with their sources)."""
    return tomllib.loads((Path(__file__).with_name("priors.toml")).read_text())


def _tau_logpdf(tau: np.ndarray, prior: str, scale: float, location: float, df: float) -> Any:
    t = np.asarray(tau, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if prior == "halfnormal":
            out = np.log(2.0) + stats.norm.logpdf(t, 0.0, scale)
        elif prior == "halfcauchy":
            out = np.log(2.0) + stats.cauchy.logpdf(t, 0.0, scale)
        elif prior == "lognormal_tau2":  # tau^2 ~ logN(location, scale): density of tau
            t2 = t * t
            out = np.log(2.0 * t) + stats.lognorm.logpdf(t2, scale, scale=np.exp(location))
        else:  # log-t on tau^2
            t2 = t * t
            z = (np.log(t2) - location) / scale
            out = np.log(2.0 * t) + stats.t.logpdf(z, df) - np.log(scale) - np.log(t2)
        return np.where(t < 0, -np.inf, out)


@dataclass(frozen=True)
class BayesResult(Result):
    """Posterior summaries of ``mu`` (the average effect), ``tau`` (heterogeneity) and
    ``theta_new`` (the effect in a new trial: the predictive distribution).

    ``mu_mean``, ``mu_sd``, ``mu_median``, ``mu_ci`` (central credible interval at ``level``),
    ``tau_mean``, ``tau_median``, ``tau_ci``, ``theta_mean``, ``theta_ci``; ``prob_mu_above``
    maps each threshold (e.g. the MCID) to ``P(mu > threshold | data)``; use :meth:`prob_mu` and
    :meth:`prob_theta` for others.
    """

    k: int
    level: float
    tau_prior: str
    tau_prior_parameters: Any
    mu_prior: str
    mu_mean: float
    mu_sd: float
    mu_median: float
    mu_ci: tuple[float, float]
    tau_mean: float
    tau_median: float
    tau_ci: tuple[float, float]
    theta_mean: float
    theta_ci: tuple[float, float]
    prob_mu_above: Any
    y: np.ndarray
    sigma: np.ndarray
    _post: Any = None

    # --- integrals -----------------------------------------------------------------------
    def prob_mu(self, threshold: float, above: bool = True) -> float:
        """``P(mu > threshold | data)`` (or below with ``above=False``)."""
        p = self._post.mu_cdf(float(threshold))
        return float(1.0 - p if above else p)

    def prob_theta(self, threshold: float, above: bool = True) -> float:
        """``P(theta_new > threshold | data)``: a new trial's effect beyond the threshold."""
        p = self._post.mu_cdf(float(threshold), predictive=True)
        return float(1.0 - p if above else p)

    def _dict_items(self) -> dict[str, Any]:
        out = super()._dict_items()
        out.pop("_post", None)
        return out

    def summary(self) -> str:
        lv = f"{self.level:g}%"
        lines = [
            f"Bayesian random-effects meta-analysis (k = {self.k}; numerical integration)",
            f"  priors: tau ~ {self.tau_prior} {dict(self.tau_prior_parameters)}; "
            f"mu ~ {self.mu_prior}",
            f"  mu:        mean {self.mu_mean:.4f} (sd {self.mu_sd:.4f}), median "
            f"{self.mu_median:.4f}, {lv} CrI {self.mu_ci[0]:.4f} to {self.mu_ci[1]:.4f}",
            f"  tau:       median {self.tau_median:.4f}, {lv} CrI {self.tau_ci[0]:.4f} to "
            f"{self.tau_ci[1]:.4f}",
            f"  new trial: {lv} prediction {self.theta_ci[0]:.4f} to {self.theta_ci[1]:.4f}",
        ]
        for thr, p in dict(self.prob_mu_above).items():
            lines.append(f"  P(mu > {thr:g} | data) = {p:.4f}")
        return "\n".join(lines)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


class _Posterior:
    """The marginal posterior of tau on ``tau = scale * exp(x)``, integrated by composite
    Gauss-Legendre quadrature (150 panels x 20 nodes on ``x`` in [-40, log(1e4)]); every
    figure is a (vectorised) integral over these nodes."""

    X_LO = -40.0

    def __init__(self, y: np.ndarray, s2: np.ndarray, logprior: Any, mu_prior: tuple | None):
        self.y, self.s2, self.logprior, self.mu_prior = y, s2, logprior, mu_prior
        self.scale = max(float(np.sqrt(np.mean(s2))), float(np.std(y)), 1e-3)
        self.x_hi = float(np.log(1e4))
        tau, w = self.nodes(self.X_LO, self.x_hi)
        lu = self.log_unnorm(tau)
        self.shift = float(np.max(lu[np.isfinite(lu)]))
        self.tau, self.w = tau, w * np.exp(lu - self.shift)
        self.Z = float(self.w.sum())
        self.p = self.w / self.Z
        _, self.m, self.sd = self.cond(tau)

    def nodes(self, lo: float, hi: float, panels: int = 150) -> tuple[np.ndarray, np.ndarray]:
        edges = np.linspace(lo, hi, panels + 1)
        half = (edges[1:] - edges[:-1])[:, None] / 2.0
        mid = (edges[1:] + edges[:-1])[:, None] / 2.0
        x = (mid + half * _GL_X[None, :]).ravel()
        wx = (half * _GL_W[None, :]).ravel()
        tau = self.scale * np.exp(x)
        return tau, wx * tau  # d tau = tau dx

    def cond(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(log marginal likelihood given tau up to a constant, mean and sd of mu | tau)."""
        v = self.s2[None, :] + (tau * tau)[:, None]
        w = 1.0 / v
        A = w.sum(axis=1)
        B = (w * self.y).sum(axis=1)
        C = (w * self.y * self.y).sum(axis=1)
        ll = -0.5 * np.log(v).sum(axis=1)
        if self.mu_prior is not None:
            m, s = self.mu_prior
            A = A + 1.0 / s**2
            B = B + m / s**2
            C = C + m * m / s**2
        ll = ll - 0.5 * np.log(A) - 0.5 * (C - B * B / A)
        return ll, B / A, np.sqrt(1.0 / A)

    def log_unnorm(self, tau: np.ndarray) -> np.ndarray:
        return self.cond(tau)[0] + self.logprior(tau)

    def tau_cdf(self, t: float) -> float:
        if t <= 0:
            return 0.0
        xt = float(np.log(t / self.scale))
        if xt <= self.X_LO:
            return 0.0
        tau, w = self.nodes(self.X_LO, min(xt, self.x_hi))
        return float(np.sum(w * np.exp(self.log_unnorm(tau) - self.shift)) / self.Z)

    def mu_cdf(self, x: float, predictive: bool = False) -> float:
        sd = np.sqrt(self.sd**2 + self.tau**2) if predictive else self.sd
        return float(np.sum(self.p * special.ndtr((x - self.m) / sd)))

    def moment(self, what: str) -> float:
        if what == "tau":
            return float(np.sum(self.p * self.tau))
        if what == "mu":
            return float(np.sum(self.p * self.m))
        return float(np.sum(self.p * (self.sd**2 + self.m**2)))

    def quantile(self, p: float, which: str) -> float:
        if which == "tau":
            hi = self.scale
            while self.tau_cdf(hi) < p:
                hi *= 2.0
            return float(optimize.brentq(lambda x: self.tau_cdf(x) - p, 0.0, hi, xtol=1e-13))
        pred = which == "theta"
        m = self.moment("mu")
        span = 10.0 * (self.scale + self.moment("tau"))
        lo, hi = m - span, m + span
        while self.mu_cdf(lo, pred) > p:
            lo -= span
        while self.mu_cdf(hi, pred) < p:
            hi += span
        return float(optimize.brentq(lambda x: self.mu_cdf(x, pred) - p, lo, hi, xtol=1e-13))


def bayesmeta(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    tau_prior: str = "halfnormal",
    tau_scale: float = 0.5,
    tau2_location: float | None = None,
    tau2_scale: float | None = None,
    tau2_df: float = 5.0,
    mu_prior_mean: float | None = None,
    mu_prior_sd: float | None = None,
    level: float = 95,
    thresholds: Any = (0.0,),
) -> BayesResult:
    """Posterior of a normal-normal random-effects model (see the module documentation).

    ``tau_prior``: ``"halfnormal"`` or ``"halfcauchy"`` with ``tau_scale``; ``"lognormal_tau2"``
    (``tau2_location``, ``tau2_scale``: mean and sd of log tau^2) or ``"logt_tau2"`` (also
    ``tau2_df``; default: Rhodes et al. 2015, general setting, :func:`heterogeneity_priors`).
    ``mu``: flat prior unless ``mu_prior_mean`` and ``mu_prior_sd`` are given. ``thresholds``:
    values (e.g. the MCID on the effect's scale) for ``prob_mu_above``.
    """
    y = np.asarray(yi, dtype=float).reshape(-1)
    if sei is not None:
        s2 = np.asarray(sei, dtype=float).reshape(-1) ** 2
    elif vi is not None:
        s2 = np.asarray(vi, dtype=float).reshape(-1)
    else:
        raise EvidenceError("give vi or sei", code="required", field="vi")
    keep = ~(np.isnan(y) | np.isnan(s2))
    y, s2 = y[keep], s2[keep]
    if y.size == 0 or s2.size != y.size or np.any(s2 <= 0):
        raise EvidenceError(
            "need at least one study with a positive sampling variance",
            code="too_few_studies",
            field="yi",
        )
    if tau_prior not in _TAU_PRIORS:
        raise EvidenceError(
            f"tau_prior {tau_prior!r}: allowed {', '.join(_TAU_PRIORS)}",
            code="invalid_choice",
            field="tau_prior",
            params={"value": tau_prior, "allowed": list(_TAU_PRIORS)},
        )
    if tau_prior in ("halfnormal", "halfcauchy"):
        if not tau_scale > 0:
            raise EvidenceError("tau_scale must be > 0", code="out_of_range", field="tau_scale")
        params: dict[str, float] = {"scale": float(tau_scale)}
        loc, sc, df = 0.0, float(tau_scale), 0.0
    else:
        if tau2_location is None or tau2_scale is None:
            if tau_prior == "logt_tau2":
                g = heterogeneity_priors()["rhodes2015_general"]
                tau2_location, tau2_scale, tau2_df = g["location"], g["scale"], g["df"]
            else:
                raise EvidenceError(
                    "a log-normal prior on tau^2 needs tau2_location and tau2_scale",
                    code="required",
                    field="tau2_location",
                )
        loc, sc, df = float(tau2_location), float(tau2_scale), float(tau2_df)
        params = {"location": loc, "scale": sc}
        if tau_prior == "logt_tau2":
            params["df"] = df
    mu_prior = None
    if mu_prior_mean is not None or mu_prior_sd is not None:
        if mu_prior_mean is None or mu_prior_sd is None or not mu_prior_sd > 0:
            raise EvidenceError(
                "a normal prior on mu needs mu_prior_mean and mu_prior_sd > 0",
                code="required",
                field="mu_prior_sd",
            )
        mu_prior = (float(mu_prior_mean), float(mu_prior_sd))

    def logprior(t: np.ndarray) -> Any:
        return _tau_logpdf(t, tau_prior, sc, loc, df)

    post = _Posterior(y, s2, logprior, mu_prior)
    from cpstem.evidence.dist import alpha_from_level

    a = alpha_from_level(level)
    mu_mean = post.moment("mu")
    mu_sd = float(np.sqrt(max(post.moment("mu2") - mu_mean**2, 0.0)))
    return BayesResult(
        k=int(y.size),
        level=float(level),
        tau_prior=tau_prior,
        tau_prior_parameters=params,
        mu_prior="flat" if mu_prior is None else f"normal({mu_prior[0]:g}, sd {mu_prior[1]:g})",
        mu_mean=mu_mean,
        mu_sd=mu_sd,
        mu_median=post.quantile(0.5, "mu"),
        mu_ci=(post.quantile(a / 2, "mu"), post.quantile(1 - a / 2, "mu")),
        tau_mean=post.moment("tau"),
        tau_median=post.quantile(0.5, "tau"),
        tau_ci=(post.quantile(a / 2, "tau"), post.quantile(1 - a / 2, "tau")),
        theta_mean=mu_mean,
        theta_ci=(post.quantile(a / 2, "theta"), post.quantile(1 - a / 2, "theta")),
        prob_mu_above={float(t): 1.0 - post.mu_cdf(float(t)) for t in np.atleast_1d(thresholds)},
        y=y,
        sigma=np.sqrt(s2),
        _post=post,
    )
