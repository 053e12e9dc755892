"""Read-only detail pages of every record, for monitors verifying source data (and everyone
who may see the patient): every field the role may see, through the privacy projection, with
the record's last change (who, when, why) for the roles that may see the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from cpstem.measures.spasticity import MuscleGroup
from cpstem.registry import access, privacy
from cpstem.registry.views.common import visible_patient

#: Keys of the projected record that are not shown as rows.
_NOT_SHOWN = {"pk", "id", "patient_id", "version", "created_at", "updated_at"}


def _muscle(code: str) -> str:
    try:
        return MuscleGroup(code).label
    except ValueError:
        return code


def _text(f: models.Field, value: Any, shown: dict[str, Any]) -> str:
    """One projected value as text (coded fields by their label)."""
    if f.choices and f"{f.name}_display" in shown:
        value = shown[f"{f.name}_display"]
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e5 else f"{value:g}"
    if f.name == "mas":
        return "; ".join(f"{_muscle(r['muscle'])} {r['side']}: {r['grade']}" for r in value) or "—"
    if f.name == "tardieu":
        return (
            "; ".join(
                f"{_muscle(r['muscle'])} {r['side']} {r.get('velocity', '')}: R1 {r.get('r1_deg')}°"
                f", R2 {r.get('r2_deg')}°, X {r.get('quality')}"
                for r in value
            )
            or "—"
        )
    return str(value)


def rows(obj: models.Model, proj: privacy.Projection, birth) -> list[dict[str, str]]:
    """``{"label", "value", "field"}`` for every field of ``obj`` the role may see."""
    shown = proj.record(obj, birth)
    out = []
    for f in type(obj)._meta.concrete_fields:
        key = f.attname if f.is_relation else f.name
        if key in _NOT_SHOWN or key not in shown:
            continue
        value = shown[key]
        if f.is_relation and value is not None:
            related = getattr(obj, f.name)
            if f.related_model is get_user_model():
                value = related.get_username()
            elif not proj.pseudonymised:
                value = str(related)
        out.append({"field": f.name, "label": str(f.verbose_name), "value": _text(f, value, shown)})
    return out


def last_change(obj: models.Model) -> dict[str, Any] | None:
    """Who changed the record last, when and why (from the audit trail)."""
    history = getattr(type(obj), "history", None)
    if history is None:
        return None
    row = (
        history.filter(id=obj.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    if row is None:
        return None
    return {
        "who": row.history_user.get_username() if row.history_user_id else "system",
        "when": row.history_date,
        "action": {"+": "created", "~": "changed", "-": "deleted"}.get(row.history_type, ""),
        "why": row.history_change_reason or "",
        "version": obj.version,
    }


@login_required
@never_cache
def record_detail(request: HttpRequest, pk: int, kind: str, rid: int) -> HttpResponse:
    from cpstem.registry.views import monitoring
    from cpstem.registry.views.records import KINDS

    if kind not in KINDS:
        raise Http404("unknown record type")
    if kind == "gmfm88":  # the sheet has its own page (scores, items)
        return redirect("registry:gmfm88", pk=pk, rid=rid)
    proj = privacy.project(request.user)
    patient = visible_patient(request, pk)
    if kind == "administration":  # cells reveal the randomised arm to a blinded role
        proj.require_unmasked(patient, "administrations")
    k = KINDS[kind]
    obj = get_object_or_404(k.model, pk=rid, patient=patient)
    shown = proj.record(obj, patient.birth_date)
    panel = monitoring.record_panel(request, patient, kind, obj)
    return render(
        request,
        "registry/record_detail.html",
        {
            "patient": proj.patient(patient),
            "title": k.title,
            "kind": kind,
            "record": shown,
            "rows": monitoring.with_field_queries(rows(obj, proj, patient.birth_date), panel),
            "last_change": last_change(obj) if proj.allows("audit_trail") else None,
            "can_edit": access.can_write(request.user),
            **panel,
        },
    )


def sheet_context(sheet: models.Model, proj: privacy.Projection, birth) -> dict[str, Any]:
    """For the GMFM-88 page: the item scores (source data), the other fields the role may see
    and the last change."""
    from cpstem.measures import gmfm

    scores = sheet.items or {}
    return {
        "item_rows": [
            {
                "number": i.number,
                "title": i.title,
                "dimension": i.dimension,
                "score": "NT" if scores.get(str(i.number)) is None else scores[str(i.number)],
            }
            for i in gmfm.ITEMS
        ],
        "sheet_rows": [
            r
            for r in rows(sheet, proj, birth)
            if r["field"] in ("with_aids", "goal_dimensions", "assessor", "notes")
        ],
        "last_change": last_change(sheet) if proj.allows("audit_trail") else None,
    }
