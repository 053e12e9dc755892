"""The TSA plot in the style of the Copenhagen Trial Sequential Analysis program."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from scipy.special import ndtri

from cpstem.plotting import literal_text

if TYPE_CHECKING:
    from cpstem.design.tsa import TSAResult

_BLUE = "#1f4e9c"
_RED = "#c0392b"
_GREEN = "#2e8b57"


@literal_text
def tsa_plot(result: TSAResult, ax: Any = None, title: str | None = None) -> Figure:
    """Cumulative Z-curve (blue), monitoring boundaries for benefit and harm (red), futility
    wedge (red, dashed), conventional ±z_{1−α/2} (green, dashed) and the required information
    size (vertical line), against the cumulative number of participants."""
    if ax is None:
        fig = Figure(figsize=(8, 5))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    acc = np.asarray(result.accrued)
    required = result.required
    x = np.concatenate([[0.0], acc])
    ax.plot(
        x,
        np.concatenate([[0.0], result.z]),
        color=_BLUE,
        marker="s",
        markersize=4,
        lw=2,
        label="Z-curve",
    )
    bx = np.append(acc[acc < required], required)
    bz = np.append(np.asarray(result.upper)[acc < required], result.final_upper)
    shown = np.isfinite(bz)
    if shown.any():
        ax.plot(
            bx[shown],
            bz[shown],
            color=_RED,
            lw=1.6,
            marker="o",
            markersize=3,
            label="Monitoring boundaries",
        )
        ax.plot(bx[shown], -bz[shown], color=_RED, lw=1.6, marker="o", markersize=3)
    fut = np.asarray(result.futility)
    if np.isfinite(fut).any():
        ok = np.isfinite(fut)
        fx = np.append(acc[ok & (acc < required)], required)
        fz = np.append(fut[ok & (acc < required)], result.final_upper)
        ax.plot(fx, fz, color=_RED, lw=1.2, ls="--", label="Futility boundaries")
        ax.plot(fx, -fz, color=_RED, lw=1.2, ls="--")
    zc = float(ndtri(1 - result.alpha / 2))
    right = max(required, float(acc[-1])) * 1.08
    for s in (1, -1):
        ax.axhline(
            s * zc, color=_GREEN, ls="--", lw=1.2, label="Conventional boundary" if s == 1 else None
        )
    ax.axhline(0, color="0.4", lw=0.8)
    ax.axvline(required, color="0.2", lw=1.2, ls=":")
    name = "DARIS" if result.information.adjustment == "diversity" else "RIS"
    ax.text(
        required,
        0.3,
        f" {name} = {math.ceil(required)}",
        rotation=90,
        va="bottom",
        ha="right",
        fontsize=9,
    )
    top = float(np.nanmax(np.abs(np.concatenate([result.z, bz[shown] if shown.any() else [zc]]))))
    lim = min(max(top, zc) + 1.0, 9.0)
    ax.set_ylim(-lim, lim)
    ax.set_xlim(0, right)
    ax.set_xlabel("Cumulative number of participants")
    ax.set_ylabel("Cumulative Z-score")
    # z is signed so that positive values favour the intervention (see tsa(benefit=...))
    ax.text(
        0.01,
        0.98,
        "Favours intervention",
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        color="0.3",
    )
    ax.text(
        0.01, 0.02, "Favours control", transform=ax.transAxes, va="bottom", fontsize=8, color="0.3"
    )
    ax.set_title(title or "Trial sequential analysis")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return fig
