"""One row per child: the assessment nearest a target month, and subgroup columns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd.conventions import Window, age_band, dose_group, window

#: the subgroup names ``by=`` accepts: table columns or derived bands
BY_CHOICES = ("group", "product", "gmfcs", "age_band", "route", "dose_group", "site")


def visit_at(table: pd.DataFrame, months: float) -> tuple[pd.DataFrame, Window]:
    """Each child's assessment nearest ``months`` inside its window (ties: the earlier).

    Children without an assessment in the window are left out. ``table`` must be validated.
    """
    win = window(months)
    m = table["months"].to_numpy(float)
    inside = np.flatnonzero((m >= win.lower) & (m <= win.upper) & (m > 0))
    if len(inside) == 0:
        return table.iloc[:0].copy(), win
    codes = pd.factorize(table["child"].to_numpy()[inside])[0]
    order = np.lexsort((m[inside], np.abs(m[inside] - months), codes))
    _, first = np.unique(codes[order], return_index=True)
    return table.iloc[inside[order[first]]].reset_index(drop=True), win


def baseline_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each child's baseline assessment (months <= 0; the latest such row)."""
    base = table[table["months"] <= 0].sort_values(["child", "months"], kind="mergesort")
    return base.drop_duplicates("child", keep="last").reset_index(drop=True)


def with_subgroups(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``age_band`` and ``dose_group`` columns added where their source exists."""
    out = frame.copy()
    if "age_baseline_years" in out.columns:
        out["age_band"] = age_band(out["age_baseline_years"])
    if "dose_cells_per_kg" in out.columns:
        out["dose_group"] = dose_group(out["dose_cells_per_kg"])
    return out


def normalise_by(by: str | Sequence[str] | None) -> list[str]:
    """``by`` as a list of subgroup names, each checked against :data:`BY_CHOICES`."""
    names = [] if by is None else [by] if isinstance(by, str) else list(by)
    for name in names:
        if name not in BY_CHOICES:
            raise OutcomeError(
                f"by {name!r}: allowed {', '.join(BY_CHOICES)}",
                code="invalid_choice",
                field="by",
                params={"value": name, "allowed": list(BY_CHOICES)},
            )
    return names


def groups_of(frame: pd.DataFrame, by: list[str]) -> list[tuple[str, str, pd.DataFrame]]:
    """("all", "all", frame) then (subgroup, level, rows) for every level of every ``by``."""
    out: list[tuple[str, str, pd.DataFrame]] = [("all", "all", frame)]
    for name in by:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            levels = [lv for lv in column.cat.categories if (column == lv).any()]
        else:
            present = [v for v in column.dropna().unique().tolist() if v != ""]
            levels = sorted(present, key=lambda v: (str(type(v)), v))
        for level in levels:
            label = str(int(level)) if isinstance(level, (float, np.floating)) else str(level)
            out.append((name, label, frame[column == level]))
        missing = column.isna() | (column.astype(str) == "")
        if missing.any():
            out.append((name, "(missing)", frame[missing]))
    return out
