"""Cell dose: parse a cell count, compute the dose per kg, and catch unit mistakes.

The published range of per-kg doses and the policy limits around it live in ``data/dose.toml``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from cpstem.outcomes.catalog import data
from cpstem.outcomes.errors import OutcomeError
from cpstem.results import Result

_SCI = re.compile(
    r"^\s*(?P<mant>\d+(?:[.,]\d+)?)\s*(?:[x×*]\s*10\s*(?:\^|\*\*|e)?\s*(?P<exp>[+-]?\d+))?\s*$",
    re.IGNORECASE,
)


def _limits() -> dict[str, Any]:
    return data("dose")


def parse_cell_count(value: Any, what: str = "cell count") -> float:
    """A positive cell count from a number or text: ``5e7``, ``5 x 10^7``, ``5×10^7``,
    ``50,000,000`` or ``50 000 000``."""
    if isinstance(value, bool) or value is None:
        raise OutcomeError(
            f"{what} {value!r} is not a number of cells",
            code="not_a_number",
            field="cell_count",
            params={"value": value},
        )
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace("\u2009", " ")
        try:
            number = float(text.replace(" ", "").replace("_", ""))
        except ValueError:
            if re.fullmatch(r"\d{1,3}([ ,]\d{3})+", text):
                number = float(re.sub(r"[ ,]", "", text))
            else:
                m = _SCI.match(text)
                if not m:
                    raise OutcomeError(
                        f"{what} {text!r} is not a number of cells: write e.g. 5e7, "
                        "5 x 10^7 or 50000000",
                        code="not_a_number",
                        field="cell_count",
                        params={"value": text},
                    ) from None
                mant = float(m["mant"].replace(",", "."))
                number = mant * 10.0 ** int(m["exp"] or 0)
    if not math.isfinite(number) or number <= 0:
        raise OutcomeError(
            f"{what} {value!r} must be a positive number of cells",
            code="not_positive",
            field="cell_count",
            params={"value": value},
        )
    return number


def check_weight_kg(value: Any) -> float:
    """A child's weight in kg; grams typed as kg and impossible values are refused."""
    w = _limits()["weight_kg"]
    try:
        kg = float(value)
    except (TypeError, ValueError):
        raise OutcomeError(
            f"weight {value!r} is not a number of kilograms",
            code="not_a_number",
            field="weight_kg",
            params={"value": value},
        ) from None
    if not math.isfinite(kg) or kg <= 0:
        raise OutcomeError(
            f"weight {value!r} must be a positive number of kilograms",
            code="not_positive",
            field="weight_kg",
            params={"value": value},
        )
    if kg >= w["grams_threshold"]:
        raise OutcomeError(
            f"weight {kg:g} kg looks like grams: enter the weight in kilograms ({kg / 1000:g} kg?)",
            code="weight_in_grams",
            field="weight_kg",
            params={"value": kg},
        )
    if not w["min"] <= kg <= w["max"]:
        raise OutcomeError(
            f"weight {kg:g} kg is outside {w['min']:g}-{w['max']:g} kg (cpstem's plausibility "
            "bounds for a child): check the unit",
            code="out_of_range",
            field="weight_kg",
            params={"value": kg, "min": w["min"], "max": w["max"]},
        )
    return kg


@dataclass(frozen=True)
class Dose(Result):
    """A checked dose: total cells, weight, cells per kg, and whether it needs confirming.

    ``to_dict()``/``to_frame()`` (one row) add ``needs_confirmation``.
    """

    _dict_properties = ("needs_confirmation",)

    cells_total: float
    weight_kg: float
    cells_per_kg: float
    outside_published: str | None  # a message when the dose lies outside the published range

    @property
    def needs_confirmation(self) -> bool:
        return self.outside_published is not None


def sci(x: float) -> str:
    """A cell number as clinicians write it: ``5.0 x 10^7``."""
    exp = math.floor(math.log10(x))
    return f"{x / 10**exp:.3g} x 10^{exp}"


def compute_dose(count: Any, weight_kg: Any, per_kg: bool = False) -> Dose:
    """Check a dose. ``count`` is the total number of cells, or cells per kg with ``per_kg``.

    Refuses weights in grams and per-kg doses more than the policy factor outside the
    published range (a wrong exponent); flags doses outside the published range, with a hint
    about total-versus-per-kg confusion, so that the caller asks for confirmation.
    """
    value = parse_cell_count(count, "cells per kg" if per_kg else "cell count")
    kg = check_weight_kg(weight_kg)
    per = value if per_kg else value / kg
    total = value * kg if per_kg else value
    lim = _limits()
    lo, hi = (
        lim["published_per_kg"]["min_cells_per_kg"],
        lim["published_per_kg"]["max_cells_per_kg"],
    )
    factor = lim["policy"]["hard_limit_factor"]
    entered = "per kg" if per_kg else "in total"
    if per < lo / factor or per > hi * factor:
        raise OutcomeError(
            f"dose {sci(per)} cells/kg ({sci(value)} cells {entered}, {kg:g} kg) is more than "
            f"{factor:g}-fold outside the published range {sci(lo)}-{sci(hi)} cells/kg: "
            "check the exponent and whether the count is the total or per kg",
            code="dose_out_of_range",
            field="cell_count",
            params={"cells_per_kg": per, "min": lo, "max": hi, "factor": factor},
        )
    message = None
    tol = 1e-9  # rounding of count / weight must not push a published dose outside the range
    if per < lo * (1 - tol) or per > hi * (1 + tol):
        side = "below the lowest" if per < lo else "above the highest"
        other = (
            "if the number was per kg, enter it as cells per kg"
            if not per_kg and per < lo
            else "if the number was the total, enter it as total cells"
            if per_kg and per > hi
            else "check the count and the weight"
        )
        message = (
            f"dose {sci(per)} cells/kg is {side} published dose ({sci(lo)}-{sci(hi)} "
            f"cells/kg): {other}, or confirm the dose"
        )
    return Dose(cells_total=total, weight_kg=kg, cells_per_kg=per, outside_published=message)
