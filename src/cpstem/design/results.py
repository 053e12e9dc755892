"""Serialisation shared by the design layer's result objects.

Results are frozen dataclasses whose arrays are read-only; :class:`Serialisable` gives them
``to_dict()`` (JSON-safe: NumPy scalars become floats/ints, arrays lists, non-finite numbers
``None``) and subclasses provide ``to_frame()``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


def frozen(values: Any) -> np.ndarray:
    """A float copy of ``values`` that cannot be written to."""
    arr = np.array(values, dtype=float)
    arr.setflags(write=False)
    return arr


def json_safe(value: Any) -> Any:
    """``value`` with NumPy types and non-finite floats turned into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


class Serialisable:
    """Mixin for frozen result dataclasses: ``to_dict()`` of every field, JSON-safe."""

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (arrays as lists, inf/nan as ``None``)."""
        out = json_safe(self)
        assert isinstance(out, dict)
        return out
