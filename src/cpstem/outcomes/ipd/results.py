"""What the IPD results add to :class:`cpstem.results.Result`: tables held as DataFrames.

Every result of this package is a frozen dataclass deriving from :class:`FrameResult`, i.e.
from the shared :class:`cpstem.results.Result` (read-only arrays and mappings, ``to_dict``,
``to_frame``). The one thing specific to these results is that their main tables are pandas
DataFrames, which the shared mixin does not know: here a DataFrame field is

* stored as a private copy whose column arrays are read-only (:func:`readonly_frame`), and
* serialised by ``to_dict`` as a list of row dicts (``{"column": value, ...}``), each cell
  JSON-safe by the shared rules (NaN -> ``None``, NumPy scalars -> Python numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cpstem.results import Result, jsonable

__all__ = ["FrameResult", "readonly_frame"]


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


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame`` as JSON-safe row dicts."""
    return [
        {str(k): jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
    ]


class FrameResult(Result):
    """:class:`cpstem.results.Result` whose DataFrame fields serialise as lists of row dicts."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-safe data (DataFrames as lists of row dicts)."""
        return {
            name: frame_records(value) if isinstance(value, pd.DataFrame) else jsonable(value)
            for name, value in self._dict_items().items()
        }
