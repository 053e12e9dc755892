"""Plots of the reference curves with a child's observed GMFM-66 points on top."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cpstem.measures.levels import FunctionLevel
from cpstem.plotting import literal_text, save_figure
from cpstem.reference.curves import CurveSet, check_age, check_score, parse_level
from cpstem.reference.errors import CurveError

_COLORS = ("#1b9e77", "#66a61e", "#e6ab02", "#d95f02", "#7570b3")


@literal_text
def plot(
    curve_set: CurveSet,
    child: Iterable[tuple[float, float]] | None = None,
    level: Any = None,
    out: str | Path | None = None,
    *,
    title: str | None = None,
    max_age_years: float | None = None,
    anchored: bool = True,
) -> Figure:
    """Draw the five level curves; overlay a child's (age_years, score) points.

    With ``level`` the child's curve is emphasised and, with ``anchored``, the child-anchored
    expectation from the first observation is drawn dashed. ``out`` (.png/.svg/.pdf) saves it.
    """
    points = sorted((check_age(a), check_score(s)) for a, s in (child or []))
    lv: FunctionLevel | None = parse_level(level) if level is not None else None
    top = max_age_years or max(12.0, (points[-1][0] + 1.0) if points else 0.0)
    ages = np.linspace(0.0, top, 400)
    fig = Figure(figsize=(8, 5.2), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    for color, (level_i, curve) in zip(_COLORS, curve_set.curves.items(), strict=True):
        emphasised = lv is None or level_i == lv
        ax.plot(
            ages,
            curve.expected(ages),
            color=color,
            lw=2.4 if emphasised else 1.2,
            alpha=1.0 if emphasised else 0.45,
            label=f"GMFCS {level_i} (limit {curve.limit:.1f}, age-90 {curve.age90_years:g} y)",
        )
    if points:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, "o-", color="black", ms=6, lw=1.2, label="child (observed)", zorder=5)
        if lv is not None and anchored and points[0][0] > 0:
            draw_child_anchored(
                ax,
                curve_set,
                lv,
                *points[0],
                top,
                color="black",
                lw=1.2,
                alpha=0.8,
                label="expected from first visit (child-anchored)",
            )
    ax.set_xlim(0, top)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Age (years)")
    ax.set_ylabel(f"{curve_set.scale} score")
    fig.suptitle(title or f"Expected {curve_set.scale} by GMFCS level", fontsize=12)
    ax.set_title(
        f"{curve_set.title or curve_set.name} - verified: {curve_set.verified}",
        fontsize=8,
        color="#555",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    save_figure(fig, out, CurveError)
    return fig


def draw_child_anchored(
    ax: Axes,
    curve_set: CurveSet,
    level: Any,
    age_years: float,
    score: float,
    top_years: float,
    *,
    n: int = 200,
    **style: Any,
) -> None:
    """The child-anchored expectation, dashed, from a child's ``score`` at ``age_years`` to
    ``top_years``: the child's own limit (:meth:`CurveSet.child_limit`) times the level's curve
    fraction, on ``n`` ages. ``style``: matplotlib line options (color, lw, alpha, label)."""
    own = curve_set.child_limit(level, age_years, score)
    ages = np.linspace(age_years, top_years, n)
    ax.plot(ages, own * curve_set.curve(level).fraction(ages), "--", **style)
