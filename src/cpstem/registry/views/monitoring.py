"""Monitoring pages: the site query list, a query's thread and its steps, opening a query,
marking a record verified (SDV) and the SDV progress; and the monitoring panels of the patient
and record pages (:func:`record_panel`, :func:`patient_panel`).

Site separation as everywhere: another site's query, patient or record is a 404; a step the
role may not take is a 403 (researchers see no monitoring at all)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cpstem.registry import access, privacy
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import Patient, Site
from cpstem.registry.models.monitoring import Query, QueryState, RecordKind
from cpstem.registry.services import queries, verification
from cpstem.registry.views.common import visible_patient

STATES = [("", "open or answered"), *QueryState.choices, ("all", "all")]


# --- addresses of records ---------------------------------------------------------------------


def record_url(patient_pk: int, kind: str, rid: int) -> str:
    """The page of a record (the patient page for the child's own data)."""
    if kind == RecordKind.PATIENT:
        return reverse("registry:patient", args=[patient_pk])
    if kind == RecordKind.GMFM88:
        return reverse("registry:gmfm88", args=[patient_pk, rid])
    return reverse("registry:record", args=[patient_pk, kind, rid])


def edit_url(query: Query) -> str:
    """The edit form of the queried record, reached from the query (reason pre-filled)."""
    if query.kind == RecordKind.PATIENT:
        url = reverse("registry:patient_edit", args=[query.patient_id])
    else:
        url = reverse("registry:record_edit", args=[query.patient_id, query.kind, query.record_id])
    return f"{url}?query={query.pk}"


def _int(value: object) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise Http404("no such record") from None
    if not -(2**63) < number < 2**63:
        raise Http404("no such record")
    return number


def _field_label(query: Query) -> str:
    if not query.field:
        return ""
    try:
        return queries.queryable_fields(query.kind).get(query.field, query.field)
    except FieldErrors:
        return query.field


def _row(query: Query, proj: privacy.Projection) -> dict[str, Any]:
    return {
        "pk": query.pk,
        "patient_pk": query.patient_id,
        "patient": proj.label(query.patient),
        "site": query.patient.site.code,
        "kind": query.kind,
        "kind_label": RecordKind(query.kind).label,
        "field": query.field,
        "field_label": _field_label(query),
        "state": query.state,
        "opened_by": query.opened_by.get_username(),
        "opened_at": query.opened_at,
        "updated_at": query.updated_at,
        "last": query.last_text,
        "url": reverse("query", args=[query.pk]),
        "record_url": record_url(query.patient_id, query.kind, query.record_id),
    }


def query_of_edit(
    request: HttpRequest, form: Any, kind: str, instance: models.Model
) -> Query | None:
    """The query an edit form was reached from (``?query=N``, a query about this record that
    the user may see): the reason for change starts pre-filled with ``Query #N: ...`` (which
    links the saved change to the query) and the form returns to the query."""
    raw = request.GET.get("query", "")
    if not raw.isdigit() or len(raw) > 12 or "reason" not in form.fields:
        return None
    if not access.sees_monitoring(request.user):
        return None
    query = (
        queries.visible(request.user).filter(pk=int(raw), kind=kind, record_id=instance.pk).first()
    )
    if query is not None:
        form.fields["reason"].initial = queries.reason_for(query)
    return query


# --- panels of the patient and record pages ----------------------------------------------------


def record_panel(request: HttpRequest, patient: Patient, kind: str, record: models.Model) -> dict:
    """Context of a record page's monitoring panel: its queries (by field), its SDV status and
    what the user may do. Empty for researchers."""
    user = request.user
    if not access.sees_monitoring(user):
        return {"monitoring": None}
    proj = privacy.project(user)
    found = [_row(q, proj) for q in queries.for_record(user, kind, record.pk)]
    by_field: dict[str, list[dict[str, Any]]] = {}
    for r in found:
        by_field.setdefault(r["field"], []).append(r)
    return {
        "monitoring": {
            "kind": kind,
            "rid": record.pk,
            "patient_pk": patient.pk,
            "queries": found,
            "record_queries": by_field.get("", []),
            "by_field": by_field,
            "sdv": verification.status(kind, record),
            "can_monitor": access.can_monitor(user),
            "version": getattr(record, "version", None),
            "new_url": reverse("query_new") + f"?patient={patient.pk}&kind={kind}&rid={record.pk}",
        }
    }


def with_field_queries(rows: list[dict[str, Any]], panel: dict) -> list[dict[str, Any]]:
    """The record page's rows, each with the queries of its field."""
    mon = panel.get("monitoring")
    if not mon:
        return rows
    return [r | {"queries": mon["by_field"].get(r["field"], [])} for r in rows]


def patient_panel(request: HttpRequest, patient: Patient) -> dict[str, Any]:
    """Context of the patient page's query panel: counts per state, the open and answered
    queries of the child and its records, the SDV status of the child's data."""
    user = request.user
    if not access.sees_monitoring(user):
        return {"query_panel": None}
    proj = privacy.project(user)
    qs = queries.for_patient(user, patient)
    active = qs.exclude(state=QueryState.CLOSED).order_by("id")
    return {
        "query_panel": {
            "counts": queries.counts(qs),
            "active": [_row(q, proj) for q in active],
            "list_url": reverse("queries") + f"?patient={patient.pk}&state=all",
            **record_panel(request, patient, RecordKind.PATIENT, patient)["monitoring"],
        }
    }


# --- the query list ---------------------------------------------------------------------------


def _sites_of(user) -> models.QuerySet[Site]:
    ids = access.visible_site_ids(user)
    return Site.objects.all() if ids is None else Site.objects.filter(pk__in=ids)


@login_required
@never_cache
def query_list(request: HttpRequest) -> HttpResponse:
    """The queries of the user's sites, filtered by state, site and child."""
    qs = queries.visible(request.user)  # researchers: 403
    sites = _sites_of(request.user)
    state = request.GET.get("state", "")
    if state not in dict(STATES):
        state = ""
    site = request.GET.get("site", "").strip().upper()
    if site:
        if not sites.filter(code=site).exists():
            raise Http404("no such site")
        qs = qs.filter(patient__site__code=site)
    patient_key = request.GET.get("patient", "")
    patient = None
    if patient_key:
        patient = visible_patient(request, _int(patient_key))
        qs = qs.filter(patient=patient)
    counts = queries.counts(qs)
    if state == "":
        qs = qs.exclude(state=QueryState.CLOSED)
    elif state != "all":
        qs = qs.filter(state=state)
    proj = privacy.project(request.user)
    return render(
        request,
        "registry/monitoring/query_list.html",
        {
            "rows": [_row(q, proj) for q in qs.order_by("-updated_at", "-id")[:500]],
            "counts": counts,
            "states": STATES,
            "state": state,
            "sites": sites.order_by("code"),
            "site": site,
            "patient": proj.patient(patient) if patient else None,
        },
    )


# --- one query --------------------------------------------------------------------------------


def _thread(query: Query) -> list[dict[str, Any]]:
    return [
        {
            "action": m.action,
            "action_label": m.get_action_display(),
            "who": m.author.get_username() if m.author_id else "system",
            "when": m.created_at,
            "text": m.text,
            "version": m.record_version,
        }
        for m in query.messages.select_related("author").order_by("created_at", "id")
    ]


def _query_page(request: HttpRequest, query: Query, error: str = "", status: int = 200):
    proj = privacy.project(request.user)
    record = queries.record_of_query(query)
    return render(
        request,
        "registry/monitoring/query_detail.html",
        {
            "q": _row(query, proj),
            "thread": _thread(query),
            "actions": queries.allowed_actions(request.user, query),
            "record_exists": record is not None,
            "edit_url": edit_url(query)
            if record is not None and access.can_answer_queries(request.user)
            else "",
            "history_url": reverse("registry:history", args=[query.patient_id])
            if proj.may_see_audit_trail
            else "",
            "max_length": queries.MESSAGE_MAX_LENGTH,
            "error": error,
        },
        status=status,
    )


@login_required
@never_cache
def query_detail(request: HttpRequest, qid: int) -> HttpResponse:
    return _query_page(request, queries.get_visible(request.user, qid))


@login_required
@never_cache
@require_POST
def query_action(request: HttpRequest, qid: int, action: str) -> HttpResponse:
    """Answer, close or re-open a query (POST, with a message)."""
    if action not in queries.ACTIONS:
        raise Http404("no such action")
    query = queries.get_visible(request.user, qid)
    try:
        queries.ACTIONS[action](request.user, query, request.POST.get("message"))
    except FieldErrors as exc:
        return _query_page(request, query, exc.message, status=422)
    messages.success(request, f"Query #{query.pk} {queries.QueryAction(action).label}.")
    return redirect("query", qid=query.pk)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def query_new(request: HttpRequest) -> HttpResponse:
    """Open a query on a record (or one field of it): monitors and administrators."""
    access.require_monitor(request.user)
    data = request.POST if request.method == "POST" else request.GET
    patient = visible_patient(request, _int(data.get("patient")))
    kind = data.get("kind", "")
    if kind not in RecordKind.values:
        raise Http404("unknown record type")
    record = queries.record_for(patient, kind, _int(data.get("rid")))
    field = data.get("field", "")
    fields = queries.queryable_fields(kind)
    error = ""
    if request.method == "POST":
        try:
            q = queries.open_query(
                request.user, patient, kind, record.pk, field, data.get("message")
            )
        except FieldErrors as exc:
            error = exc.message
        else:
            messages.success(request, f"Query #{q.pk} opened.")
            return redirect("query", qid=q.pk)
    proj = privacy.project(request.user)
    return render(
        request,
        "registry/monitoring/query_form.html",
        {
            "patient": proj.patient(patient),
            "kind": kind,
            "kind_label": RecordKind(kind).label,
            "rid": record.pk,
            "field": field,
            "fields": sorted(fields.items(), key=lambda kv: kv[1]),
            "message": data.get("message", "") if request.method == "POST" else "",
            "record_url": record_url(patient.pk, kind, record.pk),
            "max_length": queries.MESSAGE_MAX_LENGTH,
            "error": error,
        },
        status=422 if error else 200,
    )


# --- source data verification -----------------------------------------------------------------


@login_required
@never_cache
@require_POST
def verify_record(request: HttpRequest) -> HttpResponse:
    """Mark a record verified at its current version (monitors and administrators)."""
    access.require_monitor(request.user)
    patient = visible_patient(request, _int(request.POST.get("patient")))
    kind = request.POST.get("kind", "")
    if kind not in RecordKind.values:
        raise Http404("unknown record type")
    rid = _int(request.POST.get("rid"))
    record = queries.record_for(patient, kind, rid)
    seen = request.POST.get("version", "")
    if seen and seen != str(getattr(record, "version", "")):
        messages.warning(
            request,
            "The record was changed since you opened the page: check it again before marking "
            "it verified.",
        )
        return redirect(record_url(patient.pk, kind, rid))
    v = verification.verify(request.user, patient, kind, rid)
    messages.success(request, f"{RecordKind(kind).label}: source data verified (v{v.version}).")
    return redirect(record_url(patient.pk, kind, rid))


@login_required
@never_cache
def sdv_progress(request: HttpRequest) -> HttpResponse:
    """Records verified / total, per site and record kind (monitors and administrators)."""
    if not access.can_monitor(request.user):
        raise PermissionDenied("the SDV progress is for monitors and administrators")
    sites = _sites_of(request.user)
    site = request.GET.get("site", "").strip().upper()
    if site and not sites.filter(code=site).exists():
        raise Http404("no such site")
    rows = verification.progress(request.user, site)
    groups: dict[str, list[verification.Progress]] = {}
    for r in rows:
        groups.setdefault(r.site, []).append(r)
    return render(
        request,
        "registry/monitoring/sdv_progress.html",
        {"groups": groups, "sites": sites.order_by("code"), "site": site},
    )
