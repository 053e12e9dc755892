"""Covariate balance between treated and controls: standardised differences and a love plot."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: the conventional threshold of an acceptable absolute standardised difference (Austin 2009)
SMD_THRESHOLD = 0.1


def standardised_differences(
    names: Sequence[str],
    covariates: np.ndarray,
    treated: np.ndarray,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per covariate (columns of ``covariates``, named by ``names``): means by group (weighted
    if ``weights``) and the standardised difference ``(mean_t - mean_c) / sqrt((var_t +
    var_c) / 2)`` with the unweighted variances in the denominator (Austin & Stuart 2015), so
    before and after weighting share one scale."""
    t = np.asarray(treated, dtype=bool)
    x = np.asarray(covariates, dtype=float).reshape(len(t), -1)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    wt, wc = w[t], w[~t]
    mean_t = wt @ x[t] / wt.sum()
    mean_c = wc @ x[~t] / wc.sum()
    scale = np.sqrt((np.var(x[t], axis=0, ddof=1) + np.var(x[~t], axis=0, ddof=1)) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        smd = np.where(scale > 0, (mean_t - mean_c) / scale, np.nan)
    return pd.DataFrame(
        {"covariate": list(names), "mean_treated": mean_t, "mean_control": mean_c, "smd": smd}
    )


def balance_table(
    names: Sequence[str],
    covariates: np.ndarray,
    treated: np.ndarray,
    weights: np.ndarray | None,
) -> pd.DataFrame:
    """covariate, smd_before, smd_after (``after`` NaN without weights)."""
    before = standardised_differences(names, covariates, treated)
    out = pd.DataFrame({"covariate": before.covariate, "smd_before": before.smd})
    if weights is None:
        out["smd_after"] = np.nan
    else:
        after = standardised_differences(names, covariates, treated, weights)
        out["smd_after"] = after.smd.to_numpy()
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
