"""Observed vs expected change after an administration, both reference methods."""

from datetime import date

import pytest

from cpstem import reference
from cpstem.outcomes import OutcomeError
from cpstem.outcomes.change import Observation, at_visit, compare
from cpstem.outcomes.schedule import load_rules

BIRTH = date(2019, 4, 2)
CURVES = reference.load("rosenbaum2002")


def years(d: date) -> float:
    return (d - BIRTH).days / 365.2425


def test_change_against_both_methods():
    obs = [Observation(date(2024, 1, 5), 40), Observation(date(2025, 1, 10), 45)]
    (c,) = compare(BIRTH, "III", [(1, date(2024, 1, 10))], obs, CURVES)
    (row,) = c.rows
    # By hand, Rosenbaum 2002 GMFCS III (limit 54.3, age-90 3.7 y; expected(age) =
    # 54.3 * (1 - 10 ** (-age / 3.7))). Ages: 1739 and 2110 days after birth, / 365.2425
    # = 4.7612 and 5.7770 y; 10 ** (-4.7612 / 3.7) = 0.051663, 10 ** (-5.7770 / 3.7) = 0.027457.
    assert years(date(2024, 1, 5)) == pytest.approx(4.761220, abs=1e-6)
    assert years(date(2025, 1, 10)) == pytest.approx(5.776984, abs=1e-6)
    assert row.observed_change == 5
    # population: 54.3 * (0.051663 - 0.027457) = 54.3 * 0.024207 = 1.3144
    assert row.expected_population == pytest.approx(1.314412, abs=1e-6)
    # child-anchored: own limit 40 / (1 - 0.051663) = 42.1791; 42.1791 * (1 - 0.027457) - 40
    # = 1.0210
    assert row.expected_anchored == pytest.approx(1.021008, abs=1e-6)
    assert row.excess_population == pytest.approx(5 - 1.314412, abs=1e-6)
    assert row.excess_anchored == pytest.approx(5 - 1.021008, abs=1e-6)
    # a child below its level's curve is expected to gain less than the average child
    assert row.expected_anchored < row.expected_population


def test_baseline_is_the_latest_in_the_window_before_administration():
    obs = [
        Observation(date(2023, 11, 1), 30),
        Observation(date(2023, 12, 20), 38),
        Observation(date(2024, 1, 8), 39),
        Observation(date(2024, 7, 10), 42),
    ]
    (c,) = compare(BIRTH, "III", [(1, date(2024, 1, 10))], obs, CURVES)
    assert c.baseline.score == 39 and [r.score for r in c.rows] == [42]


def test_no_baseline_or_no_level_is_said():
    (c,) = compare(
        BIRTH, "III", [(1, date(2024, 1, 10))], [Observation(date(2023, 1, 1), 30)], CURVES
    )
    assert c.baseline is None and "baseline window" in c.note
    (c,) = compare(BIRTH, None, [(1, date(2024, 1, 10))], [], CURVES)
    assert c.note == "no GMFCS level"


def test_observation_before_birth_is_refused():
    with pytest.raises(OutcomeError, match="before the child's birth"):
        compare(BIRTH, "III", [], [Observation(date(2019, 1, 1), 10)], CURVES)


def test_at_visit_picks_the_row_in_the_window():
    obs = [
        Observation(date(2024, 1, 5), 40),
        Observation(date(2024, 7, 1), 42),
        Observation(date(2025, 1, 25), 45),
    ]
    (c,) = compare(BIRTH, "II", [(1, date(2024, 1, 10))], obs, CURVES)
    rules = {r.months: r for r in load_rules()}
    assert at_visit(c, rules[12]).score == 45 and at_visit(c, rules[6]).score == 42
    assert at_visit(c, rules[24]) is None


def test_excess_is_judged_against_measurement_error():
    # SEs 1.5 and 2.0 -> se_change = sqrt(2.25 + 4) = 2.5; 1.96 * 2.5 = 4.9 GMFM-66 points
    obs = [Observation(date(2024, 1, 5), 40, se=1.5), Observation(date(2025, 1, 10), 52, se=2.0)]
    (c,) = compare(BIRTH, "III", [(1, date(2024, 1, 10))], obs, CURVES)
    (row,) = c.rows
    assert row.se_change == pytest.approx(2.5)
    # excess: 12 - 1.3144 = 10.6856 (population), 12 - 1.0210 = 10.9790 (anchored); both
    # beyond 4.9
    assert row.excess_population == pytest.approx(10.685588, abs=1e-6)
    assert row.excess_anchored == pytest.approx(10.978992, abs=1e-6)
    assert row.verdict_population == "above"
    assert row.to_dict()["verdict_anchored"] == "above"
    small = [Observation(date(2024, 1, 5), 40, se=1.5), Observation(date(2025, 1, 10), 43, se=2.0)]
    (c,) = compare(BIRTH, "III", [(1, date(2024, 1, 10))], small, CURVES)
    # 3 - 1.3144 = 1.6856 < 4.9
    assert c.rows[0].excess_population == pytest.approx(1.685588, abs=1e-6)
    assert c.rows[0].verdict_population == "within"
    no_se = [Observation(date(2024, 1, 5), 40), Observation(date(2025, 1, 10), 52, se=2.0)]
    (c,) = compare(BIRTH, "III", [(1, date(2024, 1, 10))], no_se, CURVES)
    assert c.rows[0].se_change is None and c.rows[0].verdict_population is None


@pytest.mark.parametrize(
    ("excess", "se", "verdict"),
    [
        (5.0, 2.5, "above"),
        (4.8, 2.5, "within"),
        (-5.0, 2.5, "below"),
        (1.0, None, None),
        (1.0, 0.0, None),
    ],
)
def test_error_verdict(excess, se, verdict):
    from cpstem.outcomes.change import error_verdict

    assert error_verdict(excess, se) == verdict
