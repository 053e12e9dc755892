"""The patient's trajectory chart: zoom, measurement-error band and neutral "within" points."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from cpstem import reference
from cpstem.outcomes.change import Observation, compare
from cpstem.outcomes.plots import VERDICT_COLORS, _y_limits, anchored_band, trajectory_figure

CURVES = reference.load("rosenbaum2002")


def test_anchored_band_by_hand() -> None:
    # GMFCS II: limit 68.4, age-90 4.4 y. A child scoring 54.72 at 4.4 y (90 % of its own
    # limit) has its own limit 60.8; at 8.8 y the fraction is 0.99 -> 60.192.
    mean, half = anchored_band(
        CURVES, "II", 4.4, Observation(date(2020, 1, 1), 54.72, 1.5), np.array([4.4, 8.8])
    )
    assert mean == pytest.approx([54.72, 60.192], abs=1e-9)
    # 1.959964 * 1.414214 = 2.771808; * 1.5 = 4.157712
    assert half is not None
    assert half == pytest.approx([4.157712, 4.157712], abs=1e-6)


def test_no_band_without_a_baseline_se() -> None:
    _, half = anchored_band(
        CURVES, "II", 4.4, Observation(date(2020, 1, 1), 54.72, None), np.array([5.0])
    )
    assert half is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([50.0, 60.0], (45.0, 65.0)),  # 46-64 widened to the 20-point minimum
        ([30.0, 70.0], (26.0, 74.0)),
        ([2.0, 5.0], (0.0, 20.0)),  # kept inside 0-100
        ([97.0, 99.0], (80.0, 100.0)),
        ([], (0.0, 100.0)),
    ],
)
def test_y_axis_zooms_to_the_child(values: list[float], expected: tuple[float, float]) -> None:
    assert _y_limits(values) == pytest.approx(expected)


def test_chart_draws_the_band_and_colours_only_beyond_error() -> None:
    birth = date(2016, 1, 1)
    obs = [
        Observation(date(2020, 6, 1), 55.0, 1.4),
        Observation(date(2021, 6, 1), 56.5, 1.4),  # within error of the expectation
    ]
    changes = compare(birth, "II", [(1, date(2020, 6, 15))], obs, CURVES)
    assert changes[0].rows[0].verdict_anchored == "within"
    fig = trajectory_figure(birth, obs, changes, CURVES, "II")
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert lo > 30 and hi < 80  # zoomed, not 0-100
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the band
    labels = ax.get_legend_handles_labels()[1]
    assert "within measurement error" in labels
    assert "above expected, beyond error" not in labels
    grey = [ln for ln in ax.get_lines() if ln.get_color() == VERDICT_COLORS["within"]]
    assert grey and list(grey[0].get_ydata()) == [56.5]
