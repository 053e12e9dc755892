"""Forest and funnel plots (matplotlib object API, safe without a display).

``forest`` draws one row per study (square sized by weight, CI whiskers), the weight and
"estimate [CI]" columns, the pooled diamond and the prediction interval; given a
:class:`SubgroupResult` it draws a block per subgroup with its own diamond, then the overall
diamond and the test for subgroup differences. ``funnel`` draws effect against standard error
with the pseudo-confidence region (or significance contours) and, given a trim-and-fill
result, the filled studies as open circles.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.transforms import Transform, blended_transform_factory

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.rma import RMAResult
from cpstem.formatting import format_p
from cpstem.plotting import literal_text, save_figure

_RATIO = {
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "PETO": "Odds ratio (Peto)",
    "ROM": "Ratio of means",
}
_LABEL = {
    "MD": "Mean difference",
    "SMD": "Standardized mean difference (Hedges' g)",
    "RD": "Risk difference",
    "SMCR": "Standardized mean change",
    "PR": "Proportion",
    "ZCOR": "Fisher's z",
}
_STUDY = "#1f3a5f"
_POOLED = "#b2182b"
_GROUP = "#2166ac"


def _save(fig: Figure, out: str | Path | None) -> None:
    save_figure(fig, out, EvidenceError)


def _scale(
    measure: str | None, transf: Callable[[Any], Any] | None, xlabel: str | None
) -> tuple[Callable[[Any], Any], bool, str]:
    """Back-transformation and axis label: ratios are shown as ratios on a log axis."""
    if transf is None and measure in _RATIO:
        transf = np.exp
    log_axis = transf is np.exp
    label = xlabel or _RATIO.get(measure or "", _LABEL.get(measure or "", "Effect size"))
    return (transf or (lambda x: x)), log_axis, label


@literal_text
def forest(
    res: Any,
    out: str | Path | None = None,
    *,
    labels: Any = None,
    transf: Callable[[np.ndarray], np.ndarray] | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    show_weights: bool = True,
    show_pi: bool = True,
    refline: float | None = None,
    digits: int = 2,
) -> Figure:
    """Forest plot of a model without moderators, or of a subgroup analysis.

    Ratio measures (OR, RR, PETO, ROM) are shown exponentiated on a log axis unless
    ``transf`` says otherwise. ``out`` (.png/.svg/.pdf) saves the figure.
    """
    from cpstem.evidence.subgroups import SubgroupResult

    if isinstance(res, SubgroupResult):
        blocks: list[tuple[str | None, RMAResult]] = [(lv, res.fits[lv]) for lv in res.levels]
        overall = res.overall
    elif isinstance(res, RMAResult):
        if not res.int_only:
            raise EvidenceError(
                "a forest plot needs a model without moderators (or subgroups)",
                code="not_applicable",
                field="res",
            )
        blocks = [(None, res)]
        overall = res
    else:
        raise EvidenceError(
            "forest() takes a fitted model (rma) or a subgroup analysis",
            code="not_applicable",
            field="res",
        )
    tf, log_axis, xl = _scale(overall.measure, transf, xlabel)
    alpha = overall.alpha
    z = dist.crit_norm(alpha)
    weight_of = dict(zip(overall.labels, overall.weights, strict=True))
    rows: list[tuple] = []  # (kind, label, payload...)
    for name, fit in blocks:
        if name is not None:
            rows.append(("header", name))
        labs = list(fit.labels) if labels is None or name is not None else list(labels)
        se = np.sqrt(fit.vi)
        for i in range(fit.k):
            w = (
                weight_of.get(fit.labels[i], fit.weights[i])
                if name is not None
                else (fit.weights[i])
            )
            rows.append(
                ("study", labs[i], fit.yi[i], fit.yi[i] - z * se[i], fit.yi[i] + z * se[i], w)
            )
        if name is not None:
            gw = float(sum(weight_of.get(lab, 0.0) for lab in fit.labels))
            rows.append(("diamond", f"Subtotal {name}", fit, _GROUP, gw))
            rows.append(("het", _het(fit)))
            rows.append(("gap", ""))
    rows.append(
        (
            "diamond",
            "FE model" if overall.method == "FE" else f"RE model ({overall.method})",
            overall,
            _POOLED,
            100.0,
        )
    )
    rows.append(("het", _het(overall)))
    if isinstance(res, SubgroupResult):
        rows.append(
            (
                "het",
                f"Test for subgroup differences: Q = {res.q_between:.2f}, "
                f"df = {res.q_between_df}, p {_pv(res.q_between_pval)}",
            )
        )
    n = len(rows)
    height = 1.3 + 0.27 * n
    fig = Figure(figsize=(10.5, height), dpi=150, layout=None)
    ax = fig.add_axes((0.36, 0.62 / height, 0.36, 1 - 1.05 / height))
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    left = -0.92  # axes fraction of the label column (left edge of the figure)
    ys = np.arange(n, 0, -1, dtype=float)
    wmax = max((r[5] for r in rows if r[0] == "study"), default=1.0)
    xs_all: list[float] = []

    def label(y: float, text: str, **kw: Any) -> None:
        ax.text(left, y, text, transform=trans, ha="left", va="center", clip_on=False, **kw)

    for y, row in zip(ys, rows, strict=True):
        kind = row[0]
        if kind == "study":
            _, lab, est, lo, hi, w = row
            e, a, b = tf(np.array([est, lo, hi]))
            xs_all += [a, b]
            ax.plot([a, b], [y, y], color=_STUDY, lw=1.0, solid_capstyle="butt")
            size = 4 + 9 * np.sqrt(w / wmax)
            ax.plot([e], [y], marker="s", ms=size, color=_STUDY, mec="none")
            label(y, lab, fontsize=8.5)
            _right(ax, trans, y, e, a, b, w if show_weights else None, digits)
        elif kind == "header":
            label(y, row[1], fontsize=9, fontweight="bold")
        elif kind == "diamond":
            _, lab, fit, color, w = row
            e, a, b = tf(np.array([fit.estimate, fit.ci_lower, fit.ci_upper]))
            xs_all += [a, b]
            ax.add_patch(
                Polygon(
                    [(a, y), (e, y + 0.33), (b, y), (e, y - 0.33)],
                    closed=True,
                    color=color,
                    zorder=3,
                )
            )
            if show_pi and fit.method != "FE" and fit.k > 1:
                pa, pb = tf(np.array([fit.pi_lower, fit.pi_upper]))
                xs_all += [pa, pb]
                ax.plot([pa, a], [y, y], color=color, lw=1.0, ls=(0, (3, 2)))
                ax.plot([b, pb], [y, y], color=color, lw=1.0, ls=(0, (3, 2)))
            bold = color == _POOLED
            label(y, lab, fontsize=8.5, fontweight="bold" if bold else "normal")
            _right(ax, trans, y, e, a, b, w if show_weights else None, digits, bold=bold)
        elif kind == "het":
            label(y + 0.15, row[1], fontsize=7.5, style="italic", color="#444")
    ref = refline if refline is not None else (1.0 if log_axis else 0.0)
    ax.axvline(ref, color="#444", lw=0.8, zorder=0)
    finite = [x for x in xs_all if np.isfinite(x) and (x > 0 or not log_axis)]
    if finite:
        lo, hi = min([*finite, ref]), max([*finite, ref])
        if log_axis:
            ax.set_xscale("log")
            pad = (np.log(hi) - np.log(lo)) * 0.05 + 1e-9
            ax.set_xlim(np.exp(np.log(lo) - pad), np.exp(np.log(hi) + pad))
            ticks = [t for m in (0.001, 0.01, 0.1, 1, 10, 100) for t in (m, 2 * m, 5 * m)]
            ticks = [t for t in ticks if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
        else:
            pad = (hi - lo) * 0.05 + 1e-9
            ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(0.3, n + 0.9)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(xl, fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    lvl = f"{100 * (1 - alpha):g}%"
    ytop = n + 0.6
    columns = [(left, "Study", "left"), (1.62, f"Estimate [{lvl} CI]", "right")]
    if show_weights:
        columns.insert(1, (1.12, "Weight", "right"))
    for x, text, ha in columns:
        ax.text(
            x,
            ytop,
            text,
            transform=trans,
            ha=ha,
            va="bottom",
            fontsize=9,
            fontweight="bold",
            clip_on=False,
        )
    if title:
        fig.suptitle(title, fontsize=11, y=1 - 0.12 / height)
    if show_pi and overall.method != "FE" and overall.k > 1:
        pa, pb = tf(np.array([overall.pi_lower, overall.pi_upper]))
        fig.text(
            0.36,
            0.08 / height,
            f"Dashed lines: {lvl} prediction interval (overall {pa:.{digits}f} to {pb:.{digits}f})",
            fontsize=7.5,
            color="#555",
        )
    _save(fig, out)
    return fig


def _right(
    ax: Axes,
    trans: Transform,
    y: float,
    e: float,
    a: float,
    b: float,
    w: float | None,
    digits: int,
    bold: bool = False,
) -> None:
    style: dict[str, Any] = {
        "transform": trans,
        "ha": "right",
        "va": "center",
        "fontsize": 8.5,
        "fontweight": "bold" if bold else "normal",
        "clip_on": False,
    }
    if w is not None:
        ax.text(1.12, y, f"{w:.1f}%", **style)
    ax.text(
        1.62, y, f"{e:.{digits}f} [{a:.{digits}f}, {b:.{digits}f}]", family="monospace", **style
    )


def _pv(p: float) -> str:
    return format_p(p, 3, prefix=True)


def _het(fit: RMAResult) -> str:
    text = f"Q = {fit.q:.2f}, df = {fit.q_df}, p {_pv(fit.q_pval)}; I² = {fit.i2:.0f}%"
    if fit.method != "FE":
        text += f", τ² = {fit.tau2:.3f}"
    return "Heterogeneity: " + text


@literal_text
def funnel(
    res: RMAResult,
    out: str | Path | None = None,
    *,
    trimfill: Any = None,
    contours: tuple[float, ...] | None = None,
    transf: Callable | None = None,
    xlabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """Funnel plot: effect sizes against their standard errors (0 at the top).

    Draws the pseudo-confidence region around the pooled estimate (metafor's default), or,
    with ``contours`` (e.g. ``(0.90, 0.95, 0.99)``), shaded significance contours around the
    null. With ``trimfill`` (a :func:`~cpstem.evidence.trimfill` result) the filled studies
    are open circles and the adjusted estimate a dashed line. Ratio measures are shown on the
    log scale (axis labelled as such); ``transf`` is ignored for funnel plots on purpose: the
    funnel's symmetry is only visible on the analysis scale.
    """
    if not isinstance(res, RMAResult) or not res.int_only:
        raise EvidenceError(
            "a funnel plot needs a fitted model without moderators",
            code="not_applicable",
            field="res",
        )
    del transf
    fig = Figure(figsize=(6.4, 5.2), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    se = np.sqrt(res.vi)
    top = max(float(se.max()) * 1.08, 1e-12)
    grid = np.linspace(0, top, 100)
    z = dist.crit_norm(res.alpha)
    if contours:
        shades = ["#f0f0f0", "#d9d9d9", "#bdbdbd", "#969696"]
        for lvl, color in sorted(zip(contours, shades, strict=False), reverse=True):
            zc = dist.crit_norm(1 - lvl)
            ax.fill_betweenx(
                grid, -zc * grid, zc * grid, color=color, lw=0, zorder=0, label=f"p > {1 - lvl:.2f}"
            )
        ax.axvline(0.0, color="#555", lw=0.8)
    else:
        ax.fill_betweenx(
            grid, res.estimate - z * grid, res.estimate + z * grid, color="#eef3f8", lw=0, zorder=0
        )
        for sign in (-1, 1):
            ax.plot(res.estimate + sign * z * grid, grid, color="#7f97b2", lw=0.8, ls="--")
    ax.axvline(res.estimate, color=_POOLED, lw=1.0, label=f"pooled estimate ({res.method})")
    ax.plot(res.yi, se, "o", color=_STUDY, ms=5, label="studies", zorder=3)
    if trimfill is not None and trimfill.k0 > 0:
        fy, fv = trimfill.yi[trimfill.fill], trimfill.vi[trimfill.fill]
        ax.plot(
            fy,
            np.sqrt(fv),
            "o",
            mfc="white",
            mec=_STUDY,
            ms=5,
            zorder=3,
            label=f"filled by trim-and-fill ({trimfill.k0})",
        )
        ax.axvline(
            trimfill.fit.estimate, color=_POOLED, lw=1.0, ls="--", label="trim-and-fill estimate"
        )
    ax.set_ylim(top, 0)
    ax.set_ylabel("Standard error")
    measure = res.measure or ""
    default = (
        ("log " + _RATIO[measure].lower())
        if measure in _RATIO
        else _LABEL.get(measure, "Effect size")
    )
    ax.set_xlabel(xlabel or default.capitalize())
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7.5, framealpha=0.9, loc="best")
    ax.set_title(title or f"Funnel plot (k = {res.k})", fontsize=10)
    _save(fig, out)
    return fig
