"""The analysis conventions of ``data/ipd_analysis.toml``: visit windows, age bands, dose groups.

They are analysis policy (the file says so and every result carries the window it used).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpstem.outcomes.catalog import data
from cpstem.outcomes.errors import OutcomeError


@dataclass(frozen=True)
class Window:
    """The months after baseline accepted as "the visit at ``target`` months"."""

    target: float
    lower: float
    upper: float

    def label(self) -> str:
        return f"{self.target:g} months (window {self.lower:g}-{self.upper:g})"


def window(months: float) -> Window:
    """The analysis window around ``months`` (from the data file, or the default rule)."""
    if not np.isfinite(months) or months <= 0:
        raise OutcomeError(
            f"months {months}: must be a number above 0",
            code="out_of_range",
            field="months",
            params={"value": months},
        )
    spec = data("ipd_analysis")["windows"]
    for row in spec["target"]:
        if float(row["months"]) == float(months):
            return Window(float(months), months - row["before"], months + row["after"])
    half = max(spec["default_fraction"] * months, spec["default_min_months"])
    return Window(float(months), max(months - half, 0.0), months + half)


def _bands(values: pd.Series, section: str) -> pd.Series:
    rows = data("ipd_analysis")[section]
    out = pd.Series(pd.NA, index=values.index, dtype="object")
    for row in rows:
        inside = (values >= row["lower"]) & (values < row["upper"])
        out[inside] = row["label"]
    labels = [row["label"] for row in rows]
    return pd.Series(pd.Categorical(out, categories=labels), index=values.index)


def age_band(age_years: pd.Series) -> pd.Series:
    """Age at baseline as the file's bands (categorical, ordered as in the file)."""
    return _bands(age_years.astype(float), "age_bands")


def dose_group(dose_cells_per_kg: pd.Series) -> pd.Series:
    """Dose per kg as the file's groups (missing for children without a dose)."""
    return _bands(dose_cells_per_kg.astype(float), "dose_groups")
