"""Result plumbing shared by the IPD analyses: read-only arrays, ``to_dict`` and ``to_frame``.

A shared mixin (``cpstem.results``) is planned in the core; until it lands on main the two
methods are implemented here, for the frozen dataclasses of this package only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd


def readonly(values: Any, dtype: Any = float) -> np.ndarray:
    """A copy of ``values`` as an array that cannot be written to."""
    arr = np.array(values, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def readonly_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose underlying arrays are read-only (writes raise ``ValueError``)."""
    out = frame.copy(deep=True).reset_index(drop=True)
    for name in out.columns:
        values = out[name].to_numpy()
        if isinstance(values, np.ndarray) and values.dtype != object:
            values = values.copy()
            values.setflags(write=False)
            out[name] = values
    return out


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready Python data (lists, floats, ``None`` for NaN)."""
    if isinstance(value, pd.DataFrame):
        return [
            {str(k): _plain(v) for k, v in row.items()} for row in value.to_dict(orient="records")
        ]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


class ResultMixin:
    """``to_dict()`` (every field as JSON-ready data) and ``to_frame()`` (the main table)."""

    def to_dict(self) -> dict[str, Any]:
        """Every field of the result as plain Python data (frames as lists of row dicts)."""
        assert dataclasses.is_dataclass(self)
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        """The result's main table as a new DataFrame."""
        raise NotImplementedError
