"""GMFCS-E&R: levels I-V, age bands and short level descriptors."""

from __future__ import annotations

import math

from cpstem.measures.catalog import classifications
from cpstem.measures.errors import MeasureError
from cpstem.measures.levels import FunctionLevel, classification


@classification("gmfcs")
class Level(FunctionLevel):
    """GMFCS level I-V (``Level.parse("III")``, ``Level.parse(3)``)."""

    I = 1  # noqa: E741
    II = 2
    III = 3
    IV = 4
    V = 5


def age_bands() -> list[tuple[str, float, float]]:
    """The E&R age bands as (label, from_years inclusive, to_years exclusive)."""
    return [
        (b["label"], float(b["from_years"]), float(b["to_years"]))
        for b in classifications()["gmfcs"]["age_bands"]
    ]


def age_band(age_years: float) -> str:
    """The GMFCS-E&R age band of a child: "under 2", "2-4", "4-6", "6-12" or "12-18"."""
    if isinstance(age_years, bool) or not isinstance(age_years, int | float):
        raise MeasureError(f"age {age_years!r} is not a number of years")
    if math.isnan(age_years) or age_years < 0:
        raise MeasureError(f"age {age_years} years is not valid: age cannot be negative")
    for label, lo, hi in age_bands():
        if lo <= age_years < hi:
            return label
    raise MeasureError(
        f"age {age_years:g} years is outside the GMFCS-E&R bands, which end at the 18th birthday"
    )
