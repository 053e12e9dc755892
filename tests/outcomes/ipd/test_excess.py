"""excess_change on a hand-worked table (see conftest.worked_table)."""

from __future__ import annotations

import numpy as np
import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.ipd import excess_change
from tests.outcomes.ipd.worked import worked_table

# t(0.975, 3) = 3.182446305284263 (tables: 3.182); sd of 1, 3, 5, 7 = sqrt(20/3)
T3 = 3.182446305284263
SD = np.sqrt(20 / 3)


def test_all_children_hand_worked():
    res = excess_change(worked_table(), months=12)
    row = res.to_frame().iloc[0]
    assert (row["subgroup"], row["level"], row["n"]) == ("all", "all", 4)
    assert row["mean"] == pytest.approx(4.0)
    assert row["sd"] == pytest.approx(SD)
    assert row["ci_lower"] == pytest.approx(4 - T3 * SD / 2)
    assert row["ci_upper"] == pytest.approx(4 + T3 * SD / 2)
    assert 1.0 <= row["boot_lower"] < 4 < row["boot_upper"] <= 7.0
    assert res.window == "12 months (window 9-15)"


def test_population_method_and_subgroups():
    res = excess_change(worked_table(), months=12, method="population", by=["group", "gmfcs"])
    t = res.to_frame().set_index(["subgroup", "level"])
    assert t.loc[("all", "all"), "mean"] == pytest.approx(3.0)
    assert t.loc[("group", "cells"), "mean"] == pytest.approx(1.0)  # (0 + 2) / 2
    assert t.loc[("group", "control"), "mean"] == pytest.approx(5.0)  # (4 + 6) / 2
    assert t.loc[("gmfcs", "1"), "n"] == 2
    # two values 0 and 2: t(0.975, 1) = 12.7062047361747, sd sqrt(2), se 1
    assert t.loc[("group", "cells"), "ci_upper"] == pytest.approx(1 + 12.7062047361747)


def test_bootstrap_is_seeded():
    a = excess_change(worked_table(), seed=5).to_frame()
    b = excess_change(worked_table(), seed=5).to_frame()
    assert a.equals(b)


def test_age_band_and_dose_group_from_the_data_file():
    res = excess_change(worked_table(), by=["age_band", "dose_group"]).to_frame()
    levels = res[res.subgroup == "age_band"].set_index("level")["n"].to_dict()
    assert levels == {"<2 y": 1, "2-<5 y": 1, "5-<10 y": 1, ">=10 y": 1}
    doses = res[res.subgroup == "dose_group"].set_index("level")["n"].to_dict()
    assert doses == {"1e7-<3e7/kg": 2, "(missing)": 2}


def test_errors():
    with pytest.raises(OutcomeError) as err:
        excess_change(worked_table(), method="both")  # type: ignore[arg-type]
    assert (err.value.code, err.value.field) == ("invalid_choice", "method")
    with pytest.raises(OutcomeError) as err:
        excess_change(worked_table(), by="colour")
    assert (err.value.code, err.value.field) == ("invalid_choice", "by")
    with pytest.raises(OutcomeError) as err:
        excess_change(worked_table().drop(columns="excess_anchored"))
    assert (err.value.code, err.value.field) == ("missing_column", "excess_anchored")
    with pytest.raises(OutcomeError) as err:
        excess_change(worked_table(), months=0)
    assert (err.value.code, err.value.field) == ("out_of_range", "months")


def test_result_is_frozen_and_serialises():
    res = excess_change(worked_table())
    with pytest.raises(AttributeError):
        res.months = 6  # type: ignore[misc]
    d = res.to_dict()
    assert d["table"][0]["mean"] == pytest.approx(4.0)
    with pytest.raises(ValueError):
        res.table["mean"].to_numpy()[0] = 1.0
