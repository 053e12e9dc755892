"""The published dose ranges per product as the administration form's live dose line reads them
(``static/registry/dose.js``); the server's check is :func:`cpstem.outcomes.dose.check_dose`."""

from __future__ import annotations

import json
from functools import cache

from cpstem.outcomes.dose import dose_range
from cpstem.registry.models.treatment import Product


@cache
def dose_ranges_json() -> str:
    """``{"<product>": {"label", "min_per_kg", "max_per_kg", "min_total", "max_total"}, ...,
    "overall": {...}}`` as JSON."""
    out = {}
    for key in [*Product.values, "overall"]:
        r = dose_range(key)
        out[key] = {
            "label": r.label,
            "min_per_kg": r.min_cells_per_kg,
            "max_per_kg": r.max_cells_per_kg,
            "min_total": r.min_cells_total,
            "max_total": r.max_cells_total,
        }
    return json.dumps(out)
