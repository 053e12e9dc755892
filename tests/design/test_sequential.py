"""Group-sequential designs: published constants, conditional power, results, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from cpstem.design import DesignError, conditional_power, group_sequential

# Jennison & Turnbull (2000), Group Sequential Methods with Applications to Clinical Trials,
# Table 2.1 (Pocock C_P(K, 0.05)) and Table 2.3 (O'Brien & Fleming C_B(K, 0.05)), two-sided
# alpha = 0.05, equally spaced analyses.
POCOCK = {2: 2.178, 3: 2.289, 4: 2.361, 5: 2.413}
OBF = {2: 1.977, 3: 2.004, 4: 2.024, 5: 2.040}


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_classic_constants_of_jennison_turnbull(k):
    p = group_sequential(k=k, alpha=0.05, sided=2, spending="pocock", classic=True)
    assert np.all(np.abs(p.critical - POCOCK[k]) < 5e-4)
    o = group_sequential(k=k, alpha=0.05, sided=2, spending="obf", classic=True)
    # O'Brien-Fleming: c_k = C_B sqrt(K/k)
    expected = OBF[k] * np.sqrt(k / np.arange(1, k + 1))
    assert np.all(np.abs(o.critical - expected) < 5e-4 * np.sqrt(k))
    assert o.alpha_spent[-1] == pytest.approx(0.05, abs=1e-9)


def test_single_analysis_is_the_fixed_design():
    d = group_sequential(k=1, alpha=0.025, beta=0.1)
    assert d.critical[0] == pytest.approx(norm.ppf(0.975), abs=1e-12)
    assert d.inflation_factor == 1.0
    assert d.n_fixed_z == pytest.approx((norm.ppf(0.975) + norm.ppf(0.9)) ** 2, abs=1e-12)


def test_lan_demets_obf_first_boundary_is_closed_form():
    # stage 1 spends 2(1 - Phi(z_{1-a/2}/sqrt(t1))): boundary z = Phi^-1(1 - spent)
    d = group_sequential(timing=[0.5, 1], alpha=0.025)
    spent = 2 * (1 - norm.cdf(norm.ppf(1 - 0.0125) / math.sqrt(0.5)))
    assert d.alpha_spent[0] == pytest.approx(spent, abs=1e-12)
    assert d.critical[0] == pytest.approx(norm.ppf(1 - spent), abs=1e-12)


def test_two_stage_alpha_by_bivariate_normal():
    # P(Z1 >= c1 or Z2 >= c2) under H0 with corr sqrt(t1) equals alpha (Genz integration)
    d = group_sequential(timing=[0.4, 1], alpha=0.025, spending="hsd", gamma=-2)
    c1, c2 = d.critical
    p_none = multivariate_normal(mean=[0, 0], cov=[[1, math.sqrt(0.4)], [math.sqrt(0.4), 1]]).cdf(
        [c1, c2]
    )
    assert 1 - p_none == pytest.approx(0.025, abs=2e-6)


def test_conditional_power_at_last_interim_is_closed_form():
    d = group_sequential(timing=[0.3, 0.6, 1], alpha=0.025, beta=0.1)
    theta = math.sqrt(d.drift)
    z, t = 1.4, 0.6
    c = d.critical[-1]
    expected = 1 - norm.cdf((c - z * math.sqrt(t) - theta * (1 - t)) / math.sqrt(1 - t))
    assert conditional_power(d, 2, z) == pytest.approx(expected, abs=1e-10)
    # under the current trend theta = z / sqrt(t)
    th = z / math.sqrt(t)
    trend = 1 - norm.cdf((c - z * math.sqrt(t) - th * (1 - t)) / math.sqrt(1 - t))
    assert d.conditional_power(2, z, "trend") == pytest.approx(trend, abs=1e-10)


def test_conditional_power_over_two_remaining_stages_by_bivariate_normal():
    d = group_sequential(timing=[0.3, 0.6, 1], alpha=0.025, beta=0.1)
    z, t1 = 0.8, 0.3
    theta = 2.5
    # S_j = Z_j sqrt(t_j); given S_1 = z sqrt(t1): increments N(theta dt, dt)
    t = np.array([0.6, 1.0])
    mean = z * math.sqrt(t1) + theta * (t - t1)
    cov = np.minimum.outer(t - t1, t - t1)
    bounds = d.critical[1:] * np.sqrt(t)
    p_none = multivariate_normal(mean=mean, cov=cov).cdf(bounds)
    assert conditional_power(d, 1, z, theta) == pytest.approx(1 - p_none, abs=2e-6)


def test_conditional_power_errors():
    d = group_sequential(k=3)
    with pytest.raises(DesignError) as e:
        conditional_power(d, 3, 1.0)
    assert e.value.code == "out_of_range" and e.value.field == "stage"


def test_sample_sizes_scale_the_fixed_design():
    d = group_sequential(k=3, spending="obf", futility="obf", n_fixed=200)
    assert d.n_max == pytest.approx(200 * d.inflation_factor, rel=1e-12)
    assert d.n_expected_h1 == pytest.approx(200 * d.asn_h1, rel=1e-12)
    assert d.n_expected_h0 < d.n_max
    frame = d.to_frame()
    assert list(frame["stage"]) == [1, 2, 3]
    np.testing.assert_allclose(frame["n"], d.timing * d.n_max)


def test_result_is_frozen_and_serialises():
    d = group_sequential(k=5, spending="hsd", gamma=-4, futility="hsd", gamma_futility=-2)
    with pytest.raises(ValueError):
        d.critical[0] = 1.0
    with pytest.raises(AttributeError):
        d.alpha = 0.05  # type: ignore[misc]
    data = d.to_dict()
    text = json.dumps(data)
    assert data["k"] == 5 and data["futility"] == "hsd"
    assert len(data["critical"]) == 5 and len(data["futility_bounds"]) == 4
    assert "NaN" not in text and "Infinity" not in text
    frame = d.to_frame()
    assert frame.shape[0] == 5
    assert math.isnan(frame["futility_z"].iloc[-1])


def test_summary_prints_boundaries_like_rpact():
    d = group_sequential(k=5, alpha=0.025, n_fixed=100)
    text = d.summary()
    assert "Lan-DeMets alpha spending, O'Brien-Fleming type" in text
    # rpact getDesignGroupSequential(kMax = 5, typeOfDesign = "asOF"): 4.877 3.357 2.680 2.290 2.031
    assert "4.8769" in text and "3.3570" in text and "2.0310" in text
    # rpact getDesignCharacteristics: inflationFactor 1.0247, averageSampleNumber1 0.8237
    assert "Inflation factor 1.0247" in text and "H1 0.8237" in text
    assert str(d) == text


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"k": 0}, "out_of_range", "k"),
        ({}, "missing", "k"),
        ({"timing": [0.5, 0.4, 1]}, "invalid", "timing"),
        ({"timing": [0.5, 0.9]}, "invalid", "timing"),
        ({"k": 3, "spending": "linear"}, "not_allowed", "spending"),
        ({"k": 3, "spending": "hsd"}, "missing", "gamma"),
        ({"k": 3, "alpha": 0.7}, "out_of_range", "alpha"),
        ({"k": 3, "sided": 3}, "not_allowed", "sided"),
        ({"k": 3, "classic": True, "futility": "obf"}, "not_allowed", "futility"),
        ({"k": 3, "spending": "hsd", "gamma": 1, "classic": True}, "not_allowed", "spending"),
    ],
)
def test_errors_carry_code_and_field(kwargs, code, field):
    with pytest.raises(DesignError) as e:
        group_sequential(**kwargs)
    assert e.value.code == code
    assert e.value.field == field
