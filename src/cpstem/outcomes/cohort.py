"""Cohort summaries: observed-minus-expected change by product and GMFCS level (pandas)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

COLUMNS = ("product", "gmfcs", "excess_population", "excess_anchored")


def change_table(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """A frame of per-administration results (columns :data:`COLUMNS`)."""
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def summarise_change(
    table: pd.DataFrame, by: tuple[str, ...] = ("product", "gmfcs")
) -> pd.DataFrame:
    """n, mean and SD of the excess change (both methods) per group, sorted by group."""
    if table.empty:
        return pd.DataFrame(
            columns=[
                *by,
                "n",
                "mean_excess_population",
                "sd_excess_population",
                "mean_excess_anchored",
                "sd_excess_anchored",
            ]
        )
    g = table.groupby(list(by), sort=True, dropna=False)
    out = g.agg(
        n=("excess_population", "size"),
        mean_excess_population=("excess_population", "mean"),
        sd_excess_population=("excess_population", "std"),
        mean_excess_anchored=("excess_anchored", "mean"),
        sd_excess_anchored=("excess_anchored", "std"),
    )
    return out.reset_index()
