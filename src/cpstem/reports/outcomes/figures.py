"""The plots of the outcomes report (matplotlib, Agg): each function writes one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from cpstem.plotting import literal_text

CELLS = "#2471a3"
CONTROL = "#c0392b"


def _save(fig: object, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]


def excess_plot(table: pd.DataFrame, path: Path) -> None:
    """Mean excess change per subgroup level with its t CI (``excess_change`` table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [
        literal_text(f"{s}: {lvl}") for s, lvl in zip(table.subgroup, table.level, strict=True)
    ]
    y = np.arange(len(table))[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(table) + 1.5))
    ax.errorbar(
        table["mean"],
        y,
        xerr=[table["mean"] - table["ci_lower"], table["ci_upper"] - table["mean"]],
        fmt="o",
        color=CELLS,
        capsize=3,
    )
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_xlabel("excess GMFM-66 change (observed - expected), mean and 95% CI")
    fig.tight_layout()
    _save(fig, path)


def responder_plot(table: pd.DataFrame, path: Path) -> None:
    """Proportion of responders per group and criterion with exact CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    criteria = list(dict.fromkeys(table.criterion))
    levels = list(dict.fromkeys(table.level))
    width = 0.8 / max(len(levels), 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(criteria))
    for i, lvl in enumerate(levels):
        part = table[table.level == lvl].set_index("criterion").reindex(criteria)
        p = part["proportion"].to_numpy(float)
        err = [p - part["ci_lower"].to_numpy(float), part["ci_upper"].to_numpy(float) - p]
        ax.bar(x + i * width, p, width, yerr=err, capsize=3, label=literal_text(str(lvl)))
    ax.set_xticks(x + width * (len(levels) - 1) / 2)
    ax.set_xticklabels([c.replace("_", " ") for c in criteria])
    ax.set_ylabel("proportion of children (95% exact CI)")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False)
    fig.tight_layout()
    _save(fig, path)


def trajectory_table(table: pd.DataFrame, visits: np.ndarray) -> pd.DataFrame:
    """Mean GMFM-66 by group at each scheduled month (assessments at the nearest one), t CI."""
    m = table["months"].to_numpy(float)
    nearest = visits[np.abs(m[:, None] - visits[None, :]).argmin(axis=1)]
    frame = pd.DataFrame(
        {"group": table["group"].astype(str), "visit": nearest, "gmfm66": table["gmfm66"]}
    ).dropna()
    rows = []
    for (group, visit), part in frame.groupby(["group", "visit"], sort=True):
        v = part["gmfm66"].to_numpy(float)
        n = len(v)
        mean = float(v.mean())
        half = (
            float(sps.t.ppf(0.975, n - 1)) * float(v.std(ddof=1)) / np.sqrt(n) if n > 1 else np.nan
        )
        rows.append(
            {
                "group": group,
                "months": float(visit),
                "n": n,
                "mean": mean,
                "ci_lower": mean - half,
                "ci_upper": mean + half,
            }
        )
    return pd.DataFrame(rows)


def trajectory_plot(traj: pd.DataFrame, path: Path) -> None:
    """Mean GMFM-66 over follow-up by group with 95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for group, color in (("control", CONTROL), ("cells", CELLS)):
        part = traj[traj.group == group]
        if part.empty:
            continue
        ax.plot(part.months, part["mean"], marker="o", color=color, label=group)
        ax.fill_between(part.months, part.ci_lower, part.ci_upper, color=color, alpha=0.2)
    ax.set_xlabel("months since baseline")
    ax.set_ylabel("GMFM-66, mean and 95% CI")
    ax.legend(frameon=False)
    fig.tight_layout()
    _save(fig, path)


def dose_plot(curves: pd.DataFrame, points: pd.DataFrame, path: Path) -> None:
    """Excess change vs log10 dose: the children, the linear fit and the spline with bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(points["log10_dose"], points["excess"], s=8, color="grey", alpha=0.5)
    overall = curves[curves["product"] == "all"] if "product" in curves else curves
    for model, color in (("linear", CELLS), ("spline", CONTROL)):
        part = overall[overall["model"] == model]
        if part.empty:
            continue
        ax.plot(part.log10_dose, part.fit, color=color, label=model)
        ax.fill_between(part.log10_dose, part.ci_lower, part.ci_upper, color=color, alpha=0.15)
    ax.axhline(0, color="grey", linewidth=1)
    ax.set_xlabel("log10 cells per kg")
    ax.set_ylabel("excess GMFM-66 change")
    ax.legend(frameon=False)
    fig.tight_layout()
    _save(fig, path)


def love_png(balance: pd.DataFrame, path: Path) -> None:
    """The IPTW love plot (:func:`cpstem.outcomes.ipd.love_plot`) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from cpstem.outcomes.ipd import love_plot

    _save(love_plot(balance), path)
