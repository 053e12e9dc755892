"""Data derived from a record when it is written: the GMFM-66 computed from a GMFM-88 sheet."""

from __future__ import annotations

from django.conf import settings

from cpstem.measures import MeasureError, gmfm
from cpstem.registry.models import GMFM66Assessment, GMFM88Assessment

_item_map_cache: dict[str, gmfm.ItemMap] = {}


def item_map() -> gmfm.ItemMap | None:
    """The configured GMFM-66 item map (``CPSTEM_GMFM66_ITEM_MAP``), if any."""
    path = settings.CPSTEM["GMFM66_ITEM_MAP"]
    if not path:
        return None
    if path not in _item_map_cache:
        _item_map_cache[path] = gmfm.load_item_map(path)
    return _item_map_cache[path]


def attach_gmfm66(sheet: GMFM88Assessment) -> GMFM66Assessment | None:
    """With an item map configured, compute the sheet's GMFM-66 and store it beside it (a
    changed sheet replaces it; the audit trail of the replaced one carries the sheet's reason for
    change)."""
    imap = item_map()
    if imap is None:
        return None
    try:
        r = gmfm.score_gmfm66(sheet.items, imap)
    except MeasureError:
        return None
    reason = getattr(sheet, "_change_reason", None)
    for old in GMFM66Assessment.objects.filter(sheet=sheet):
        if reason:
            old._change_reason = f"recomputed from the changed sheet: {reason}"[:100]
        old.delete()
    if r.estimate is None:
        return None
    computed = GMFM66Assessment(
        patient=sheet.patient,
        date=sheet.date,
        score=r.estimate,
        se=r.se,
        ci_lower=r.ci_lower,
        ci_upper=r.ci_upper,
        source="item_map",
        sheet=sheet,
        notes=f"computed with item map {imap.name}",
    )
    if reason:
        computed._change_reason = f"computed from the sheet: {reason}"[:100]
    computed.save()
    return computed
