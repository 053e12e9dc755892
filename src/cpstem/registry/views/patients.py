"""Patient list, patient page, trajectory chart, audit trail, create/edit patient."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, Min, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cpstem.errors import CpstemError
from cpstem.measures.errors import MeasureError
from cpstem.measures.spasticity import MAS, MuscleGroup
from cpstem.registry import access, privacy
from cpstem.registry.clock import today
from cpstem.registry.errors import FieldErrors, StaleVersion
from cpstem.registry.forms import PatientFilterForm, PatientForm
from cpstem.registry.models import Administration, FollowUpVisit, Patient, Site
from cpstem.registry.models.base import PatientRecord
from cpstem.registry.models.patients import LEVELS
from cpstem.registry.models.treatment import Product
from cpstem.registry.services import history, trajectory, write
from cpstem.registry.views import editing, monitoring
from cpstem.registry.views.common import visible_patient
from cpstem.registry.views.locking import refuse_when_locked
from cpstem.registry.views.randomisation import randomisation_context

PAGE_SIZE = 50


def overdue_visits(on: date) -> QuerySet[FollowUpVisit]:
    return FollowUpVisit.objects.filter(
        done_on__isnull=True, target_date__lt=on, window_end__gte=on
    )


@login_required
@never_cache
def patient_list(request: HttpRequest) -> HttpResponse:
    proj = privacy.project(request.user)
    on = today()
    form = PatientFilterForm(request.GET)
    f = form.filters()
    qs = proj.patients()
    if f.get("q"):
        qs = proj.search(qs, f["q"])
    if f.get("site"):
        qs = qs.filter(site__code=f["site"])
    if f.get("gmfcs"):
        qs = qs.filter(gmfcs=f["gmfcs"])
    if f.get("product") and not proj.blinded:  # a product filter would reveal the arm
        qs = qs.filter(
            Exists(Administration.objects.filter(patient=OuterRef("pk"), product=f["product"]))
        )
    if f.get("overdue"):
        qs = qs.filter(Exists(overdue_visits(on).filter(patient=OuterRef("pk"))))
    page = Paginator(qs.order_by(*proj.list_order), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    annotate_page(page.object_list, on)
    rows = [
        proj.patient(p)
        | {
            "next_due": proj.when(p.next_due, p.birth_date),
            "is_overdue": p.is_overdue,
            "first_admin": None if proj.masks(p) else proj.when(p.first_admin, p.birth_date),
        }
        for p in page.object_list
    ]
    params = request.GET.copy()
    params.pop("page", None)
    sites = (
        Site.objects.filter(pk__in=access.visible_site_ids(request.user))
        if access.visible_site_ids(request.user) is not None
        else Site.objects.all()
    )
    return render(
        request,
        "registry/patient_list.html",
        {
            "page": page,
            "rows": rows,
            "q": f.get("q", ""),
            "site": f.get("site", ""),
            "gmfcs": str(f["gmfcs"]) if f.get("gmfcs") else "",
            "product": f.get("product", ""),
            "overdue": bool(f.get("overdue")),
            "filter_errors": form.errors,
            "sites": sites,
            "products": [] if proj.blinded else Product.choices,
            "levels": LEVELS,
            "querystring": params.urlencode(),
        },
    )


def annotate_page(patients: list[Patient], on: date) -> None:
    """Next visit, overdue flag and first administration for one page of patients (a few
    queries on the page's ids, so that the list stays fast with many patients)."""
    ids = [p.pk for p in patients]
    open_visits = FollowUpVisit.objects.filter(
        patient_id__in=ids, done_on__isnull=True, window_end__gte=on
    )
    next_due = dict(
        open_visits.values("patient_id")
        .annotate(d=Min("target_date"))
        .values_list("patient_id", "d")
    )
    late = set(overdue_visits(on).filter(patient_id__in=ids).values_list("patient_id", flat=True))
    first = dict(
        Administration.objects.filter(patient_id__in=ids)
        .values("patient_id")
        .annotate(d=Min("date"))
        .values_list("patient_id", "d")
    )
    for p in patients:
        p.next_due, p.is_overdue, p.first_admin = next_due.get(p.pk), p.pk in late, first.get(p.pk)


def _timeline(proj: privacy.Projection, p: Patient) -> list[dict]:
    """Every record of the patient, newest first, as the role may see it."""
    birth = p.birth_date
    items = []

    def add(
        obj: PatientRecord, kind: str, label: str, text: Callable[[dict[str, Any]], str]
    ) -> None:
        r = proj.record(obj, birth)
        items.append(
            {
                "sort": (obj.date, kind),
                "when": r["date"],
                "kind": kind,
                "label": label,
                "text": text(r),
                "pk": obj.pk,
            }
        )

    for a in p.administration_set.all():
        add(
            a,
            "administration",
            "Cells",
            lambda r: (
                f"{r['product_display']}, {r['route_display'].lower()}, "
                f"{r['dose_cells_per_kg']:.3g} cells/kg"
            ),
        )
    for g in p.gmfm88assessment_set.all():
        add(
            g,
            "gmfm88",
            "GMFM-88",
            lambda r: (
                f"total {r['total']:.1f} %"
                + (f", {r['n_not_tested']} NT" if r["n_not_tested"] else "")
            ),
        )
    for g in p.gmfm66assessment_set.all():
        add(
            g,
            "gmfm66",
            "GMFM-66",
            lambda r: (
                f"{r['score']:.1f}"
                + (f" (SE {r['se']:.2f})" if r["se"] else "")
                + f" - {r['source_display']}"
            ),
        )
    for s in p.spasticityassessment_set.all():
        add(
            s,
            "spasticity",
            "Spasticity",
            lambda r: f"{len(r['mas'])} MAS, {len(r['tardieu'])} Tardieu ratings",
        )
    for e in p.adverseevent_set.all():
        add(
            e,
            "ae",
            "Adverse event",
            lambda r: f"{r['term']}, grade {r['grade']}" + (", SERIOUS" if r["serious"] else ""),
        )
    for ep in p.rehabepisode_set.all():
        add(
            ep,
            "rehab",
            "Rehabilitation",
            lambda r: f"{r['therapy_display']} {r['hours_per_week']:g} h/week",
        )
    for c in p.classification_set.all():
        add(c, "classification", c.get_system_display(), lambda r: f"level {r['level_display']}")
    for v in p.labvalue_set.all():
        add(v, "lab", "Lab", lambda r: f"{r['analyte']} {r['value']:g} {r['unit']}")
    return sorted(items, key=lambda i: i["sort"], reverse=True)


def _spasticity_change(assessments: list, muscle: str, side: str) -> str:
    """The limb's change from its first to its last assessment: Modified Ashworth in grades of
    the ordinal coding 0, 1, 1+, 2, 3, 4 (1 -> 1+ is one grade) and the Tardieu dynamic
    component R2 - R1 in degrees (the analyses' definitions, :mod:`cpstem.outcomes.ipd`)."""
    grades, dynamic = [], []
    for s in assessments:
        for r in s.mas:
            if (r["muscle"], r["side"]) == (muscle, side):
                with contextlib.suppress(MeasureError):  # a legacy grade: not counted
                    grades.append(MAS.parse(r["grade"]))
        for r in s.tardieu:
            if (r["muscle"], r["side"]) == (muscle, side) and None not in (
                r.get("r1_deg"),
                r.get("r2_deg"),
            ):
                dynamic.append(float(r["r2_deg"]) - float(r["r1_deg"]))
    parts = []
    if len(grades) >= 2:
        d = grades[-1].ordinal - grades[0].ordinal
        what = "no change" if d == 0 else f"{d:+d} grade{'s' if abs(d) > 1 else ''}"
        parts.append(f"MAS {what} ({grades[0]} → {grades[-1]})")
    if len(dynamic) >= 2:
        parts.append(f"R2 − R1 {dynamic[-1] - dynamic[0]:+g}°")
    return "; ".join(parts)


def _spasticity_table(proj: privacy.Projection, p: Patient) -> tuple[list, list]:
    """Columns (the assessments' times as the role may see them) and one row per muscle."""
    assessments = list(p.spasticityassessment_set.order_by("date", "id"))
    cells: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    for i, s in enumerate(assessments):
        for r in s.mas:
            cells[(r["muscle"], r["side"])][i] = r["grade"]
        for r in s.tardieu:
            key = (r["muscle"], r["side"])
            text = f"X{r['quality']}" if r.get("quality") is not None else ""
            if r.get("r1_deg") is not None or r.get("r2_deg") is not None:
                text += f" R1 {r.get('r1_deg')}° R2 {r.get('r2_deg')}°"
            cells[key][i] = (cells[key].get(i, "") + " / T: " + text.strip()).strip(" /")
    order = {m.value: n for n, m in enumerate(MuscleGroup)}
    rows = [
        {
            "muscle": MuscleGroup(m).label,
            "side": s,
            "values": [cells[(m, s)].get(i, "") for i in range(len(assessments))],
            "change": _spasticity_change(assessments, m, s),
        }
        for (m, s) in sorted(cells, key=lambda k: (order.get(k[0], 99), k[1]))
    ]
    return [proj.when(s.date, p.birth_date) for s in assessments], rows


def detail_context(request: HttpRequest, proj: privacy.Projection, p: Patient) -> dict[str, Any]:
    """What the patient page (and its printable summary) shows, as the role may see it."""
    birth = p.birth_date
    masked = proj.masks(p)  # a blinded role: nothing that reveals the randomised arm
    visits = proj.visits(p.visits.select_related("administration", "patient"), birth, today())
    if masked:
        visits = [v | {"after": "", "administration_id": None} for v in visits]
    spast_dates, spast_rows = _spasticity_table(proj, p)
    try:
        traj = trajectory.trajectory(p)
    except CpstemError as exc:  # the rest of the page still shows (e.g. legacy dates)
        traj = None
        reason = proj.reason(exc.code, exc.message)
        messages.warning(request, f"Trajectory not analysable: {reason}")
    timeline = _timeline(proj, p)
    if masked:
        timeline = [i for i in timeline if i["kind"] != "administration"]
    return {
        "patient": proj.patient(p),
        "timeline": timeline,
        "visits": visits,
        "traj_level": traj.level if traj else None,
        "changes": proj.trajectory_view(traj, birth) if traj and not masked else [],
        "randomisation": randomisation_context(request, proj, p),
        "spast_dates": spast_dates,
        "spast_rows": spast_rows,
        "adverse_events": [proj.record(e, birth) for e in p.adverseevent_set.order_by("-date")],
        "classifications": [proj.record(c, birth) for c in p.classification_set.order_by("-date")],
        "can_edit": access.can_write(request.user),
        "curve_set": trajectory.curve_set(),
        **monitoring.patient_panel(request, p),
    }


@login_required
@never_cache
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proj = privacy.project(request.user)
    p = visible_patient(request, pk)
    return render(request, "registry/patient_detail.html", detail_context(request, proj, p))


@login_required
@never_cache
def trajectory_chart(request: HttpRequest, pk: int) -> HttpResponse:
    proj = privacy.project(request.user)
    p = visible_patient(request, pk)
    fmt = "png" if request.GET.get("format") == "png" else "svg"
    try:
        body = trajectory.chart(p, fmt, proj)
    except CpstemError as exc:  # the page says why; the picture is left out (not a 500)
        reason = proj.reason(exc.code, exc.message)
        return HttpResponse(f"Trajectory not analysable: {reason}", status=422)
    return HttpResponse(body, content_type="image/png" if fmt == "png" else "image/svg+xml")


@login_required
@never_cache
def patient_history(request: HttpRequest, pk: int) -> HttpResponse:
    proj = privacy.project(request.user)
    p = visible_patient(request, pk)
    proj.require("audit_trail")
    return render(
        request,
        "registry/history.html",
        {"patient": proj.patient(p), "changes": history.patient_history(p)},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@refuse_when_locked
def patient_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    access.require_write(request.user)
    patient = visible_patient(request, pk) if pk else Patient()
    site_choice = None
    if pk is None:
        sites = Site.objects.all() if access.role_of(request.user) == "admin" else None
        if request.method == "POST" and sites is not None:
            site_choice = sites.filter(code=request.POST.get("site", "")).first()
        patient.site = access.writable_site(request.user, site_choice)
    form = PatientForm(request.POST or None, instance=patient)
    editing.prepare(form, patient)  # a saved patient: reason for change, version seen
    query = monitoring.query_of_edit(request, form, "patient", patient) if pk else None
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            patient = write.save(form.instance, **editing.save_args(form))
        except StaleVersion as exc:  # someone else saved first: show theirs beside yours
            conflict = editing.conflict(form, exc, form.instance)
        except FieldErrors as exc:  # refused inside the transaction (e.g. a double submit)
            form.add_record_errors(exc)
        else:
            if query is not None:
                return redirect("query", qid=query.pk)
            return redirect("registry:patient", pk=patient.pk)
    return render(
        request,
        "registry/patient_form.html",
        {
            "form": form,
            "patient": patient if pk else None,
            "label": privacy.project(request.user).label(patient) if pk else "",
            "conflict": conflict,
            "sites": Site.objects.all()
            if pk is None and access.role_of(request.user) == "admin"
            else None,
        },
    )
