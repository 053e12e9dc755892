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
    a0, a1 = years(date(2024, 1, 5)), years(date(2025, 1, 10))
    assert row.observed_change == 5
    assert row.expected_population == pytest.approx(CURVES.expected_change("III", a0, a1))
    assert row.expected_anchored == pytest.approx(
        CURVES.expected_change("III", a0, a1, baseline=40)
    )
    assert row.excess_population == pytest.approx(5 - row.expected_population)
    # a child below its level's curve is expected to gain less than the average child
    assert row.expected_anchored < row.expected_population
    # worked example: the README's child (GMFCS III, 38 at 4.5 y, 1 year later) gains +1.14
    assert CURVES.expected_change("III", 4.5, 5.5, baseline=38) == pytest.approx(1.14, abs=0.005)


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
    assert row.excess_population > 4.9 and row.verdict_population == "above"
    assert row.to_dict()["verdict_anchored"] == "above"
    small = [Observation(date(2024, 1, 5), 40, se=1.5), Observation(date(2025, 1, 10), 43, se=2.0)]
    (c,) = compare(BIRTH, "III", [(1, date(2024, 1, 10))], small, CURVES)
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
