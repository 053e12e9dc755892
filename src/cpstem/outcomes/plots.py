"""The GMFM-66 trajectory chart of one child against its reference curve."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import numpy as np
from matplotlib.figure import Figure

from cpstem.outcomes.change import Z95, AdministrationChange, Observation
from cpstem.outcomes.dates import age_years
from cpstem.reference import CurveSet

#: Colours of a follow-up point by its measurement-error verdict: only an excess beyond
#: measurement error is coloured; "within" is neutral grey (it is not a gain).
VERDICT_COLORS = {"above": "#1b9e77", "below": "#d95f02", "within": "#8c8c8c", None: "black"}
#: Smallest y-axis span (GMFM-66 points) so that a flat trajectory is not magnified into noise.
MIN_Y_SPAN = 20.0


def anchored_band(
    curves: CurveSet, level: str, baseline_age: float, baseline: Observation, ages: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """The child-anchored expectation on ``ages`` and its half-width for measurement error.

    The half-width is ``1.96 * sqrt(se_b^2 + se_f^2)`` with the follow-up SE taken equal to the
    baseline SE (the GMAE SE changes little between nearby scores); ``None`` without a
    baseline SE. It is the same rule as the verdict of :func:`cpstem.outcomes.change.compare`.
    """
    own = curves.child_limit(level, baseline_age, baseline.score)
    expected = own * curves.curve(level).fraction(ages)
    if baseline.se is None or baseline.se <= 0:
        return expected, None
    return expected, np.full_like(expected, Z95 * float(np.sqrt(2.0)) * baseline.se)


def _y_limits(values: list[float]) -> tuple[float, float]:
    """The child's range with a margin, at least ``MIN_Y_SPAN`` wide, inside 0-100."""
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return 0.0, 100.0
    lo, hi = min(finite) - 4.0, max(finite) + 4.0
    if hi - lo < MIN_Y_SPAN:
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_Y_SPAN / 2, mid + MIN_Y_SPAN / 2
    if lo < 0:
        lo, hi = 0.0, min(100.0, hi - lo)
    if hi > 100:
        lo, hi = max(0.0, lo - (hi - 100.0)), 100.0
    return lo, hi


def _verdicts(changes: Sequence[AdministrationChange]) -> dict[date, str | None]:
    """The verdict shown for each follow-up day (child-anchored when known, else population)."""
    out: dict[date, str | None] = {}
    for c in changes:
        for r in c.rows:
            out[r.day] = r.verdict_anchored or r.verdict_population
    return out


def trajectory_figure(
    birth: date,
    observations: Sequence[Observation],
    changes: Sequence[AdministrationChange],
    curves: CurveSet,
    level: str | None,
) -> Figure:
    """Observed GMFM-66 (with GMAE 95 % CI when known), the level's population curve, and the
    child-anchored expectation from the baseline of each administration (dashed) with its
    measurement-error band. The y-axis is zoomed to the child's range; follow-up points are
    coloured only when their excess is beyond measurement error (grey when within)."""
    fig = Figure(figsize=(7.5, 4.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    pts = sorted((age_years(birth, o.day), o.score, o.se, o.day) for o in observations)
    ages_admin = [c.age_years for c in changes]
    top = max([p[0] for p in pts] + ages_admin + [1.0]) + 1.0
    lo = max(0.0, min([p[0] for p in pts] + ages_admin + [top]) - 1.0)
    grid = np.linspace(lo, top, 300)
    y_values: list[float] = []
    for _age, score, se, _day in pts:
        ci_half = Z95 * se if se is not None else 0.0
        y_values += [score - ci_half, score + ci_half]
    if level is not None:
        expected = curves.curve(level).expected(grid)
        y_values += [float(np.min(expected)), float(np.max(expected))]
        ax.plot(
            grid,
            expected,
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
        if level is None or c.baseline is None:
            continue
        a0 = age_years(birth, c.baseline.day)
        if a0 <= 0:
            continue
        ages = np.linspace(a0, top, 100)
        mean, half = anchored_band(curves, level, a0, c.baseline, ages)
        y_values += [float(np.min(mean)), float(np.max(mean))]
        ax.plot(
            ages,
            mean,
            "--",
            color="#1b9e77",
            lw=1.4,
            label="expected from baseline (child-anchored)" if i == 0 else None,
        )
        if half is not None:
            ax.fill_between(
                ages,
                mean - half,
                mean + half,
                color="#1b9e77",
                alpha=0.12,
                lw=0,
                label="measurement error of the change (95 %)" if i == 0 else None,
            )
    if pts:
        verdicts = _verdicts(changes)
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        err = [Z95 * p[2] if p[2] is not None else 0.0 for p in pts]
        ax.errorbar(
            xs,
            ys,
            yerr=err if any(err) else None,
            fmt="-",
            color="black",
            lw=1.2,
            capsize=3,
            label="observed GMFM-66 (95 % CI)",
            zorder=5,
        )
        for verdict in ("above", "within", "below", None):
            sel = [
                (x, y) for x, y, p in zip(xs, ys, pts, strict=True) if verdicts.get(p[3]) == verdict
            ]
            if not sel:
                continue
            label = {
                "above": "above expected, beyond error",
                "within": "within measurement error",
                "below": "below expected, beyond error",
                None: None,
            }[verdict]
            ax.plot(
                [x for x, _ in sel],
                [y for _, y in sel],
                "o",
                color=VERDICT_COLORS[verdict],
                ms=6,
                zorder=6,
                label=label,
            )
    ax.set_xlim(lo, top)
    ax.set_ylim(*_y_limits(y_values))
    ax.set_xlabel("Age (years)")
    ax.set_ylabel("GMFM-66")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=7.5, frameon=False)
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
