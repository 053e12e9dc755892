"""The analysis-table contract: coded errors that name the column."""

from __future__ import annotations

import pandas as pd
import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.ipd import COLUMNS, validate_table


def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "child": ["a", "a", "b"],
            "group": ["cells", "cells", "control"],
            "gmfcs": [2, 2, 5],
            "months": ["0", "12.5", ""],
        }
    )


def test_contract_has_the_issue_columns_in_order():
    assert list(COLUMNS) == [
        "child", "site", "group", "product", "route", "dose_cells_per_kg", "gmfcs",
        "age_baseline_years", "gmfm66_baseline", "months", "gmfm66", "gmfm66_se",
        "expected_change_population", "expected_change_anchored", "excess_population",
        "excess_anchored",
    ]  # fmt: skip


def test_missing_column_is_named():
    with pytest.raises(OutcomeError) as err:
        validate_table(small(), ["child", "gmfm66"])
    assert err.value.code == "missing_column"
    assert err.value.field == "gmfm66"


def test_text_numbers_are_converted_and_group_gets_control_as_reference():
    out = validate_table(small(), ["child", "group", "gmfcs", "months"])
    assert out["months"].tolist()[:2] == [0.0, 12.5]
    assert pd.isna(out["months"].iloc[2])
    assert list(out["group"].cat.categories) == ["control", "cells"]


def test_wrong_type_names_column_and_value():
    bad = small().assign(months=["0", "twelve", "3"])
    with pytest.raises(OutcomeError) as err:
        validate_table(bad, ["months"])
    assert (err.value.code, err.value.field, err.value.params["value"]) == (
        "wrong_type",
        "months",
        "twelve",
    )


def test_gmfcs_and_group_out_of_range():
    with pytest.raises(OutcomeError) as err:
        validate_table(small().assign(gmfcs=[2, 6, 1]), ["gmfcs"])
    assert (err.value.code, err.value.field, err.value.params["value"]) == (
        "out_of_range",
        "gmfcs",
        6,
    )
    with pytest.raises(OutcomeError) as err:
        validate_table(small().assign(group=["cells", "treated", "control"]), ["group"])
    assert (err.value.code, err.value.field) == ("out_of_range", "group")


def test_empty_and_not_a_frame():
    with pytest.raises(OutcomeError) as err:
        validate_table(small().iloc[:0], ["child"])
    assert err.value.code == "empty_table"
    with pytest.raises(OutcomeError) as err:
        validate_table([1, 2], ["child"])  # type: ignore[arg-type]
    assert err.value.code == "wrong_type"
