"""Cell dose: parse a cell count, compute the dose per kg, and catch unit mistakes.

The published range of per-kg doses and the policy limits around it live in ``data/dose.toml``;
the published doses of each product (cord blood, cord MSC, BM-MNC, ...) in
``data/dose_ranges.toml``. :func:`check_dose` compares a dose with its product's range and says
whether a total typed as per kg (or the reverse) is the likely cause of a dose outside it.
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
                try:
                    number = mant * 10.0 ** int(m["exp"] or 0)
                except OverflowError:  # 5 x 10^400
                    number = math.inf
    if math.isnan(number) or number == math.inf:
        raise OutcomeError(
            f"{what} {value!r} is not a finite number of cells (too large)",
            code="not_finite",
            field="cell_count",
            params={"value": str(value)},
        )
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
    likely_swap: str | None = None  # see DoseCheck.likely_swap (with a product only)
    range_product: str = "overall"  # the product whose range was used

    @property
    def needs_confirmation(self) -> bool:
        return self.outside_published is not None


def sci(x: float) -> str:
    """A cell number as clinicians write it: ``5.0 x 10^7``."""
    if not math.isfinite(x) or x <= 0:
        return f"{x:g}"
    exp = math.floor(math.log10(x))
    return f"{x / 10**exp:.3g} x 10^{exp}"


_SWAP_HINTS = {
    "per_kg_entered_as_total": "if the number was per kg ({value} cells/kg), enter it as cells "
    "per kg",
    "total_entered_as_per_kg": "if the number was the total ({value} cells), enter it as total "
    "cells",
}


@dataclass(frozen=True)
class DoseRange(Result):
    """The published doses of one product (``product``; ``"overall"`` for all products):
    per-kg doses and, where trials gave a fixed number of cells, fixed totals."""

    product: str
    label: str
    min_cells_per_kg: float
    max_cells_per_kg: float
    min_cells_total: float | None
    max_cells_total: float | None
    verified: str
    source: str

    def contains(self, cells_total: float, cells_per_kg: float, tol: float = 1e-9) -> bool:
        """Inside the per-kg range, or inside the fixed-total range (when there is one).
        ``tol``: the rounding of count / weight must not push a published dose outside."""
        lo, hi = self.min_cells_per_kg * (1 - tol), self.max_cells_per_kg * (1 + tol)
        if lo <= cells_per_kg <= hi:
            return True
        if self.min_cells_total is None or self.max_cells_total is None:
            return False
        return self.min_cells_total * (1 - tol) <= cells_total <= self.max_cells_total * (1 + tol)

    def describe(self) -> str:
        """``"5 x 10^6-1 x 10^8 cells/kg"`` (and the fixed totals when there are some)."""
        text = f"{sci(self.min_cells_per_kg)}-{sci(self.max_cells_per_kg)} cells/kg"
        if self.min_cells_per_kg == self.max_cells_per_kg:
            text = f"{sci(self.min_cells_per_kg)} cells/kg"
        if self.min_cells_total is not None and self.max_cells_total is not None:
            total = (
                sci(self.min_cells_total)
                if self.min_cells_total == self.max_cells_total
                else f"{sci(self.min_cells_total)}-{sci(self.max_cells_total)}"
            )
            text += f" or a fixed {total} cells"
        return text


def dose_range(product: str | None) -> DoseRange:
    """The published dose range of ``product`` (a registry product code such as ``"ucb"``);
    an unknown product (``"other"``, ``None``) gets the range over all products."""
    ranges = data("dose_ranges")
    key = product if product in ranges and product != "overall" else "overall"
    r = ranges[key]
    keys = ("min_source", "max_source", "min_total_source", "max_total_source")
    sources = [r.get(k) for k in keys]
    return DoseRange(
        product=key,
        label=r["label"],
        min_cells_per_kg=float(r["min_cells_per_kg"]),
        max_cells_per_kg=float(r["max_cells_per_kg"]),
        min_cells_total=r.get("min_cells_total"),
        max_cells_total=r.get("max_cells_total"),
        verified=r["verified"],
        source="; ".join(dict.fromkeys(s for s in sources if s)),
    )


@dataclass(frozen=True)
class DoseCheck(Result):
    """A dose compared with its product's published range.

    ``outside``: the dose is outside the range (``side``: ``"below"`` or ``"above"``);
    ``likely_swap``: ``"per_kg_entered_as_total"`` (a per-kg dose saved as the total: read as
    per kg it would be inside the range) or ``"total_entered_as_per_kg"`` (the reverse), else
    ``None``; ``message``: what to tell the person entering it (``None`` inside the range).
    """

    product: str
    range: DoseRange
    cells_total: float
    cells_per_kg: float
    weight_kg: float
    outside: bool
    side: str | None
    likely_swap: str | None
    message: str | None


def check_dose(
    product: str | None,
    cells_total: float,
    cells_per_kg: float,
    weight_kg: float,
    entered: str | None = None,
) -> DoseCheck:
    """Compare a dose with the published range of ``product`` (pure; no rounding).

    ``entered`` (``"total"``, ``"per_kg"`` or ``None`` when unknown) is how the number was
    typed: a swap is only suspected in the direction that could have happened. A dose below the
    range whose total, read as cells per kg, is inside it: ``per_kg_entered_as_total``
    (3 x 10^7 typed as the total for a 16 kg child gives 1.9 x 10^6/kg). A dose above the range
    whose per-kg figure, read as the total, is inside it: ``total_entered_as_per_kg``
    (a cord-blood total of 4.8 x 10^8 typed as per kg).
    """
    rng = dose_range(product)
    inside = rng.contains(cells_total, cells_per_kg)
    side = None if inside else ("below" if cells_per_kg < rng.min_cells_per_kg else "above")
    swap = None
    if (
        side == "below"
        and entered != "per_kg"
        and rng.contains(cells_total * weight_kg, cells_total)
    ):
        swap = "per_kg_entered_as_total"
    elif (
        side == "above"
        and entered != "total"
        and rng.contains(cells_per_kg, cells_per_kg / weight_kg)
    ):
        swap = "total_entered_as_per_kg"
    message = None
    if side is not None:
        what = "the lowest" if side == "below" else "the highest"
        message = (
            f"dose {sci(cells_per_kg)} cells/kg ({sci(cells_total)} cells in total, "
            f"{weight_kg:g} kg) is {side} {what} published dose of {rng.label} "
            f"({rng.describe()})"
        )
        if swap is not None:
            shown = sci(cells_total if swap == "per_kg_entered_as_total" else cells_per_kg)
            message += ": " + _SWAP_HINTS[swap].format(value=shown) + ", or confirm the dose"
        else:
            message += ": check the count and the weight, or confirm the dose"
    return DoseCheck(
        product=product or "",
        range=rng,
        cells_total=cells_total,
        cells_per_kg=cells_per_kg,
        weight_kg=weight_kg,
        outside=side is not None,
        side=side,
        likely_swap=swap,
        message=message,
    )


def compute_dose(
    count: Any,
    weight_kg: Any,
    per_kg: bool = False,
    product: str | None = None,
    entered: str | None = "as_given",
) -> Dose:
    """Check a dose. ``count`` is the total number of cells, or cells per kg with ``per_kg``.

    Refuses weights in grams, doses too large to be a number, and per-kg doses more than the
    policy factor outside the published range over all products (a wrong exponent); flags
    doses outside the published range -- of ``product`` when given (:func:`check_dose`), else
    over all products -- with a hint about total-versus-per-kg confusion, so that the caller
    asks for confirmation. ``entered``: how the number was typed (``"total"``, ``"per_kg"``, or
    ``None`` when not known, e.g. a stored record); by default as ``per_kg`` says.
    """
    value = parse_cell_count(count, "cells per kg" if per_kg else "cell count")
    kg = check_weight_kg(weight_kg)
    per = value if per_kg else value / kg
    total = value * kg if per_kg else value
    if not (math.isfinite(per) and math.isfinite(total)):
        raise OutcomeError(
            f"{sci(value)} cells {'per kg' if per_kg else 'in total'} with {kg:g} kg is too "
            "large to be a dose: check the exponent",
            code="not_finite",
            field="cell_count",
            params={"value": str(count), "weight_kg": kg},
        )
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
    if product is not None:
        how = ("per_kg" if per_kg else "total") if entered == "as_given" else entered
        check = check_dose(product, total, per, kg, how)
        return Dose(
            cells_total=total,
            weight_kg=kg,
            cells_per_kg=per,
            outside_published=check.message,
            likely_swap=check.likely_swap,
            range_product=check.range.product,
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
