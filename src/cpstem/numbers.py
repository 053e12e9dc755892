"""Reading one number from a user's input, with the caller's error family.

Every layer reads numbers typed by a user (a CSV cell, a TOML value, a form field passed on as
text) and must turn "abc", ``True``, ``None``, NaN and infinities into its own coded error
rather than a bare ``ValueError`` or a NaN that travels on. :func:`finite_float` is the one
place that does it; callers keep only their own range checks.

>>> finite_float("2.5", "dose")
2.5
>>> finite_float("abc", "item map line 3, column step1:")
Traceback (most recent call last):
...
cpstem.errors.CpstemError: item map line 3, column step1: 'abc' is not a number
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cpstem.errors import CpstemError

__all__ = ["finite_float"]


def finite_float(
    value: Any,
    what: str,
    error: type[CpstemError] = CpstemError,
    *,
    field: str | None = None,
    params: Mapping[str, Any] | None = None,
    noun: str = "a number",
    code: str = "not_a_number",
    finite: bool = True,
) -> float:
    """``value`` (a number, or text of one) as a float, or ``error`` naming ``what``.

    * a bool, ``None`` or text that is not a number: ``code`` (``not_a_number`` unless the
      layer has its own), message ``"<what> <value!r> is not <noun>"`` (``noun``: ``"a number
      of years"``, ...);
    * NaN or an infinity: code ``not_finite``, ``"<what> <value!r> is not a finite number"``;
      with ``finite=False`` they are returned, for a caller whose own range check (code
      ``out_of_range``) rejects them with its message.

    The error has ``field`` and ``params`` (the caller's, then ``value``: the input as text).
    """

    def fail(message: str, code: str) -> CpstemError:
        return error(
            f"{what} {value!r} {message}",
            code=code,
            field=field,
            params={**(params or {}), "value": str(value)},
        )

    if isinstance(value, bool):
        raise fail(f"is not {noun}", code)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise fail(f"is not {noun}", code) from None
    if finite and not math.isfinite(number):
        raise fail("is not a finite number", "not_finite")
    return number
