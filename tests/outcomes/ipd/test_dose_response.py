"""dose_response: an exact line, Harrell's knots and the spline basis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.ipd import dose_response
from cpstem.outcomes.ipd.spline import harrell_knots, rcs_basis


def dose_table(noise: float = 0.0) -> pd.DataFrame:
    """30 treated children, excess = 2 log10(dose) - 13 (+ noise) at 12 months; 2 controls."""
    rng = np.random.default_rng(0)
    log_dose = np.linspace(6.5, 8.0, 30)
    rows = []
    for i, ld in enumerate(log_dose):
        product = "UCB" if i % 2 else "MSC"
        excess = 2 * ld - 13 + noise * rng.normal()
        rows += [
            (f"t{i}", "cells", product, 10**ld, 0.0, 0.0),
            (f"t{i}", "cells", product, 10**ld, 12.0, excess),
        ]
    rows += [("c1", "control", "", np.nan, 12.0, 1.0), ("c2", "control", "", np.nan, 12.0, 2.0)]
    return pd.DataFrame(
        rows,
        columns=["child", "group", "product", "dose_cells_per_kg", "months", "excess_anchored"],
    )


def test_exact_line_is_recovered_overall_and_per_product():
    res = dose_response(dose_table())
    slopes = res.to_frame().set_index("product")
    np.testing.assert_allclose(slopes.slope, 2.0, atol=1e-9)
    assert slopes.loc["all", "n"] == 30
    assert slopes.loc["UCB", "n"] == 15
    lin = res.curves[(res.curves["product"] == "all") & (res.curves.model == "linear")]
    np.testing.assert_allclose(lin.fit, 2 * lin.log10_dose - 13, atol=1e-9)
    spl = res.curves[(res.curves["product"] == "all") & (res.curves.model == "spline")]
    np.testing.assert_allclose(spl.fit, 2 * spl.log10_dose - 13, atol=1e-8)


def test_harrell_knots_small_sample_rule():
    x = np.arange(1.0, 31.0)  # n = 30 < 100: outer knots are the 5th smallest / largest
    knots = harrell_knots(x, 3)
    np.testing.assert_allclose(knots, [5.0, 15.5, 26.0])
    big = np.arange(1.0, 201.0)
    np.testing.assert_allclose(harrell_knots(big, 3), np.quantile(big, [0.1, 0.5, 0.9]))


def test_rcs_basis_hand_worked_and_linear_beyond_last_knot():
    knots = np.array([0.0, 1.0, 2.0])
    # x = 1.5: (1.5^3 - 0.5^3 * 2/1 + 0) / (2 - 0)^2 = (3.375 - 0.25) / 4
    assert rcs_basis(np.array([1.5]), knots)[0, 0] == pytest.approx((3.375 - 0.25) / 4)
    xs = np.array([3.0, 4.0, 5.0])  # linear beyond the last knot
    b = rcs_basis(xs, knots)[:, 0]
    assert b[2] - b[1] == pytest.approx(b[1] - b[0])
    assert rcs_basis(np.array([-1.0, 0.0]), knots)[:, 0] == pytest.approx([0.0, 0.0])


def test_errors():
    with pytest.raises(OutcomeError) as err:
        dose_response(dose_table(), n_knots=2)
    assert (err.value.code, err.value.field) == ("out_of_range", "n_knots")
    only_controls = dose_table().query("group == 'control'")
    with pytest.raises(OutcomeError) as err:
        dose_response(only_controls)
    assert err.value.code == "no_data"
