"""Covariate balance between treated and controls: standardised differences and a love plot."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: the conventional threshold of an acceptable absolute standardised difference (Austin 2009)
SMD_THRESHOLD = 0.1


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    mean = float(np.sum(w * x) / np.sum(w))
    var = float(np.sum(w * (x - mean) ** 2) / np.sum(w))
    return mean, var


def standardised_differences(
    covariates: pd.DataFrame, treated: np.ndarray, weights: np.ndarray | None = None
) -> pd.DataFrame:
    """Per covariate: means by group (weighted if ``weights``) and the standardised difference
    ``(mean_t - mean_c) / sqrt((var_t + var_c) / 2)`` with the unweighted variances in the
    denominator (Austin & Stuart 2015), so before and after share one scale."""
    t = np.asarray(treated, dtype=bool)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    rows = []
    for name in covariates.columns:
        x = covariates[name].to_numpy(float)
        var_t = float(np.var(x[t], ddof=1))
        var_c = float(np.var(x[~t], ddof=1))
        mt, _ = _weighted_mean_var(x[t], w[t])
        mc, _ = _weighted_mean_var(x[~t], w[~t])
        scale = np.sqrt((var_t + var_c) / 2)
        rows.append(
            {
                "covariate": name,
                "mean_treated": mt,
                "mean_control": mc,
                "smd": (mt - mc) / scale if scale > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def balance_table(
    covariates: pd.DataFrame, treated: np.ndarray, weights: np.ndarray | None
) -> pd.DataFrame:
    """covariate, smd_before, smd_after (``after`` NaN without weights)."""
    before = standardised_differences(covariates, treated)
    out = pd.DataFrame({"covariate": before.covariate, "smd_before": before.smd})
    if weights is None:
        out["smd_after"] = np.nan
    else:
        out["smd_after"] = standardised_differences(covariates, treated, weights).smd.to_numpy()
    return out


def love_plot(
    balance: pd.DataFrame,
    ax: Axes | None = None,
    threshold: float = SMD_THRESHOLD,
    labels: Sequence[str] = ("unweighted", "weighted"),
) -> Figure:
    """A love plot: absolute standardised difference per covariate, before and after weighting.

    ``balance`` is a result's ``balance`` frame (covariate, smd_before, smd_after).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 0.5 * len(balance) + 1.5))
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    y = np.arange(len(balance))[::-1]
    ax.scatter(np.abs(balance.smd_before), y, marker="o", label=labels[0], color="#c0392b")
    if balance.smd_after.notna().any():
        ax.scatter(np.abs(balance.smd_after), y, marker="s", label=labels[1], color="#2471a3")
    ax.axvline(threshold, linestyle="--", color="grey", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(balance.covariate)
    ax.set_xlabel("absolute standardised difference")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    assert isinstance(fig, Figure)
    return fig
