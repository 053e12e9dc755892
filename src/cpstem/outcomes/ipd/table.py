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
    names = list(COLUMNS) if required is None else list(dict.fromkeys(required))
    _check_required(table, names, "analysis")
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


# --- the spasticity table -------------------------------------------------------------------

#: The spasticity table (``cpstem export --analysis`` writes it beside the analysis table): one
#: row per child, muscle group, side and assessment.
#:
#: =====================  ================================================================  =======
#: column                 meaning                                                           type
#: =====================  ================================================================  =======
#: ``child``              pseudonymised research ID (as in the analysis table)              text
#: ``group``              ``cells`` or ``control``                                          text
#: ``muscle``             muscle group code (``measures`` spasticity codes, e.g.            text
#:                        ``hamstrings``)
#: ``side``               ``left`` or ``right``                                             text
#: ``months``             months since baseline (<= 0: before the first administration /    number
#:                        at enrolment)
#: ``mas``                Modified Ashworth grade on the ordinal coding 0-5                 integer
#:                        (0, 1, 1+ -> 2, 2 -> 3, 3 -> 4, 4 -> 5)
#: ``mas_label``          the grade as written: ``0``, ``1``, ``1+``, ``2``, ``3``, ``4``   text
#:                        (checked against ``mas`` where given; may be empty)
#: ``tardieu_r1_deg``     Tardieu R1, angle of catch at fast velocity (V3), degrees         number
#: ``tardieu_r2_deg``     Tardieu R2, passive range at slow velocity (V1), degrees          number
#: ``tardieu_quality``    Tardieu quality of the muscle reaction, 0-5                       integer
#: =====================  ================================================================  =======
SPASTICITY_COLUMNS: Mapping[str, tuple[str, str]] = {
    "child": (TEXT, "pseudonymised research ID of the child"),
    "group": (TEXT, "enrolment group: 'cells' or 'control'"),
    "muscle": (TEXT, "muscle group code"),
    "side": (TEXT, "'left' or 'right'"),
    "months": (NUMBER, "months since baseline"),
    "mas": (INTEGER, "Modified Ashworth grade, ordinal coding 0-5"),
    "mas_label": (TEXT, "Modified Ashworth grade as written: 0, 1, 1+, 2, 3, 4"),
    "tardieu_r1_deg": (NUMBER, "Tardieu R1 (angle of catch, fast), degrees"),
    "tardieu_r2_deg": (NUMBER, "Tardieu R2 (passive range, slow), degrees"),
    "tardieu_quality": (INTEGER, "Tardieu quality of muscle reaction, 0-5"),
}

#: MAS ordinal code -> label (the coding of ``measures``' classifications.toml)
MAS_LABELS = ("0", "1", "1+", "2", "3", "4")
SIDES = ("left", "right")


def _check_required(table: pd.DataFrame, names: list[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise _fail(
            f"the {what} table must be a pandas DataFrame, not {type(table).__name__}",
            "wrong_type",
            None,
            type=type(table).__name__,
        )
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise _fail(
            f"the {what} table has no column {missing[0]!r} (needed: {', '.join(names)})",
            "missing_column",
            missing[0],
            missing=missing,
        )
    if len(table) == 0:
        raise _fail(f"the {what} table has no rows", "empty_table", None)


def _check_choice(values: pd.Series, name: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    ok = values.isin(allowed).to_numpy(bool) | values.isna().to_numpy(bool)
    bad = np.flatnonzero(~ok)
    raw = values.to_numpy(object) if len(bad) else np.empty(0, object)
    if len(bad):
        raise _fail(
            f"{name} {raw[bad[0]]!r}: allowed {', '.join(repr(a) for a in allowed)}",
            "invalid_choice",
            name,
            value=str(raw[bad[0]]),
        )


def validate_spasticity_table(table: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of the spasticity table (all :data:`SPASTICITY_COLUMNS` but
    ``mas_label``, ``tardieu_*`` required; those may be absent or empty)."""
    required = ["child", "group", "muscle", "side", "months", "mas"]
    _check_required(table, required, "spasticity")
    out = table.copy()
    for name in ("tardieu_r1_deg", "tardieu_r2_deg", "tardieu_quality", "mas_label"):
        if name not in out.columns:
            out[name] = np.nan
    for name in ("months", "mas", "tardieu_r1_deg", "tardieu_r2_deg", "tardieu_quality"):
        out[name] = _numeric(out[name], name)
    _check_choice(out["group"], "group", GROUPS)
    _check_choice(out["side"], "side", SIDES)
    mas = out["mas"].to_numpy(float)
    bad = np.flatnonzero(~np.isin(mas, np.arange(6)) & ~np.isnan(mas))
    if len(bad):
        raise _fail(
            f"mas {mas[bad[0]]:g}: allowed the ordinal codes 0-5 (0, 1, 1+, 2, 3, 4)",
            "out_of_range",
            "mas",
            value=float(mas[bad[0]]),
        )
    labels = out["mas_label"].astype(object).where(out["mas_label"].notna(), "")
    labels = labels.astype(str).str.strip()
    given = (labels != "") & ~np.isnan(mas)
    codes = np.where(np.isnan(mas), len(MAS_LABELS), mas).astype(np.int64)
    expected = pd.Series(np.array([*MAS_LABELS, ""], dtype=object)[codes], index=out.index)
    wrong = np.flatnonzero((given & (labels != expected)).to_numpy())
    if len(wrong):
        i = wrong[0]
        raise _fail(
            f"mas_label {labels.iloc[i]!r} does not match mas {mas[i]:g}"
            f" (ordinal {mas[i]:g} is grade {expected.iloc[i]!r})",
            "inconsistent",
            "mas_label",
            value=labels.iloc[i],
        )
    return out


# --- the laboratory table -------------------------------------------------------------------

#: The laboratory table: one row per child, analyte and sample.
#:
#: =================  =====================================================================  ======
#: column             meaning                                                                type
#: =================  =====================================================================  ======
#: ``child``          pseudonymised research ID                                              text
#: ``group``          ``cells`` or ``control`` (optional)                                    text
#: ``analyte``        analyte name as recorded (e.g. ``IL-6``, ``TNF-alpha``)                text
#: ``unit``           unit of ``value`` (must be one unit per analyte)                       text
#: ``months``         months since the first administration (<= 0: pre-administration)      number
#: ``value``          measured concentration                                                 number
#: =================  =====================================================================  ======
LAB_COLUMNS: Mapping[str, tuple[str, str]] = {
    "child": (TEXT, "pseudonymised research ID of the child"),
    "group": (TEXT, "enrolment group: 'cells' or 'control' (optional)"),
    "analyte": (TEXT, "analyte name"),
    "unit": (TEXT, "unit of value (one per analyte)"),
    "months": (NUMBER, "months since the first administration (<= 0: before)"),
    "value": (NUMBER, "measured value"),
}


def validate_lab_table(table: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of the laboratory table (``group`` optional, ``unit`` optional)."""
    _check_required(table, ["child", "analyte", "months", "value"], "laboratory")
    out = table.copy()
    for name in ("months", "value"):
        out[name] = _numeric(out[name], name)
    if "group" in out.columns:
        _check_choice(out["group"], "group", GROUPS)
    if "unit" in out.columns:
        units = out.dropna(subset=["unit"]).groupby("analyte")["unit"].nunique()
        several = units[units > 1]
        if len(several):
            analyte = str(several.index[0])
            raise _fail(
                f"analyte {analyte!r} is recorded in more than one unit: convert to one first",
                "inconsistent",
                "unit",
                analyte=analyte,
            )
    return out
