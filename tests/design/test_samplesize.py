"""Sample size and power for two means: R pwr / power.t.test parity, hand and published values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy.stats import norm

from cpstem.design import DesignError, power_means, sample_size_means, variance_factor

PWR = json.loads((Path(__file__).parent / "rpact" / "pwr.json").read_text())


def _cases(*funs):
    return [c for c in PWR if c["fun"] in funs]


@pytest.mark.parametrize("case", _cases("pwr.t.test"))
def test_power_equals_pwr_t_test(case):
    got = power_means(case["n"], case["d"], 1, case["alpha"], sided=case["sided"])
    assert got.power == pytest.approx(case["power"], abs=1e-10)


@pytest.mark.parametrize("case", _cases("pwr.t2n.test"))
def test_unequal_power_equals_pwr_t2n_test(case):
    got = power_means(case["n1"], case["d"], 1, case["alpha"], n2=case["n2"])
    assert got.power == pytest.approx(case["power"], abs=1e-10)
    by_ratio = power_means(case["n1"], case["d"], 1, case["alpha"], ratio=case["n2"] / case["n1"])
    assert by_ratio.power == pytest.approx(case["power"], abs=1e-10)


@pytest.mark.parametrize("case", _cases("power.t.test"))
def test_power_equals_power_t_test_strict_and_not(case):
    got = power_means(
        case["n"], case["delta"], case["sd"], case["alpha"], sided=2, strict=case["strict"]
    )
    assert got.power == pytest.approx(case["power"], abs=1e-10)


@pytest.mark.parametrize("case", _cases("power.t.test.n"))
def test_sample_size_equals_power_t_test(case):
    # power.t.test(..., tol = 1e-12) solves for the unrounded n per group
    got = sample_size_means(
        case["delta"],
        case["sd"],
        case["alpha"],
        case["power"],
        sided=case["sided"],
        strict=case["strict"],
    )
    assert got.n1_exact == pytest.approx(case["n"], abs=1e-6)
    assert got.n1 == got.n2 == math.ceil(case["n"])


@pytest.mark.parametrize("case", _cases("pwr.t.test.n"))
def test_sample_size_equals_pwr_within_its_uniroot_tolerance(case):
    # pwr.t.test solves with uniroot's default tol (.Machine$double.eps^0.25 = 1.2e-4)
    got = sample_size_means(case["d"], 1, case["alpha"], case["power"], sided=case["sided"])
    assert got.n1_exact == pytest.approx(case["n"], abs=1.3e-4)
    assert got.n1 == math.ceil(case["n"])


def test_strict_counts_the_other_tail():
    strict = power_means(4, 0.5, 1).power
    loose = power_means(4, 0.5, 1, strict=False).power
    assert strict > loose


def test_z_method_is_the_closed_form():
    # n per arm = 2 (z_{1-a/2} + z_{1-b})^2 sd^2 / delta^2 (one tail)
    res = sample_size_means(5, 10, 0.05, 0.9, method="z", strict=False)
    n = 2 * (norm.ppf(0.975) + norm.ppf(0.9)) ** 2 * 100 / 25
    assert res.n1_exact == pytest.approx(n, rel=1e-9)
    assert res.n1 == math.ceil(n) == 85


def test_unequal_allocation_z_closed_form():
    # n1 = (1 + 1/k)(z + z)^2 sd^2 / delta^2 with k = n2/n1 = 2
    res = sample_size_means(1, 2, 0.05, 0.8, ratio=2, method="z", strict=False)
    n1 = (1 + 1 / 2) * (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 * 4
    assert res.n1_exact == pytest.approx(n1, rel=1e-9)
    assert (res.n1, res.n2) == (math.ceil(n1), math.ceil(2 * n1))
    assert res.total == res.n1 + res.n2


def test_ancova_and_change_variance_factors():
    assert variance_factor("ancova", 0.6) == pytest.approx(1 - 0.36)
    assert variance_factor("change", 0.6) == pytest.approx(2 * (1 - 0.6))
    assert variance_factor("difference") == 1.0
    # ANCOVA needs fewer participants by the factor 1 - rho^2 (z method)
    plain = sample_size_means(3, 9, method="z").n1_exact
    ancova = sample_size_means(3, 9, analysis="ancova", correlation=0.6, method="z").n1_exact
    assert ancova == pytest.approx(plain * 0.64, rel=1e-9)


def test_ancova_uses_one_more_degree_of_freedom():
    # t test with df = n1 + n2 - 3 and sd * sqrt(1 - rho^2): same as difference analysis with
    # the reduced sd but one degree of freedom fewer (so slightly less power)
    a = power_means(20, 4, 10, analysis="ancova", correlation=0.5)
    d = power_means(20, 4, 10 * math.sqrt(0.75))
    assert a.df == 37 and d.df == 38
    assert a.noncentrality == pytest.approx(d.noncentrality, rel=1e-12)
    assert a.power < d.power


def test_frison_pocock_compound_symmetry_factors():
    rho, p, r = 0.5, 2, 3
    post = (1 + (r - 1) * rho) / r
    pre = (1 + (p - 1) * rho) / p
    assert variance_factor("ancova", rho, p, r) == pytest.approx(
        post - p * rho**2 / (1 + (p - 1) * rho)
    )
    assert variance_factor("ancova", rho, p, r) == pytest.approx(post - rho**2 / pre)
    assert variance_factor("change", rho, p, r) == pytest.approx(post + pre - 2 * rho)
    assert variance_factor("difference", rho, 1, r) == pytest.approx(post)


def test_brown_prescott_repeated_measures_example():
    # Worked example of the hypertension trial in Brown & Prescott's "Applied Mixed Models in
    # Medicine" (as reproduced at https://www.rrnursingschool.biz/fixed-effects/example-pla.html):
    # DBP with compound-symmetry residual variance 76 and rho = 0.53, four post-treatment
    # visits, delta = 5 mmHg, 5% two-sided, 80% power:
    # n = 2(1.96 + 0.84)^2 x 76 x (1 + 3 x 0.53)/(4 x 25) = 31 per group; with 10 visits 28.
    res = sample_size_means(
        5, math.sqrt(76), 0.05, 0.8, correlation=0.53, followups=4, method="z", strict=False
    )
    assert res.n1 == 31
    ten = sample_size_means(
        5, math.sqrt(76), 0.05, 0.8, correlation=0.53, followups=10, method="z", strict=False
    )
    assert ten.n1 == 28


def test_dropout_rounds_recruitment_up():
    res = sample_size_means(0.5, 1, dropout=0.15)
    assert res.n1 == 64  # pwr.t.test(d = 0.5, power = 0.8): n = 63.77
    assert res.recruited1 == math.ceil(64 / 0.85) == 76
    assert res.recruited == 152
    assert res.achieved_power >= 0.8
    assert "76 + 76 = 152" in res.summary()
    frame = res.to_frame()
    assert list(frame["recruited"]) == [76, 76]
    assert res.to_dict()["n1"] == 64


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"delta": 0, "sd": 1}, "out_of_range", "delta"),
        ({"delta": 1, "sd": 0}, "out_of_range", "sd"),
        ({"delta": 1, "sd": 1, "analysis": "ancova"}, "missing", "correlation"),
        ({"delta": 1, "sd": 1, "analysis": "anova"}, "not_allowed", "analysis"),
        (
            {"delta": 1, "sd": 1, "analysis": "change", "correlation": 1.2},
            "out_of_range",
            "correlation",
        ),
        ({"delta": 1, "sd": 1, "dropout": 1}, "out_of_range", "dropout"),
        ({"delta": 1, "sd": 1, "ratio": -1}, "out_of_range", "ratio"),
        ({"delta": 1, "sd": 1, "method": "exact"}, "not_allowed", "method"),
        ({"delta": 1, "sd": 1, "power": 1.2}, "out_of_range", "power"),
        ({"delta": 1, "sd": 1, "followups": 0, "correlation": 0.5}, "out_of_range", "followups"),
    ],
)
def test_errors_carry_code_and_field(kwargs, code, field):
    with pytest.raises(DesignError) as e:
        sample_size_means(**kwargs)
    assert (e.value.code, e.value.field) == (code, field)


@pytest.mark.parametrize("case", _cases("rpact.getSampleSizeMeans"))
def test_unequal_allocation_equals_rpact(case):
    # rpact getSampleSizeMeans (fixed design, t test); rpact's allocationRatioPlanned is n1/n2,
    # cpstem's ratio is n2/n1; rpact's root search stops within about 1e-4 participants
    res = sample_size_means(
        case["delta"],
        case["sd"],
        case["alpha"],
        case["power"],
        ratio=1 / case["allocation_ratio"],
        sided=case["sided"],
    )
    assert res.n1_exact == pytest.approx(case["n1"], abs=1e-4)
    assert res.n1_exact * res.ratio == pytest.approx(case["n2"], abs=1e-4)
    assert (res.n1, res.n2) == (math.ceil(case["n1"]), math.ceil(case["n2"]))
