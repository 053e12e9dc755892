"""Draw docs/images/ipd-excess.png for the README: a simulated cohort (cpstem.outcomes.ipd.
simulate_cohort, 400 children, true effect 3 GMFM-66 points per 12 months for cells; synthetic,
no real child). Run: python docs/ipd_figure.py"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cpstem.outcomes.ipd import excess_change, simulate_cohort, treatment_effect
from cpstem.reports.outcomes.figures import trajectory_table

table = simulate_cohort(400, visits=(0, 3, 6, 12, 24), effect=3.0, seed=11)
exc = excess_change(table, months=12, by="group").table
effect = treatment_effect(table, months=12)
traj = trajectory_table(table, np.array([0.0, 3.0, 6.0, 12.0, 24.0]))

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
colours = {"control": "#c0392b", "cells": "#2471a3", "all": "#555555"}
y = np.arange(len(exc))[::-1]
for yi, (_, r) in zip(y, exc.iterrows(), strict=True):
    c = colours[r["level"]]
    left.errorbar(
        r["mean"],
        yi,
        xerr=[[r["mean"] - r["ci_lower"]], [r["ci_upper"] - r["mean"]]],
        fmt="o",
        color=c,
        capsize=4,
    )
left.axvline(0, color="grey", lw=1)
left.set_yticks(y)
left.set_yticklabels([f"{r.level} (n {r.n})" for r in exc.itertuples()])
left.set_xlabel("excess GMFM-66 change at 12 months\n(observed - expected), mean and 95% CI")
left.set_title(
    f"cells - controls (ANCOVA): {effect.estimate:.2f} [{effect.ci_lower:.2f}, "
    f"{effect.ci_upper:.2f}]",
    fontsize=10,
)
for group in ("control", "cells"):
    part = traj[traj["group"] == group]
    right.plot(part["months"], part["mean"], marker="o", color=colours[group], label=group)
    right.fill_between(
        part["months"], part["ci_lower"], part["ci_upper"], color=colours[group], alpha=0.2
    )
right.set_xlabel("months since baseline")
right.set_ylabel("GMFM-66, mean and 95% CI")
right.legend(frameon=False)
right.set_title("mean trajectories (simulated cohort)", fontsize=10)
fig.tight_layout()
fig.savefig(Path(__file__).parent / "images" / "ipd-excess.png", dpi=110)
