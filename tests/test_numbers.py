"""The one reader of a user's number (cpstem.numbers.finite_float): codes, fields, messages."""

import math

import pytest

from cpstem.errors import CpstemError
from cpstem.measures import MeasureError
from cpstem.numbers import finite_float


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.5", 2.5), (" -3 ", -3.0), (7, 7.0), (1e-3, 0.001), ("1e2", 100.0)],
)
def test_numbers_and_their_text_are_read(value, expected):
    assert finite_float(value, "dose") == expected


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("abc", "not_a_number", "dose 'abc' is not a number"),
        ("", "not_a_number", "dose '' is not a number"),
        (None, "not_a_number", "dose None is not a number"),
        (True, "not_a_number", "dose True is not a number"),  # a bool is not a count of 1
        ([1], "not_a_number", "dose [1] is not a number"),
        ("nan", "not_finite", "dose 'nan' is not a finite number"),
        (math.inf, "not_finite", "dose inf is not a finite number"),
        ("-Infinity", "not_finite", "dose '-Infinity' is not a finite number"),
    ],
)
def test_what_is_not_a_finite_number_is_a_coded_error(value, code, message):
    with pytest.raises(CpstemError) as info:
        finite_float(value, "dose")
    assert (info.value.code, info.value.message) == (code, message)
    assert info.value.params == {"value": str(value)}


def test_the_callers_error_class_field_params_and_noun():
    with pytest.raises(MeasureError) as info:
        finite_float("x", "age", MeasureError, field="age_years", params={"row": 3}, noun="years")
    assert info.value.to_dict() == {
        "code": "not_a_number",
        "field": "age_years",
        "message": "age 'x' is not years",
        "params": {"row": 3, "value": "x"},
    }


def test_non_finite_values_can_be_left_to_the_callers_range_check():
    assert math.isnan(finite_float("nan", "age", finite=False))
    assert finite_float(-math.inf, "age", finite=False) == -math.inf
    with pytest.raises(CpstemError, match="'x' is not a number"):
        finite_float("x", "age", finite=False)


def test_a_layer_may_name_its_own_code_for_not_a_number():
    with pytest.raises(CpstemError) as info:
        finite_float("ten", "Tardieu R2", code="not_an_angle", noun="an angle in degrees")
    assert (info.value.code, info.value.message) == (
        "not_an_angle",
        "Tardieu R2 'ten' is not an angle in degrees",
    )
    with pytest.raises(CpstemError) as info:
        finite_float("inf", "Tardieu R2", code="not_an_angle")
    assert info.value.code == "not_finite"
