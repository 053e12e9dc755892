"""Assurance (O'Hagan 2005), slope sizing, variance components from a table, simulated power."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from cpstem.design import power_means
from cpstem.design.assurance import (
    assurance,
    prior_from_meta,
    sample_size_slope,
    slope_sd,
    variance_from_table,
)
from cpstem.design.simulation import simulate_power
from cpstem.evidence import rma


def test_assurance_closed_form_by_hand():
    # n = 50 per arm, sd 10: s = 10·sqrt(2/50) = 2; prior N(5, 3²); z = 1.959964
    # (5 − 1.959964·2)/sqrt(2² + 3²) = 1.080072/3.605551 = 0.299558 -> Φ = 0.617742
    res = assurance(50, 5, 3, 10, method="z")
    assert res.assurance == pytest.approx(0.617742, abs=1e-6)
    # no prior uncertainty: assurance = one-tail power of the z test
    res0 = assurance(50, 5, 0, 10, method="z")
    assert res0.assurance == pytest.approx(stats.norm.cdf(2.5 - 1.959964), abs=1e-6)


def test_assurance_z_equals_quadrature():
    s = 8 * math.sqrt(1 / 40 + 1 / 60)
    z = stats.norm.ppf(0.975)

    def integrand(d):
        return stats.norm.cdf(d / s - z) * stats.norm.pdf(d, 4, 2.5)

    expected = integrate.quad(integrand, -40, 50)[0]
    assert assurance(40, 4, 2.5, 8, ratio=1.5).assurance == pytest.approx(expected, abs=1e-8)


def test_assurance_t_equals_quadrature_of_exact_power():
    def integrand(d):
        ncp = d / (6 * math.sqrt(2 / 25))
        crit = stats.t.ppf(0.975, 48)
        return stats.nct.sf(crit, 48, ncp) * stats.norm.pdf(d, 3, 2)

    expected = integrate.quad(integrand, -20, 26, limit=200)[0]
    res = assurance(25, 3, 2, 6, method="t")
    assert res.assurance == pytest.approx(expected, abs=1e-6)
    # with a point prior, the noncentral-t power of R pwr (one tail)
    p0 = assurance(25, 3, 0, 6, method="t").assurance
    assert p0 == pytest.approx(power_means(25, 3, 6, strict=False).power, abs=1e-9)


def test_prior_from_meta_is_the_predictive_distribution():
    res = rma([2.0, 4.5, 1.0, 6.0, 3.2], [1.0, 1.5, 0.8, 2.0, 1.1])
    prior = prior_from_meta(res)
    assert prior.mean == pytest.approx(res.estimate)
    assert prior.sd == pytest.approx(math.sqrt(res.tau2 + res.se**2), rel=1e-9)


def test_slope_sd_and_sample_size_by_hand():
    # times 0, 6, 12: Σ(t − 6)² = 72; sd_e = 6, sd_b = 0.5: sqrt(0.25 + 36/72) = sqrt(0.75)
    assert slope_sd([0, 6, 12], 6, 0.5) == pytest.approx(math.sqrt(0.75))
    # delta 0.5/month with that sd: effect d = 0.5/0.866025 = 0.57735; pwr.t.test(d = 0.57735,
    # power = 0.8) n = 48.1 -> 49 per arm (z approximation: 2·(1.96+0.8416)²/0.3333 = 47.09 -> 48)
    ss = sample_size_slope(0.5, [0, 6, 12], 6, 0.5, method="z")
    assert ss.n1 == 48
    assert ss.n1_exact == pytest.approx(2 * (1.959964 + 0.841621) ** 2 / (0.5**2 / 0.75), rel=1e-5)


def test_variance_from_table_by_hand():
    rows = []
    base = {"control": [40.0, 50, 60, 45], "cells": [42.0, 52, 58, 48]}
    follow = {"control": [43.0, 52, 65, 47], "cells": [47.0, 58, 62, 55]}
    for g in base:
        for i, (b, f) in enumerate(zip(base[g], follow[g], strict=True)):
            rows.append(
                {"child": f"{g}{i}", "group": g, "gmfm66_baseline": b, "months": 0, "gmfm66": b}
            )
            rows.append(
                {"child": f"{g}{i}", "group": g, "gmfm66_baseline": b, "months": 12.5, "gmfm66": f}
            )
    vc = variance_from_table(pd.DataFrame(rows))
    xs = np.r_[np.array(base["control"]) - 48.75, np.array(base["cells"]) - 50.0]
    ys = np.r_[np.array(follow["control"]) - 51.75, np.array(follow["cells"]) - 55.5]
    assert vc.n_children == 8
    assert vc.correlation == pytest.approx((xs @ ys) / math.sqrt((xs @ xs) * (ys @ ys)))
    assert vc.sd_baseline == pytest.approx(math.sqrt((xs @ xs) / 6))


# Monte-Carlo agreement with the closed forms (tolerance: 4 Monte-Carlo SEs)


def test_simulated_ancova_power_matches_closed_form():
    n, delta, rho = 30, 0.6, 0.7
    sim = simulate_power(n, delta, 1.0, correlation=rho, n_sims=20_000, seed=3)
    # the unconditional variance of the ANCOVA estimate is σ²(1−ρ²)(2/n)(N−3)/(N−4)
    # (chance baseline imbalance: E[d0²/Sxx] = (2/n)/(N−4), N = 2n); hand derivation
    inflate = math.sqrt((2 * n - 3) / (2 * n - 4))
    closed = power_means(n, delta, inflate, analysis="ancova", correlation=rho).power
    assert abs(sim.power - closed) < 4 * sim.mc_se


def test_simulated_ancova_power_large_trial_matches_plain_formula():
    sim = simulate_power(150, 0.25, 1.0, correlation=0.5, n_sims=20_000, seed=4)
    closed = power_means(150, 0.25, 1.0, analysis="ancova", correlation=0.5).power
    assert abs(sim.power - closed) < 4 * sim.mc_se


def test_simulated_slope_power_matches_closed_form():
    times = (0, 3, 6, 9, 12)
    sim = simulate_power(
        30,
        0.5,
        1.0,
        analysis="slope",
        times=times,
        sd_residual=2,
        sd_slope=0.5,
        n_sims=20_000,
        seed=5,
    )
    closed = power_means(30, 0.5, slope_sd(times, 2, 0.5)).power
    assert abs(sim.power - closed) < 4 * sim.mc_se


def test_type_one_error_under_the_null():
    sim = simulate_power(20, 0.0, 1.0, correlation=0.6, n_sims=20_000, seed=6)
    assert abs(sim.power - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 20_000)


def test_seed_reproducible_independent_of_chunking():
    a = simulate_power(15, 0.5, correlation=0.5, n_sims=5_500, seed=9, chunk=1)
    b = simulate_power(15, 0.5, correlation=0.5, n_sims=5_500, seed=9, chunk=4)
    assert a.rejections == b.rejections


def test_dask_local_cluster_gives_the_same_result():
    distributed = pytest.importorskip("distributed")
    seen = []
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        res = simulate_power(
            15,
            0.5,
            correlation=0.5,
            n_sims=3_000,
            seed=9,
            chunk=1,
            scheduler=client,
            progress=seen.append,
        )
    local = simulate_power(15, 0.5, correlation=0.5, n_sims=3_000, seed=9)
    assert res.rejections == local.rejections
    assert sorted(seen)[-1] == 3_000 and len(seen) == 3
