"""How the evidence report writes numbers: back-transformed estimates, intervals, p-values."""

from __future__ import annotations

import math

from cpstem.formatting import format_p

#: Measures fitted on the log scale and reported exponentiated.
RATIO = ("OR", "RR", "PETO", "ROM")


def back(measure: str, x: float) -> float:
    """Ratio measures are fitted on the log scale and reported exponentiated."""
    return math.exp(x) if measure in RATIO else x


def ci_text(est: float, lo: float, hi: float, fmt: str = ".2f") -> str:
    """``"0.86 [-0.62, 2.35]"``."""
    return f"{est:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def p_phrase(p: float) -> str:
    """``"p = 0.0123"`` or ``"p < 0.0001"`` (:func:`cpstem.formatting.format_p`)."""
    return "p " + format_p(p, prefix=True)
