"""Create / edit / delete the records of a patient (one generic view per action)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cpstem.measures import gmfm
from cpstem.registry import access, forms, privacy
from cpstem.registry.errors import FieldErrors, StaleVersion
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    RehabEpisode,
    SpasticityAssessment,
)
from cpstem.registry.services import write
from cpstem.registry.views import deletion, details, editing, monitoring
from cpstem.registry.views.common import visible_patient
from cpstem.registry.views.locking import refuse_when_locked


@dataclass(frozen=True)
class Kind:
    model: type
    form: type
    title: str
    template: str = "registry/record_form.html"


KINDS = {
    "classification": Kind(Classification, forms.ClassificationForm, "GMFCS / MACS / CFCS level"),
    "administration": Kind(Administration, forms.AdministrationForm, "Cell administration"),
    "rehab": Kind(RehabEpisode, forms.RehabForm, "Rehabilitation episode"),
    "gmfm88": Kind(GMFM88Assessment, forms.GMFM88Form, "GMFM-88", "registry/gmfm88_form.html"),
    "gmfm66": Kind(GMFM66Assessment, forms.GMFM66Form, "GMFM-66 (from the GMAE)"),
    "spasticity": Kind(
        SpasticityAssessment,
        forms.SpasticityForm,
        "Spasticity (MAS, Tardieu)",
        "registry/spasticity_form.html",
    ),
    "lab": Kind(LabValue, forms.LabForm, "Laboratory value"),
    "ae": Kind(AdverseEvent, forms.AdverseEventForm, "Adverse event"),
}


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise Http404("unknown record type")
    return KINDS[name]


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@refuse_when_locked
def record_edit(request: HttpRequest, pk: int, kind: str, rid: int | None = None) -> HttpResponse:
    access.require_write(request.user)
    patient = visible_patient(request, pk)
    k = _kind(kind)
    instance = (
        get_object_or_404(k.model, pk=rid, patient=patient) if rid else k.model(patient=patient)
    )
    form = k.form(request.POST or None, instance=instance)
    editing.prepare(form, instance)  # a saved record: reason for change, version seen
    query = monitoring.query_of_edit(request, form, kind, instance)  # reached from a query
    conflict = None
    if request.method == "POST" and form.is_valid():
        obj = form.instance
        if kind == "gmfm88" and obj.assessor_id is None:
            obj.assessor = request.user
        try:
            write.save(obj, **editing.save_args(form))
        except StaleVersion as exc:  # someone else saved first: show theirs beside yours
            conflict = editing.conflict(form, exc, obj)
        except FieldErrors as exc:  # refused inside the transaction (e.g. a concurrent change)
            form.add_record_errors(exc)
        else:
            messages.success(request, f"{k.title} saved.")
            if query is not None:
                return redirect("query", qid=query.pk)
            if kind == "gmfm88":
                return redirect("registry:gmfm88", pk=patient.pk, rid=obj.pk)
            return redirect("registry:patient", pk=patient.pk)
    return render(
        request,
        k.template,
        {
            "form": form,
            "patient": patient,
            "label": privacy.project(request.user).label(patient),
            "kind": kind,
            "title": k.title,
            "instance": instance,
            "conflict": conflict,
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@refuse_when_locked
def record_delete(request: HttpRequest, pk: int, kind: str, rid: int) -> HttpResponse:
    """Confirm (GET) and delete (POST) a record, with a reason for deletion (see
    :mod:`cpstem.registry.views.deletion`)."""
    access.require_write(request.user)
    patient = visible_patient(request, pk)
    k = _kind(kind)
    obj = get_object_or_404(k.model, pk=rid, patient=patient)
    return deletion.confirm_and_delete(
        request, obj, patient, k.title, cancel=("registry:patient", patient.pk)
    )


@login_required
@never_cache
def gmfm88_detail(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    proj = privacy.project(request.user)
    patient = visible_patient(request, pk)
    sheet = get_object_or_404(GMFM88Assessment, pk=rid, patient=patient)
    result = sheet.result
    dims = [
        {
            "code": c,
            "name": d.name,
            "raw": result.dimension_raw[c],
            "max": d.max_raw,
            "percent": result.dimension_percent[c],
            "goal": c in result.goal_dimensions,
        }
        for c, d in gmfm.DIMENSIONS.items()
    ]
    gmfm66 = GMFM66Assessment.objects.filter(sheet=sheet).first()
    birth = patient.birth_date
    sheet_ctx = details.sheet_context(sheet, proj, birth)
    panel = monitoring.record_panel(request, patient, "gmfm88", sheet)
    sheet_ctx["sheet_rows"] = monitoring.with_field_queries(sheet_ctx["sheet_rows"], panel)
    return render(
        request,
        "registry/gmfm88_detail.html",
        {
            "patient": proj.patient(patient),
            "sheet": proj.record(sheet, birth),
            "result": result,
            "dims": dims,
            "gmfm66": None if gmfm66 is None else proj.record(gmfm66, birth),
            **sheet_ctx,
            **panel,
        },
    )
