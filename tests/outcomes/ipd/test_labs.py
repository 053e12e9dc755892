"""lab_change: hand-worked paired t on the log and raw scales, the scale rule, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd import lab_change
from cpstem.outcomes.ipd.labs import choose_scale

T975_2 = 4.302652729911275  # Student t, 2 df, 0.975


def lab_table() -> pd.DataFrame:
    rows = []
    # IL-6 (pg/mL): pairs (10, 5), (20, 10), (40, 40): log differences -ln2, -ln2, 0
    for child, v0, v1 in (("a", 10, 5), ("b", 20, 10), ("c", 40, 40)):
        rows += [
            (child, "cells", "IL-6", "pg/mL", -0.5, v0),
            (child, "cells", "IL-6", "pg/mL", 6.2, v1),
        ]
    # CRP (mg/L), raw scale: pairs (1, 3), (2, 2), (3, 7): differences 2, 0, 4
    for child, v0, v1 in (("a", 1, 3), ("b", 2, 2), ("c", 3, 7)):
        rows += [(child, "cells", "CRP", "mg/L", 0, v0), (child, "cells", "CRP", "mg/L", 6, v1)]
    return pd.DataFrame(rows, columns=["child", "group", "analyte", "unit", "months", "value"])


def test_log_scale_hand_worked():
    res = lab_change(lab_table(), months=(6,), scale={"IL-6": "log", "CRP": "raw"})
    r = res.table.set_index("analyte").loc["IL-6"]
    ln2 = math.log(2)
    # mean log difference -2/3 ln2, SE ln2/3, t = -2 with 2 df
    assert r["n"] == 3
    assert r["ratio"] == pytest.approx(2 ** (-2 / 3), rel=1e-12)
    assert r["percent_change"] == pytest.approx(100 * (2 ** (-2 / 3) - 1), rel=1e-12)
    assert r["t"] == pytest.approx(-2.0, rel=1e-12)
    assert r["p_value"] == pytest.approx(1 - 2 / math.sqrt(6), rel=1e-9)  # t(2) tail closed form
    assert r["ci_lower"] == pytest.approx(math.exp(-2 / 3 * ln2 - T975_2 * ln2 / 3), rel=1e-9)
    assert r["ci_upper"] == pytest.approx(math.exp(-2 / 3 * ln2 + T975_2 * ln2 / 3), rel=1e-9)
    assert r["baseline_mean"] == pytest.approx(20.0, rel=1e-12)  # geometric mean of 10, 20, 40
    assert r["unit"] == "pg/mL"


def test_raw_scale_hand_worked():
    res = lab_change(lab_table(), months=(6,), scale={"CRP": "raw", "IL-6": "log"})
    r = res.table.set_index("analyte").loc["CRP"]
    assert (r["mean_change"], r["n"]) == (2.0, 3)
    assert r["t"] == pytest.approx(math.sqrt(3), rel=1e-12)  # SD 2, SE 2/sqrt(3)
    assert r["ci_upper"] == pytest.approx(2 + T975_2 * 2 / math.sqrt(3), rel=1e-9)
    assert np.isnan(r["ratio"])


def test_scale_rule():
    # [1, 1, 1, 1, 10]: g1 = 1.5, adjusted G1 = sqrt(20) / 3 * 1.5 = 2.236 > 1 -> log
    scale, reason, skew = choose_scale(np.array([1.0, 1, 1, 1, 10]))
    assert scale == "log"
    assert reason.startswith("all values > 0")
    assert skew == pytest.approx(math.sqrt(20) / 3 * 1.5, rel=1e-12)
    assert choose_scale(np.array([0.0, 1, 1, 1, 10]))[:2] == ("raw", "not all values > 0")
    assert choose_scale(np.array([1.0, 2, 3, 4, 5]))[0] == "raw"  # symmetric
    with pytest.raises(OutcomeError) as err:
        choose_scale(np.array([0.0, 1.0, 2.0]), "log")
    assert (err.value.code, err.value.field) == ("out_of_range", "scale")


def test_by_group_and_errors():
    t = lab_table()
    res = lab_change(t, months=(6,), by="group")
    assert list(res.table[res.table.analyte == "CRP"]["level"]) == ["all", "control", "cells"]
    assert res.table[(res.table.analyte == "CRP") & (res.table.level == "control")]["n"].item() == 0
    bad = t.copy()
    bad.loc[0, "unit"] = "ng/mL"
    with pytest.raises(OutcomeError) as err:
        lab_change(bad)
    assert (err.value.code, err.value.field) == ("inconsistent", "unit")
    with pytest.raises(OutcomeError) as err:
        lab_change(t.drop(columns="value"))
    assert (err.value.code, err.value.field) == ("missing_column", "value")
