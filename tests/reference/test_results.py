"""Curve sets serialise themselves (to_frame, to_dict) and their errors carry codes."""

import json

import pytest

from cpstem import reference
from cpstem.reference import CurveError


def test_curve_set_frame_has_one_row_per_level():
    frame = reference.load("rosenbaum2002").to_frame()
    assert list(frame.columns) == ["gmfcs", "limit", "age90_years", "rate_per_year", "source"]
    assert list(frame["gmfcs"]) == ["I", "II", "III", "IV", "V"]
    # Rosenbaum 2002 limits and age-90 values (as in test_curves), rate = ln(10) / age90
    assert list(frame["limit"]) == [87.7, 68.4, 54.3, 40.4, 22.3]
    assert frame["rate_per_year"][2] == pytest.approx(2.302585093 / 3.7)
    assert frame["source"].str.len().min() > 0


def test_curve_set_to_dict_is_json():
    data = json.loads(json.dumps(reference.load("shi2012").to_dict(), allow_nan=False))
    assert data["name"] == "shi2012" and data["verified"] == "abstract"
    assert data["curves"]["3"]["limit"] == 52.9 and data["curves"]["3"]["level"] == 3
    assert data["curves"]["5"]["rate_per_year"] == pytest.approx(2.302585093 / 1.5)


@pytest.mark.parametrize(
    ("call", "code", "field"),
    [
        (lambda s: s.expected("VI", 3.0), "invalid_choice", "level"),
        (lambda s: s.expected("III", -1), "out_of_range", "age"),
        (lambda s: s.expected_change("III", 5, 4), "inconsistent", "age_to"),
        (lambda s: s.child_limit("III", 4, 120), "out_of_range", "baseline_score"),
        (lambda s: reference.load("nope"), "not_found", "name"),
        (lambda s: s.expected("III", "four"), "not_a_number", "age"),
        (lambda s: s.expected("III", True), "not_a_number", "age"),
        (lambda s: s.child_limit("III", 4, True), "not_a_number", "baseline_score"),
    ],
)
def test_curve_errors_carry_code_and_field(call, code, field):
    with pytest.raises(CurveError) as info:
        call(reference.load("rosenbaum2002"))
    assert (info.value.code, info.value.field) == (code, field)


def test_a_user_file_error_names_the_field(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("gmfcs,limit,age90_years\nI,120,4\n")
    with pytest.raises(CurveError) as info:
        reference.load_file(path)
    assert (info.value.code, info.value.field, info.value.params["value"]) == (
        "out_of_range",
        "limit",
        120.0,
    )
