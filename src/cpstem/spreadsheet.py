"""Neutralising spreadsheet formula injection in exported text cells (OWASP CSV injection).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can be run as a
formula when the file is opened in a spreadsheet; such cells get a leading apostrophe.
Numbers are left alone (a negative number is data, not a formula).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> Any:
    """``"=1+1"`` -> ``"'=1+1"``; non-text values unchanged."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name escaped (numbers and booleans
    stay as they are; object, string and categorical columns are escaped cell by cell)."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        out[col] = series.map(escape_formula).astype(object)
    out.columns = [escape_formula(str(c)) for c in out.columns]
    return out
