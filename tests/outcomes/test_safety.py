"""Adverse-event rates with exact intervals (reference values computed independently)."""

import pytest
from scipy import stats

from cpstem.outcomes.catalog import ctcae_grades
from cpstem.outcomes.safety import Event, ae_rates, proportion_ci, rate_ci


def test_clopper_pearson_matches_scipy_binomtest():
    # Min 2013 SAEs in the cell arm: 3/36 (Eggenberger 2019 Table 4)
    lo, hi = proportion_ci(3, 36)
    ref = stats.binomtest(3, 36).proportion_ci(method="exact")
    assert (lo, hi) == pytest.approx((ref.low, ref.high))
    assert proportion_ci(0, 30) == pytest.approx((0.0, 1 - 0.025 ** (1 / 30)))


def test_exact_poisson_rate():
    lo, hi = rate_ci(5, 10)
    # Garwood 1936 limits for 5 events: 1.6235 and 11.6683 (per 10 units -> /10)
    assert lo == pytest.approx(0.16235, abs=1e-5) and hi == pytest.approx(1.16683, abs=1e-5)
    assert rate_ci(0, 10)[0] == 0 and rate_ci(0, 10)[1] == pytest.approx(0.368888, abs=1e-5)


def test_rates_of_a_group():
    r = ae_rates(
        {"a": 1.0, "b": 2.0, "c": 1.0},
        [Event("a", 1, False, True), Event("a", 3, True, False), Event("z", 1, False, False)],
    )
    assert r.n_patients == 3 and r.n_events == 2 and r.patients_with_event == 1
    assert (
        r.rate_per_100py == pytest.approx(50.0)
        and r.grade3plus_events == 1
        and r.related_events == 1
    )
    assert r.proportion == pytest.approx(1 / 3)


def test_ctcae_grades_are_five_with_source():
    grades = ctcae_grades()
    assert [g for g, _, _ in grades] == [1, 2, 3, 4, 5] and grades[4][1] == "Death"


def test_ctcae_grade_3_and_ich_serious_wording():
    # CTCAE v5.0 grade 3: "Severe or medically significant but not immediately life-threatening;
    # hospitalization or prolongation of hospitalization indicated; disabling; limiting self
    # care ADL". ICH E2A: the serious criteria include a medically important event.
    from cpstem.outcomes.catalog import data

    grades = ctcae_grades()
    assert "disabling" in grades[2][2] and "prolongation of hospitalisation" in grades[2][2]
    assert "medically important event" in data("adverse_events")["serious"]["source"]
