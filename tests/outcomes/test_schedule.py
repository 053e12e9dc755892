"""Follow-up schedule: calendar months, windows, statuses."""

from datetime import date

import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.dates import add_months, age_months
from cpstem.outcomes.schedule import Status, load_rules, next_open, plan, rules_from


def test_add_months_clamps_to_month_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


def test_age_months_counts_completed_months():
    assert age_months(date(2019, 4, 2), date(2024, 5, 1)) == 60
    assert age_months(date(2019, 4, 2), date(2024, 5, 2)) == 61
    assert age_months(date(2020, 1, 31), date(2020, 2, 29)) == 1


def test_default_schedule_is_the_specified_months():
    assert [r.months for r in load_rules()] == [0, 1, 3, 6, 12, 24]


def test_statuses():
    visits = plan(
        [("a", date(2024, 1, 10))], [date(2024, 1, 5), date(2024, 2, 12)], date(2024, 4, 20)
    )
    status = {v.label: v.status for v in visits}
    assert status == {
        "baseline": Status.DONE,
        "1 month": Status.DONE,
        "3 months": Status.OVERDUE,
        "6 months": Status.UPCOMING,
        "12 months": Status.UPCOMING,
        "24 months": Status.UPCOMING,
    }
    assert visits[2].target == date(2024, 4, 10) and visits[2].window_end == date(2024, 4, 24)
    assert next_open(visits).label == "3 months"
    later = {v.label: v.status for v in plan([("a", date(2024, 1, 10))], [], date(2024, 6, 20))}
    assert later["3 months"] == Status.MISSED and later["6 months"] == Status.DUE


def test_each_administration_has_its_own_visits():
    visits = plan([(1, date(2024, 1, 1)), (2, date(2024, 3, 1))], [], date(2024, 1, 1))
    assert len(visits) == 12 and {v.anchor for v in visits} == {1, 2}


def test_site_schedule_file_is_validated(tmp_path):
    with pytest.raises(OutcomeError, match="two visits have the same month"):
        rules_from({"visits": [{"label": "a", "months": 1, "days_before": 1, "days_after": 1}] * 2})
    path = tmp_path / "s.toml"
    path.write_text(
        '[[visits]]\nlabel = "baseline"\nmonths = 0\ndays_before = 14\ndays_after = 0\n'
    )
    assert load_rules(path)[0].days_before == 14
    with pytest.raises(OutcomeError, match="months must be a whole number"):
        rules_from({"visits": [{"label": "x", "months": -1, "days_before": 0, "days_after": 0}]})
