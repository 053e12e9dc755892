"""The analysis table: one row per GMFM-66 assessment, the contract every IPD analysis reads.

The column names are a contract with users' scripts (``cpstem export --analysis``):

=============================  ======================================================  ========
column                         meaning                                                 type
=============================  ======================================================  ========
``child``                      pseudonymised research ID of the child                  text
``site``                       treating site                                           text
``group``                      enrolment group: ``cells`` or ``control`` (concurrent   text
                               natural-history / rehabilitation-only)
``product``                    cell product (empty for controls)                       text
``route``                      route of administration (empty for controls)            text
``dose_cells_per_kg``          cells per kg body weight (first administration;         number
                               empty for controls)
``gmfcs``                      GMFCS level at baseline, 1–5                            integer
``age_baseline_years``         age at baseline in years                                number
``gmfm66_baseline``            GMFM-66 score at baseline                               number
``months``                     months since baseline (controls: enrolment;             number
                               treated: first administration)
``gmfm66``                     GMFM-66 score at this assessment                        number
``gmfm66_se``                  standard error of that GMFM-66 score                    number
``expected_change_population`` expected change since baseline, population curves      number
``expected_change_anchored``   expected change since baseline, anchored to the child   number
``excess_population``          observed minus expected change (population)             number
``excess_anchored``            observed minus expected change (anchored)               number
=============================  ======================================================  ========

:func:`validate_table` checks the columns an analysis needs and raises :class:`OutcomeError`
with ``code`` ``missing_column`` / ``wrong_type`` / ``out_of_range`` / ``empty_table`` and the
column as ``field``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from cpstem.outcomes.errors import OutcomeError

TEXT = "text"
NUMBER = "number"
INTEGER = "integer"

#: column -> (type, description)
COLUMNS: Mapping[str, tuple[str, str]] = {
    "child": (TEXT, "pseudonymised research ID of the child"),
    "site": (TEXT, "treating site"),
    "group": (TEXT, "enrolment group: 'cells' or 'control'"),
    "product": (TEXT, "cell product (empty for controls)"),
    "route": (TEXT, "route of administration (empty for controls)"),
    "dose_cells_per_kg": (NUMBER, "cells per kg body weight (empty for controls)"),
    "gmfcs": (INTEGER, "GMFCS level at baseline, 1-5"),
    "age_baseline_years": (NUMBER, "age at baseline in years"),
    "gmfm66_baseline": (NUMBER, "GMFM-66 score at baseline"),
    "months": (NUMBER, "months since baseline"),
    "gmfm66": (NUMBER, "GMFM-66 score at this assessment"),
    "gmfm66_se": (NUMBER, "standard error of the GMFM-66 score"),
    "expected_change_population": (NUMBER, "expected change since baseline (population)"),
    "expected_change_anchored": (NUMBER, "expected change since baseline (anchored)"),
    "excess_population": (NUMBER, "observed minus expected change (population)"),
    "excess_anchored": (NUMBER, "observed minus expected change (anchored)"),
}

GROUPS = ("control", "cells")
GMFCS_LEVELS = (1, 2, 3, 4, 5)


def _fail(message: str, code: str, column: str | None, **params: object) -> OutcomeError:
    return OutcomeError(message, code=code, field=column, params={"column": column, **params})


def validate_table(table: pd.DataFrame, required: Iterable[str] | None = None) -> pd.DataFrame:
    """A checked copy of ``table`` with the ``required`` contract columns (default: all).

    Contract columns that are not required are left out of the copy; other columns pass through.

    Numbers are converted to float (empty cells to NaN), ``gmfcs`` must be 1–5 where given,
    ``group`` becomes a categorical with ``control`` as the reference level. Columns that are not
    part of the contract pass through unchecked.
    """
    if not isinstance(table, pd.DataFrame):
        raise _fail(
            f"the analysis table must be a pandas DataFrame, not {type(table).__name__}",
            "wrong_type",
            None,
            type=type(table).__name__,
        )
    names = list(COLUMNS) if required is None else list(dict.fromkeys(required))
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise _fail(
            f"the analysis table has no column {missing[0]!r} (needed: {', '.join(names)})",
            "missing_column",
            missing[0],
            missing=missing,
        )
    if len(table) == 0:
        raise _fail("the analysis table has no rows", "empty_table", None)
    # the required contract columns and any non-contract columns (contract columns not asked
    # for are left out: nothing checked them); built as one dict, then one frame
    columns: dict[str, object] = {}
    for name in table.columns:
        if name in names or name not in COLUMNS:
            columns[name] = table[name]
    for name in names:
        kind = COLUMNS.get(name, (None, ""))[0]
        if kind in (NUMBER, INTEGER):
            columns[name] = _numeric(table[name], name)
        if name == "gmfcs":
            values = np.asarray(columns[name], dtype=float)
            bad = np.flatnonzero(~np.isin(values, GMFCS_LEVELS) & ~np.isnan(values))
            if len(bad):
                value = _scalar(table[name].iloc[bad[0]])
                raise _fail(
                    f"gmfcs {value!r}: allowed 1, 2, 3, 4 or 5", "out_of_range", name, value=value
                )
        if name == "group":
            raw = table[name].to_numpy(object)
            known = (raw == GROUPS[0]) | (raw == GROUPS[1])
            bad = np.flatnonzero(~known & pd.notna(raw))
            if len(bad):
                raise _fail(
                    f"group {raw[bad[0]]!r}: allowed 'cells' or 'control'",
                    "out_of_range",
                    name,
                    value=str(raw[bad[0]]),
                )
            columns[name] = pd.Categorical(raw, categories=list(GROUPS))
    return pd.DataFrame(columns, index=table.index, copy=True)


def _scalar(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        raise _fail(f"column {name!r} must hold numbers, not true/false", "wrong_type", name)
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(column.replace("", np.nan), errors="coerce")
    bad = column[converted.isna() & column.notna() & (column.astype(str).str.strip() != "")]
    if len(bad):
        raise _fail(
            f"column {name!r} must hold numbers; found {bad.iloc[0]!r}",
            "wrong_type",
            name,
            value=str(bad.iloc[0]),
        )
    return converted.to_numpy(dtype=float, na_value=np.nan)
