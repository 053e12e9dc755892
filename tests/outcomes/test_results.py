"""Outcome results serialise themselves (to_dict, to_frame) and errors carry codes."""

import json
from datetime import date

import pytest

from cpstem import reference
from cpstem.outcomes import OutcomeError
from cpstem.outcomes.change import Observation, compare
from cpstem.outcomes.dose import compute_dose
from cpstem.outcomes.safety import Event, ae_rates, proportion_ci
from cpstem.outcomes.schedule import plan, rules_from
from cpstem.results import records_frame


def test_dose_serialises_with_its_confirmation_flag():
    d = compute_dose("5 x 10^7", 20)
    data = json.loads(json.dumps(d.to_dict()))
    assert data["cells_per_kg"] == 2.5e6 and data["needs_confirmation"] is False
    frame = d.to_frame()
    assert frame["cells_total"][0] == 5e7 and frame["weight_kg"][0] == 20.0


def test_adverse_event_rates_frame_has_counts_rates_and_intervals():
    r = ae_rates(
        {"a": 1.0, "b": 2.0, "c": 1.0},
        [Event("a", 1, False, True), Event("a", 3, True, False)],
    )
    row = r.to_frame().iloc[0]
    assert (row["n_events"], row["patients_with_event"]) == (2, 1)
    assert row["proportion"] == pytest.approx(1 / 3)
    assert (row["proportion_lower"], row["proportion_upper"]) == pytest.approx(proportion_ci(1, 3))
    assert row["rate_per_100py"] == pytest.approx(50.0)
    data = json.loads(json.dumps(r.to_dict()))
    assert data["rate_ci_per_100py"] == pytest.approx(list(r.rate_ci_per_100py))
    empty = ae_rates({}, []).to_dict()  # no patients: no interval, no error
    assert empty["proportion"] is None and empty["proportion_ci"] == [None, None]


def test_visits_stack_into_one_frame():
    visits = plan([("a", date(2024, 1, 10))], [date(2024, 1, 10)], date(2024, 2, 1))
    frame = records_frame(visits)
    assert list(frame.columns) == [
        "anchor",
        "anchor_date",
        "label",
        "months",
        "target",
        "window_start",
        "window_end",
        "done_on",
        "status",
    ]
    assert list(frame["months"]) == [0, 1, 3, 6, 12, 24]
    assert frame["status"][0] == "done" and frame["target"][1] == date(2024, 2, 10)
    assert json.loads(json.dumps(visits[0].to_dict()))["rule"]["label"] == "baseline"


def test_administration_change_frame_has_one_row_per_follow_up():
    curves = reference.load("rosenbaum2002")
    obs = [Observation(date(2024, 1, 5), 40), Observation(date(2025, 1, 10), 45)]
    (c,) = compare(date(2019, 4, 2), "III", [(7, date(2024, 1, 10))], obs, curves)
    frame = c.to_frame()
    assert len(frame) == 1
    assert frame["administration"][0] == 7 and frame["gmfcs"][0] == "III"
    assert frame["baseline_score"][0] == 40 and frame["observed_change"][0] == 5
    assert frame["date"][0] == date(2025, 1, 10)
    assert frame["expected_population"][0] == c.rows[0].expected_population
    (none,) = compare(date(2019, 4, 2), None, [(8, date(2024, 1, 10))], obs, curves)
    assert none.to_frame().empty and "excess_population" in none.to_frame().columns


@pytest.mark.parametrize(
    ("call", "code", "field"),
    [
        (lambda: proportion_ci(4, 3), "out_of_range", "k"),
        (lambda: rules_from({"visits": []}), "malformed_file", "visits"),
        (lambda: rules_from({"visits": [{"label": "x", "months": -1}]}), "out_of_range", "months"),
        (lambda: ae_rates({"a": -1.0}, []), "out_of_range", "follow_up_years"),
    ],
)
def test_outcome_errors_carry_code_and_field(call, code, field):
    with pytest.raises(OutcomeError) as info:
        call()
    assert (info.value.code, info.value.field) == (code, field)
