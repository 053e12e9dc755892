"""The common base of every result object: immutable, and serialises itself.

Results of :mod:`cpstem.measures`, :mod:`cpstem.reference`, :mod:`cpstem.evidence` and
:mod:`cpstem.outcomes` are frozen dataclasses deriving from :class:`Result`, which gives them

* **immutability**: on creation every NumPy array of the result is replaced by a private,
  read-only copy (``r.vi[0] = 9`` raises ``ValueError``; changing the caller's input array
  afterwards does not change the result, and no two results share a writable buffer), and
  every ``dict`` by a read-only mapping (:class:`types.MappingProxyType`) of a copy;
* :meth:`Result.to_dict`: the result as JSON-safe data (``json.dumps`` works): NumPy scalars
  become Python numbers, arrays lists, NaN and infinities ``None``, enums their value, dates
  ISO text, nested results and dataclasses dicts;
* :meth:`Result.to_frame`: a pandas DataFrame in a tidy shape chosen per result (documented on
  each class; the default is one row of the scalar attributes). Frames are built only when
  asked for, so fitting stays as fast as before;
* ``str(result)``: the result's ``summary()`` text, for every result that has one.

>>> from cpstem.evidence import rma
>>> res = rma([0.1, 0.3, 0.35, 0.65], [0.03, 0.02, 0.05, 0.04])
>>> res.to_frame().columns.tolist()
['study', 'yi', 'vi', 'sei', 'ci_lower', 'ci_upper', 'weight']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from enum import Enum
from pathlib import PurePath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Result",
    "frame_of",
    "frozen_array",
    "jsonable",
    "records_frame",
    "sealed",
    "text_table",
]


def frozen_array(value: Any) -> np.ndarray:
    """A private read-only copy of ``value`` as a NumPy array (no copy of a sealed array)."""
    if isinstance(value, np.ndarray) and not value.flags.writeable and value.base is None:
        return value  # sealed: read-only and owning its data, nobody can write to it
    arr = np.array(value, copy=True)
    arr.flags.writeable = False
    return arr


def sealed(arr: np.ndarray) -> np.ndarray:
    """``arr`` made read-only in place, so that a result keeps it without copying.

    Only for an array the calling function has just created (owning its data) and hands over
    to a result: the fast batch functions use it to skip a copy of large arrays.
    """
    arr.flags.writeable = False
    return arr


#: Values that are immutable already (checked first: isinstance with classes is fast).
_ATOMIC = (int, float, str, bytes, type(None), np.generic, date, time, Enum)
_CONTAINERS = frozenset({np.ndarray, dict, MappingProxyType, tuple})
#: Exact types of plain immutable values (a fast check for a whole mapping at once).
_PLAIN = frozenset({int, float, str, bool, type(None), np.float64, np.int64, np.bool_})


def _freeze(value: Any) -> Any:
    """Arrays -> read-only copies; dicts and mappings -> read-only mappings of copies; tuples
    with such values inside -> tuples of their frozen values."""
    if isinstance(value, np.ndarray):
        return frozen_array(value)
    if isinstance(value, tuple):
        if set(map(type, value)) <= _PLAIN:
            return value
        return tuple(v if isinstance(v, _ATOMIC) else _freeze(v) for v in value)
    if isinstance(value, dict | MappingProxyType):
        items = value.copy()  # a dict's (or a proxy's dict's) copy: fast
    elif isinstance(value, Mapping) and not isinstance(value, Result):
        items = dict(value)
    else:
        return value
    if not set(map(type, items.values())) <= _PLAIN:
        for key, item in items.items():
            if not isinstance(item, _ATOMIC):
                items[key] = _freeze(item)
    return MappingProxyType(items)


def _key(key: Any) -> str:
    if isinstance(key, Enum):
        return str(key.value)
    return str(key)


def jsonable(value: Any) -> Any:
    """``value`` as JSON-safe Python data (see the module documentation for the rules)."""
    if isinstance(value, Enum):  # first: a StrEnum or IntEnum is also a str or int
        return jsonable(value.value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, bool | str):
            return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | range):
        return [jsonable(v) for v in value]
    return str(value)


def _scalar(value: Any) -> bool:
    """A value that fits one cell of a frame."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0
    return not isinstance(value, Mapping | list | tuple | set | frozenset) and not (
        dataclasses.is_dataclass(value)
    )


def _cell(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.ndarray):
        return value.item()
    return value


def frame_of(columns: Mapping[str, Any], index: Any = None) -> pd.DataFrame:
    """A DataFrame from ``name -> column`` (pandas is imported on first use)."""
    import pandas as pd

    return pd.DataFrame(dict(columns), index=index)


def records_frame(results: Iterable[Result]) -> pd.DataFrame:
    """One frame of many results: their ``to_frame()`` frames stacked (e.g. a list of visits)."""
    import pandas as pd

    frames = [r.to_frame() for r in results]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


#: One column of :func:`text_table`: title, width, format spec of a cell, the cells' values.
Column = tuple[str, int, str, Any]


def text_table(
    labels: Iterable[str], columns: Iterable[Column], label_width: int, label_title: str = ""
) -> list[str]:
    """The fixed-width table of a ``summary()``: a header line, then one line per label.

    The label column is ``label_width`` wide (labels cut to it, left-aligned); each column
    ``(title, width, spec, values)`` shows ``format(values[i], spec)`` right-aligned in
    ``width`` characters (``("estimate", 10, ".4f", est)`` prints as ``f"{est[i]:10.4f}"``).
    """
    cols = list(columns)
    lines = [f"{label_title:<{label_width}}" + "".join(f"{t:>{w}}" for t, w, _, _ in cols)]
    for i, lab in enumerate(labels):
        cells = "".join(f"{format(values[i], spec):>{w}}" for _, w, spec, values in cols)
        lines.append(f"{lab[:label_width]:<{label_width}}" + cells)
    return lines


class Result:
    """Mixin of the frozen-dataclass results: read-only arrays, ``to_dict``, ``to_frame``.

    Subclasses are ``@dataclass(frozen=True)``; one that defines its own ``__post_init__`` calls
    ``super().__post_init__()``. ``_dict_properties`` names computed properties that
    :meth:`to_dict` includes next to the fields.
    """

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
    _dict_properties: ClassVar[tuple[str, ...]] = ()
    _freeze_fields: ClassVar[dict[type, tuple[str, ...]]] = {}

    def __post_init__(self) -> None:
        cls = type(self)
        names = Result._freeze_fields.get(cls)
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(self))
            Result._freeze_fields[cls] = names
        for name in names:
            value = getattr(self, name)
            kind = type(value)
            if kind in _PLAIN:
                continue
            if kind in _CONTAINERS or (
                isinstance(value, np.ndarray | Mapping | tuple) and not isinstance(value, Result)
            ):
                frozen = _freeze(value)
                if frozen is not value:
                    object.__setattr__(self, name, frozen)

    def _dict_items(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in self._dict_properties:
            out[name] = getattr(self, name)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-safe data: the fields (and documented properties) by name."""
        return {name: jsonable(value) for name, value in self._dict_items().items()}

    def __str__(self) -> str:
        """The result's ``summary()`` (its readable text) where it has one, else its repr."""
        summary = getattr(self, "summary", None)
        return str(summary()) if callable(summary) else repr(self)

    def to_frame(self) -> pd.DataFrame:
        """One row of the result's scalar fields and properties (classes document their own)."""
        row = {k: _cell(v) for k, v in self._dict_items().items() if _scalar(v)}
        return frame_of({k: [v] for k, v in row.items()})
