"""Bayesian random-effects meta-analysis (numerical integration) against bayesmeta 3.4
(bayes.json, metafor/synthesis.R) and against an independent brute-force 2-D grid.

bayesmeta integrates the posterior of tau exactly (R's integrate): tau figures agree to 1e-8.
Its posterior of mu is the DIRECT mixture approximation (Röver & Friede 2017; divergence
bound delta = 0.01), so mu figures agree with it to 2e-3 relative only; the brute-force grid
(Simpson's rule over mu and tau, no conjugacy used) confirms cpstem's mu figures to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from cpstem.evidence import EvidenceError
from cpstem.evidence.bayes import bayesmeta
from tests.evidence.parity import load, num

FIX = load("bayes")


def _kw(pr):
    if pr["tau"] in ("halfnormal", "halfcauchy"):
        kw = {"tau_prior": pr["tau"], "tau_scale": pr["scale"]}
    else:
        kw = {
            "tau_prior": pr["tau"],
            "tau2_location": pr["location"],
            "tau2_scale": pr["scale"],
            "tau2_df": pr.get("df", 5),
        }
    if pr["mu"] == "normal":
        kw.update(mu_prior_mean=pr["mu_mean"], mu_prior_sd=pr["mu_sd"])
    return kw


@pytest.mark.parametrize(
    "c", FIX["cases"], ids=lambda c: f"{c['data']}-{c['prior']['tau']}-{c['prior']['mu']}"
)
def test_against_bayesmeta(c):
    d = FIX["datasets"][c["data"]]
    e = c["result"]
    b = bayesmeta(d["yi"], sei=d["sei"], **_kw(c["prior"]))
    for name, ours in (
        ("tau_mean", b.tau_mean),
        ("tau_median", b.tau_median),
        ("tau_ci", b.tau_ci),
    ):
        np.testing.assert_allclose(ours, num(e[name]), rtol=1e-8, err_msg=name)
    for name, ours in (
        ("mu_mean", b.mu_mean),
        ("mu_sd", b.mu_sd),
        ("mu_median", b.mu_median),
        ("mu_ci", b.mu_ci),
    ):
        np.testing.assert_allclose(ours, num(e[name]), rtol=2e-3, err_msg=name)
    np.testing.assert_allclose(b.prob_mu(0.0), num(e["p_mu_gt_0"])[0], rtol=0.05, atol=1e-5)


def _grid_posterior(y, s, prior_tau, mu_prior=None):
    """Brute force: the joint posterior on a (mu, tau) grid, Simpson's rule in both."""
    tau = np.linspace(0.0, 4.0, 2001)
    mu = np.linspace(-2.0, 2.5, 2001)
    T, M = np.meshgrid(tau, mu, indexing="ij")
    logl = np.zeros_like(T)
    for yi, si in zip(y, s, strict=True):
        logl += stats.norm.logpdf(yi, M, np.sqrt(si**2 + T**2))
    logp = logl + prior_tau(T)
    if mu_prior is not None:
        logp += stats.norm.logpdf(M, *mu_prior)
    dens = np.exp(logp - logp.max())
    z = integrate.simpson(integrate.simpson(dens, x=mu, axis=1), x=tau)
    mean = integrate.simpson(integrate.simpson(dens * M, x=mu, axis=1), x=tau) / z
    m2 = integrate.simpson(integrate.simpson(dens * M * M, x=mu, axis=1), x=tau) / z
    p_gt = integrate.simpson(integrate.simpson(dens * (M > 0.3), x=mu, axis=1), x=tau) / z
    tau_mean = integrate.simpson(integrate.simpson(dens * T, x=mu, axis=1), x=tau) / z
    return mean, np.sqrt(m2 - mean**2), p_gt, tau_mean


def test_against_brute_force_grid():
    d = FIX["datasets"]["synthetic"]
    y, s = np.array(d["yi"]), np.array(d["sei"])
    b = bayesmeta(y, sei=s, tau_prior="halfnormal", tau_scale=0.5, mu_prior_mean=0, mu_prior_sd=1)
    mean, sd, p_gt, tau_mean = _grid_posterior(
        y, s, lambda t: stats.halfnorm.logpdf(t, scale=0.5), (0.0, 1.0)
    )
    assert b.mu_mean == pytest.approx(mean, abs=1e-6)
    assert b.mu_sd == pytest.approx(sd, abs=1e-6)
    assert b.tau_mean == pytest.approx(tau_mean, abs=1e-6)
    # P(mu > 0.3): the grid's step function in mu costs accuracy (step 2.25e-3)
    assert b.prob_mu(0.3) == pytest.approx(p_gt, abs=2e-3)


def test_mcid_probability_and_text():
    d = FIX["datasets"]["crins"]
    b = bayesmeta(d["yi"], sei=d["sei"], thresholds=(0.0, -0.5))
    assert b.prob_mu_above[0.0] == pytest.approx(b.prob_mu(0.0))
    assert b.prob_mu(-0.5, above=False) == pytest.approx(1 - b.prob_mu_above[-0.5])
    # the predictive interval for a new trial is wider than the credible interval of mu
    assert b.theta_ci[0] < b.mu_ci[0] and b.theta_ci[1] > b.mu_ci[1]
    assert "P(mu > 0" in str(b)
    assert "_post" not in b.to_dict()


def test_rhodes_default_and_errors():
    b = bayesmeta([0.2, 0.5, 0.1], [0.04, 0.05, 0.03], tau_prior="logt_tau2")
    assert dict(b.tau_prior_parameters) == {"location": -3.44, "scale": 2.59, "df": 5.0}
    with pytest.raises(EvidenceError) as err:
        bayesmeta([0.2], [0.04], tau_prior="uniform")
    assert err.value.code == "invalid_choice"
