"""The GMFM-66 trajectory chart of one child against its reference curve."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import numpy as np
from matplotlib.figure import Figure

from cpstem.outcomes.change import AdministrationChange, Observation
from cpstem.outcomes.dates import age_years
from cpstem.reference import CurveSet
from cpstem.reference.plots import draw_child_anchored


def trajectory_figure(
    birth: date,
    observations: Sequence[Observation],
    changes: Sequence[AdministrationChange],
    curves: CurveSet,
    level: str | None,
) -> Figure:
    """Observed GMFM-66 (with GMAE 95 % CI when known), the level's population curve, and the
    child-anchored expectation from the baseline of each administration (dashed)."""
    fig = Figure(figsize=(7.5, 4.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    pts = sorted((age_years(birth, o.day), o.score, o.se) for o in observations)
    ages_admin = [c.age_years for c in changes]
    top = max([a for a, _, _ in pts] + ages_admin + [1.0]) + 1.0
    lo = max(0.0, min([a for a, _, _ in pts] + ages_admin + [top]) - 1.0)
    grid = np.linspace(0.0, top, 300)
    if level is not None:
        curve = curves.curve(level)
        ax.plot(
            grid,
            curve.expected(grid),
            color="#7570b3",
            lw=2,
            label=f"expected, GMFCS {level} ({curves.name}, population)",
        )
    for i, c in enumerate(changes):
        ax.axvline(
            c.age_years,
            color="#d95f02",
            lw=1,
            alpha=0.7,
            label="cell administration" if i == 0 else None,
        )
        if level is not None and c.baseline is not None:
            a0 = age_years(birth, c.baseline.day)
            if a0 > 0:
                draw_child_anchored(
                    ax,
                    curves,
                    level,
                    a0,
                    c.baseline.score,
                    top,
                    n=100,
                    color="#1b9e77",
                    lw=1.4,
                    label="expected from baseline (child-anchored)" if i == 0 else None,
                )
    if pts:
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        err = [1.96 * p[2] if p[2] is not None else 0.0 for p in pts]
        ax.errorbar(
            xs,
            ys,
            yerr=err if any(err) else None,
            fmt="o-",
            color="black",
            ms=5,
            lw=1.2,
            capsize=3,
            label="observed GMFM-66",
            zorder=5,
        )
    ax.set_xlim(lo, top)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Age (years)")
    ax.set_ylabel("GMFM-66")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        ax.text(
            0.5,
            0.5,
            "No GMFM-66 and no GMFCS level recorded yet",
            ha="center",
            transform=ax.transAxes,
            color="#555",
        )
    ax.set_title(
        f"Reference: {curves.title or curves.name} (verified: {curves.verified})",
        fontsize=8,
        color="#555",
    )
    return fig


def figure_bytes(fig: Figure, fmt: str = "svg") -> bytes:
    """Render a figure to SVG or PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    return buf.getvalue()
