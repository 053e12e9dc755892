"""Risk-of-bias figures (robvis style) and slide-ready forest plots (matplotlib object API).

* :func:`traffic_light` - one row per study, one circle per RoB 2 domain and overall
  (green "+" low, yellow "-" some concerns, red "x" high), as robvis's ``rob_traffic_light``;
* :func:`rob_summary` - per domain, the share of studies (or of weight) at each judgement, as
  robvis's ``rob_summary``;
* :func:`forest_with_rob` - :func:`~cpstem.evidence.plots.forest` with a RoB column (the overall
  judgement of each study) on the right;
* :func:`slide_forest` - a 16:9 forest plot with large fonts for a slide, optionally with a
  reference estimate (e.g. a published IPD meta-analysis) drawn under the pooled one.

Colours are robvis's (McGuinness & Higgins, Res Synth Methods 2021;12:55-61).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon
from matplotlib.transforms import blended_transform_factory

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.plots import forest
from cpstem.evidence.rma import RMAResult
from cpstem.plotting import literal_text, save_figure

__all__ = ["DOMAIN_TITLES", "forest_with_rob", "rob_summary", "slide_forest", "traffic_light"]

#: robvis colours and symbols per judgement.
STYLE = {
    "low": ("#02C100", "+"),
    "some concerns": ("#E2DF07", "-"),
    "high": ("#BF0000", "x"),
    None: ("#BBBBBB", "?"),
}
DOMAIN_TITLES = {
    "d1_randomisation": "D1 Randomisation process",
    "d2_deviations": "D2 Deviations from intended interventions",
    "d3_missing_data": "D3 Missing outcome data",
    "d4_measurement": "D4 Measurement of the outcome",
    "d5_selection": "D5 Selection of the reported result",
    "overall": "Overall",
}


def _check(rob: pd.DataFrame) -> None:
    missing = [c for c in ("study", *DOMAIN_TITLES) if c not in rob.columns]
    if missing:
        raise EvidenceError(
            f"the RoB table needs the columns {missing}",
            code="missing_column",
            field=missing[0],
            params={"missing": missing},
        )


def _save(fig: Figure, out: str | Path | None) -> None:
    save_figure(fig, out, EvidenceError)


@literal_text
def traffic_light(
    rob: pd.DataFrame, out: str | Path | None = None, title: str | None = None
) -> Figure:
    """Traffic-light plot. ``rob``: columns ``study`` and the five domains and ``overall``
    (``d1_randomisation`` ... ``d5_selection``, ``overall``) with ``low`` / ``some concerns`` /
    ``high``."""
    _check(rob)
    cols = list(DOMAIN_TITLES)
    n = len(rob)
    height = 2.3 + 0.45 * n  # inches: title 0.6, column heads, rows, legend and key 1.2
    fig = Figure(figsize=(7.5, height), dpi=150)
    ax = fig.add_axes((0.24, 1.25 / height, 0.55, (0.45 * n + 0.2) / height))
    for i, (_, r) in enumerate(rob.iterrows()):
        y = n - i
        for j, c in enumerate(cols):
            v = r[c] if isinstance(r[c], str) else None
            color, sym = STYLE.get(v, STYLE[None])
            ax.scatter([j + 1], [y], s=420, color=color, edgecolors="#333", linewidths=0.5)
            ax.text(j + 1, y, sym, ha="center", va="center", fontsize=11, fontweight="bold")
    ax.set_xlim(0.4, len(cols) + 0.6)
    ax.set_ylim(0.4, n + 0.6)
    ax.set_xticks(range(1, len(cols) + 1), ["D1", "D2", "D3", "D4", "D5", "Overall"], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(range(n, 0, -1), [str(s) for s in rob["study"]], fontsize=9)
    for side in ("right", "bottom", "left", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    legend = [
        Patch(color=STYLE[k][0], label=f"{STYLE[k][1]} {k}")
        for k in ("low", "some concerns", "high")
    ]
    fig.legend(
        handles=legend,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.62 / height),
        fontsize=8,
        frameon=False,
        ncols=3,
    )
    key = [t.split(" ", 1) for t in list(DOMAIN_TITLES.values())[:5]]
    lines = ["; ".join(f"{c}: {t}" for c, t in key[:3]), "; ".join(f"{c}: {t}" for c, t in key[3:])]
    fig.text(0.5, 0.12 / height, "\n".join(lines), fontsize=6.5, color="#444", ha="center")
    if title:
        fig.suptitle(title, fontsize=11)
    _save(fig, out)
    return fig


@literal_text
def rob_summary(
    rob: pd.DataFrame,
    out: str | Path | None = None,
    weights: Sequence[float] | None = None,
    title: str | None = None,
) -> Figure:
    """Summary plot: per domain, the percentage of studies (or of ``weights``) judged low, some
    concerns and high (stacked horizontal bars, overall at the bottom)."""
    _check(rob)
    w = np.ones(len(rob)) if weights is None else np.asarray(weights, dtype=float)
    fig = Figure(figsize=(8, 3.4), dpi=150)
    ax = fig.add_axes((0.36, 0.22, 0.6, 0.68))
    cols = list(DOMAIN_TITLES)
    for i, c in enumerate(cols):
        y = len(cols) - i
        left = 0.0
        for level in ("low", "some concerns", "high", None):
            mask = np.array([(v if isinstance(v, str) else None) == level for v in rob[c]])
            share = 100 * w[mask].sum() / w.sum() if w.sum() > 0 else 0.0
            if share > 0:
                ax.barh(y, share, left=left, color=STYLE[level][0], edgecolor="white", height=0.7)
                left += share
    ax.set_yticks(range(len(cols), 0, -1), list(DOMAIN_TITLES.values()), fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of studies" if weights is None else "% of weight", fontsize=9)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    legend = [Patch(color=STYLE[k][0], label=k) for k in ("low", "some concerns", "high")]
    fig.legend(handles=legend, loc="lower center", fontsize=8, frameon=False, ncols=3)
    if title:
        fig.suptitle(title, fontsize=11)
    _save(fig, out)
    return fig


def forest_with_rob(
    res: RMAResult,
    rob: Sequence[str | None],
    out: str | Path | None = None,
    **kwargs: Any,
) -> Figure:
    """:func:`~cpstem.evidence.plots.forest` of a model without moderators with a "RoB"
    column: the RoB 2 overall judgement of each study (``rob``, aligned with the model's
    studies) as a robvis circle at the right of its row."""
    if len(rob) != res.k:
        raise EvidenceError(
            f"{len(rob)} RoB judgements for {res.k} studies",
            code="inconsistent",
            field="rob",
            params={"rob": len(rob), "k": res.k},
        )
    fig = forest(res, **kwargs)
    ax = fig.axes[0]
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    n_rows = res.k + 2  # studies, pooled diamond, heterogeneity line (plots.forest layout)
    ys = np.arange(n_rows, 0, -1, dtype=float)
    for y, judgement in zip(ys[: res.k], rob, strict=True):
        color, sym = STYLE.get(judgement, STYLE[None])
        ax.plot(
            [1.7],
            [y],
            ls="",
            marker="o",
            ms=10,
            mfc=color,
            mec="#333",
            mew=0.5,
            transform=trans,
            clip_on=False,
        )
        ax.text(
            1.7,
            y,
            sym,
            transform=trans,
            ha="center",
            va="center",
            fontsize=7,
            fontweight="bold",
            clip_on=False,
        )
    ax.text(
        1.7,
        n_rows + 0.6,
        "RoB",
        transform=trans,
        ha="center",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        clip_on=False,
    )
    _save(fig, out)
    return fig


@literal_text
def slide_forest(
    res: RMAResult,
    out: str | Path | None = None,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    rob: Sequence[str | None] | None = None,
    reference: tuple[str, float, float, float] | None = None,
) -> Figure:
    """A 16:9 forest plot for a slide (16 x 9 in, fonts >= 18 pt): studies, the pooled diamond
    with its prediction interval, and optionally a RoB column and a ``reference`` estimate
    ``(label, estimate, lower, upper)`` drawn as an open diamond (e.g. an IPD meta-analysis)."""
    if not res.int_only:
        raise EvidenceError(
            "a forest plot needs a model without moderators",
            code="not_applicable",
            field="res",
        )
    z = dist.crit_norm(res.alpha)
    se = np.sqrt(res.vi)
    rows: list[tuple] = [
        ("study", res.labels[i], res.yi[i], res.yi[i] - z * se[i], res.yi[i] + z * se[i])
        for i in range(res.k)
    ]
    rows.append(("pooled", f"Pooled ({res.method})", res.estimate, res.ci_lower, res.ci_upper))
    if reference is not None:
        rows.append(("reference", *reference))
    n = len(rows)
    fig = Figure(figsize=(16, 9), dpi=120)
    ax = fig.add_axes((0.3, 0.14, 0.42, 0.72))
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    weights = res.weights
    xs = []
    for i, (kind, lab, e, lo, hi) in enumerate(rows):
        y = n - i
        xs += [lo, hi]
        if kind == "study":
            size = 10 + 18 * np.sqrt(weights[i] / max(weights))
            ax.plot([lo, hi], [y, y], color="#1f3a5f", lw=2.5)
            ax.plot([e], [y], marker="s", ms=size, color="#1f3a5f")
        else:
            filled = kind == "pooled"
            color = "#b2182b" if filled else "#555555"
            ax.add_patch(
                Polygon(
                    [(lo, y), (e, y + 0.3), (hi, y), (e, y - 0.3)],
                    closed=True,
                    facecolor=color if filled else "white",
                    edgecolor=color,
                    lw=2.5,
                )
            )
            if filled and res.method != "FE" and res.k > 1 and res.pi_lower is not None:
                ax.plot([res.pi_lower, lo], [y, y], color=color, lw=2, ls=(0, (3, 2)))
                ax.plot([hi, res.pi_upper], [y, y], color=color, lw=2, ls=(0, (3, 2)))
                xs += [res.pi_lower, res.pi_upper]
        weight = "bold" if kind != "study" else "normal"
        ax.text(
            -0.62,
            y,
            str(lab),
            transform=trans,
            ha="left",
            va="center",
            fontsize=20,
            fontweight=weight,
            clip_on=False,
        )
        ax.text(
            1.5,
            y,
            f"{e:.2f} [{lo:.2f}, {hi:.2f}]",
            transform=trans,
            ha="right",
            va="center",
            fontsize=20,
            fontweight=weight,
            family="monospace",
            clip_on=False,
        )
        if rob is not None and kind == "study":
            color, sym = STYLE.get(rob[i], STYLE[None])
            ax.plot(
                [1.6],
                [y],
                ls="",
                marker="o",
                ms=22,
                mfc=color,
                mec="#333",
                transform=trans,
                clip_on=False,
            )
            ax.text(
                1.6,
                y,
                sym,
                transform=trans,
                ha="center",
                va="center",
                fontsize=16,
                fontweight="bold",
                clip_on=False,
            )
    if rob is not None:
        ax.text(
            1.6,
            n + 0.6,
            "RoB",
            transform=trans,
            ha="center",
            fontsize=20,
            fontweight="bold",
            clip_on=False,
        )
    ax.axvline(0.0, color="#444", lw=1.2)
    finite = [x for x in [*xs, 0.0] if np.isfinite(x)]
    pad = (max(finite) - min(finite)) * 0.05 + 1e-9
    ax.set_xlim(min(finite) - pad, max(finite) + pad)
    ax.set_ylim(0.4, n + 0.9)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=18)
    ax.set_xlabel(xlabel or res.measure or "", fontsize=20)
    lvl = f"{100 * (1 - res.alpha):g}%"
    ax.text(
        1.5,
        n + 0.6,
        f"Estimate [{lvl} CI]",
        transform=trans,
        ha="right",
        fontsize=20,
        fontweight="bold",
        clip_on=False,
    )
    if title:
        fig.suptitle(title, fontsize=28, fontweight="bold", y=0.96)
    fig.text(
        0.3,
        0.03,
        f"I² = {res.i2:.0f}%, τ² = {res.tau2:.2f}; dashed: {lvl} prediction interval",
        fontsize=16,
        color="#444",
    )
    _save(fig, out)
    return fig
