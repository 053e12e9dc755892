"""How the evidence report writes numbers: back-transformed estimates, intervals, p-values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cpstem.formatting import format_p

#: Measures fitted on the log scale and reported exponentiated.
RATIO = ("OR", "RR", "PETO", "ROM")


def back(measure: str, x: float) -> float:
    """Ratio measures are fitted on the log scale and reported exponentiated."""
    return math.exp(x) if measure in RATIO else x


#: Figures on the scale of the effect: back-transformed for a ratio measure.
ON_EFFECT_SCALE = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")


def figures(
    d: Mapping[str, Any], names: Sequence[str], measure: str | None = None
) -> dict[str, Any]:
    """The figures ``names`` of a result's ``to_dict()`` ``d``, in that order; with a
    ``measure``, the estimate and interval bounds (:data:`ON_EFFECT_SCALE`) on the natural
    scale (:func:`back`). A figure ``to_dict`` gives as ``None`` (not a number) is NaN again
    here: the text shows ``nan`` and ``results.json`` ``null``, as for a NaN attribute."""
    out = {}
    for name in names:
        v = math.nan if d[name] is None else d[name]
        out[name] = back(measure, v) if measure and name in ON_EFFECT_SCALE else v
    return out


def back_values(measure: str, values: Iterable[float]) -> list[float]:
    """:func:`back` of each value (a column of a result's ``to_frame()``), as Python floats."""
    return [back(measure, float(x)) for x in values]


def counts(events: Iterable[float], totals: Iterable[float]) -> list[str]:
    """``"events/n"`` per row: ``counts([7, 0], [19, 20]) == ["7/19", "0/20"]``."""
    return [f"{int(a)}/{int(n)}" for a, n in zip(events, totals, strict=True)]


def ci_text(est: float, lo: float, hi: float, fmt: str = ".2f") -> str:
    """``"0.86 [-0.62, 2.35]"``."""
    return f"{est:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def p_phrase(p: float) -> str:
    """``"p = 0.0123"`` or ``"p < 0.0001"`` (:func:`cpstem.formatting.format_p`)."""
    return "p " + format_p(p, prefix=True)
