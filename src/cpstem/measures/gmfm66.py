"""GMFM-66 in one import: item maps, the Rasch ability estimate and sheet scoring.

The model and the item-map file format live in :mod:`cpstem.measures.gmfm66_model`; scoring a
GMFM sheet (:func:`score_gmfm66`) in :mod:`cpstem.measures.gmfm`, next to the sheet parser it
uses. The imports go one way: ``gmfm66 -> gmfm -> gmfm66_model -> gmfm_items``.
"""

from __future__ import annotations

from cpstem.measures.gmfm import score_gmfm66
from cpstem.measures.gmfm66_model import (
    MIN_ITEMS_RECOMMENDED,
    GMFM66Result,
    ItemMap,
    check_level,
    estimate_gmfm66,
    load_item_map,
    parse_item_map,
)

__all__ = [
    "MIN_ITEMS_RECOMMENDED",
    "GMFM66Result",
    "ItemMap",
    "check_level",
    "estimate_gmfm66",
    "load_item_map",
    "parse_item_map",
    "score_gmfm66",
]
