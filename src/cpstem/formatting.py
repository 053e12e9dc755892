"""Number formatting shared by every printed result (terminal, reports, plots)."""

from __future__ import annotations

import math


def format_p(
    p: float | None, digits: int = 4, *, prefix: bool = False, metafor: bool = False
) -> str:
    """A p-value as text: ``0.0123`` or ``< 0.0001`` (below ``10**-digits``), ``NA`` if missing.

    ``prefix=True`` gives ``= 0.0123`` / ``< 0.0001``, for "p = ..." phrases. ``metafor=True``
    writes the floor as R's metafor prints it: ``<.0001`` in a table cell, ``< .0001`` with
    ``prefix``.
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NA"
    floor = 10.0**-digits
    if p < floor:
        text = f"{floor:.{digits}f}"
        if metafor:
            return f"< {text[1:]}" if prefix else f"<{text[1:]}"
        return f"< {text}"
    text = f"{p:.{digits}f}"
    return f"= {text}" if prefix else text
