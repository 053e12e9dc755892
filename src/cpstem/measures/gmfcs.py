"""GMFCS-E&R: levels I-V, age bands and short level descriptors."""

from __future__ import annotations

import math

from cpstem.measures.catalog import classifications
from cpstem.measures.errors import MeasureError
from cpstem.measures.levels import level_class

Level = level_class(
    "gmfcs", __name__, 'GMFCS level I-V (``Level.parse("III")``, ``Level.parse(3)``).'
)


def age_bands() -> list[tuple[str, float, float]]:
    """The E&R age bands as (label, from_years inclusive, to_years exclusive)."""
    return [
        (b["label"], float(b["from_years"]), float(b["to_years"]))
        for b in classifications()["gmfcs"]["age_bands"]
    ]


def age_band(age_years: float) -> str:
    """The GMFCS-E&R age band of a child: "under 2", "2-4", "4-6", "6-12" or "12-18"."""
    if isinstance(age_years, bool) or not isinstance(age_years, int | float):
        raise MeasureError(
            f"age {age_years!r} is not a number of years",
            code="not_a_number",
            field="age_years",
            params={"value": str(age_years)},
        )
    if math.isnan(age_years) or age_years < 0:
        raise MeasureError(
            f"age {age_years} years is not valid: age cannot be negative",
            code="out_of_range",
            field="age_years",
            params={"value": age_years},
        )
    for label, lo, hi in age_bands():
        if lo <= age_years < hi:
            return label
    raise MeasureError(
        f"age {age_years:g} years is outside the GMFCS-E&R bands, which end at the 18th birthday",
        code="out_of_range",
        field="age_years",
        params={"value": age_years},
    )
