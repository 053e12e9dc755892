"""Patient list, patient page, trajectory chart, audit trail, create/edit patient."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, Min, OuterRef
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cpstem.errors import CpstemError
from cpstem.measures.spasticity import MuscleGroup
from cpstem.registry import access
from cpstem.registry.clock import today
from cpstem.registry.errors import FieldErrors
from cpstem.registry.forms import PatientFilterForm, PatientForm
from cpstem.registry.models import Administration, FollowUpVisit, Patient, Site
from cpstem.registry.models.patients import LEVELS
from cpstem.registry.models.treatment import Product
from cpstem.registry.services import history, trajectory, write
from cpstem.registry.views.common import visible_patient

PAGE_SIZE = 50


def overdue_visits(on):
    return FollowUpVisit.objects.filter(
        done_on__isnull=True, target_date__lt=on, window_end__gte=on
    )


@login_required
@never_cache
def patient_list(request):
    access.require_read(request.user)
    pseudo = access.is_pseudonymised(request.user)
    on = today()
    form = PatientFilterForm(request.GET)
    f = form.filters()
    qs = Patient.objects.visible_to(request.user).select_related("site")
    if f.get("q"):
        field = "research_id" if pseudo else "study_id"
        qs = qs.filter(**{f"{field}__icontains": f["q"]})
    if f.get("site"):
        qs = qs.filter(site__code=f["site"])
    if f.get("gmfcs"):
        qs = qs.filter(gmfcs=f["gmfcs"])
    if f.get("product"):
        qs = qs.filter(
            Exists(Administration.objects.filter(patient=OuterRef("pk"), product=f["product"]))
        )
    if f.get("overdue"):
        qs = qs.filter(Exists(overdue_visits(on).filter(patient=OuterRef("pk"))))
    # Researchers see the list in research-ID order (random), not in study-ID order.
    order = ("research_id",) if pseudo else ("site__code", "study_id")
    page = Paginator(qs.order_by(*order), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    annotate_page(page.object_list, on)
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
            "q": f.get("q", ""),
            "site": f.get("site", ""),
            "gmfcs": str(f["gmfcs"]) if f.get("gmfcs") else "",
            "product": f.get("product", ""),
            "overdue": bool(f.get("overdue")),
            "filter_errors": form.errors,
            "sites": sites,
            "products": Product.choices,
            "levels": LEVELS,
            "querystring": params.urlencode(),
            "today": on,
        },
    )


def annotate_page(patients: list[Patient], on) -> None:
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


def _timeline(p: Patient) -> list[dict]:
    items = []
    for a in p.administration_set.all():
        items.append(
            {
                "date": a.date,
                "kind": "administration",
                "label": "Cells",
                "text": f"{a.get_product_display()}, {a.get_route_display().lower()}, "
                f"{a.dose_cells_per_kg:.3g} cells/kg",
                "obj": a,
            }
        )
    for g in p.gmfm88assessment_set.all():
        items.append(
            {
                "date": g.date,
                "kind": "gmfm88",
                "label": "GMFM-88",
                "text": f"total {g.total:.1f} %"
                + (f", {g.n_not_tested} NT" if g.n_not_tested else ""),
                "obj": g,
            }
        )
    for g in p.gmfm66assessment_set.all():
        items.append(
            {
                "date": g.date,
                "kind": "gmfm66",
                "label": "GMFM-66",
                "text": f"{g.score:.1f}"
                + (f" (SE {g.se:.2f})" if g.se else "")
                + f" - {g.get_source_display()}",
                "obj": g,
            }
        )
    for s in p.spasticityassessment_set.all():
        items.append(
            {
                "date": s.date,
                "kind": "spasticity",
                "label": "Spasticity",
                "text": f"{len(s.mas)} MAS, {len(s.tardieu)} Tardieu ratings",
                "obj": s,
            }
        )
    for e in p.adverseevent_set.all():
        items.append(
            {
                "date": e.date,
                "kind": "ae",
                "label": "Adverse event",
                "text": f"{e.term}, grade {e.grade}" + (", SERIOUS" if e.serious else ""),
                "obj": e,
            }
        )
    for r in p.rehabepisode_set.all():
        items.append(
            {
                "date": r.date,
                "kind": "rehab",
                "label": "Rehabilitation",
                "text": f"{r.get_therapy_display()} {r.hours_per_week:g} h/week",
                "obj": r,
            }
        )
    for c in p.classification_set.all():
        items.append(
            {
                "date": c.date,
                "kind": "classification",
                "label": c.get_system_display(),
                "text": f"level {c.get_level_display()}",
                "obj": c,
            }
        )
    for v in p.labvalue_set.all():
        items.append(
            {
                "date": v.date,
                "kind": "lab",
                "label": "Lab",
                "text": f"{v.analyte} {v.value:g} {v.unit}",
                "obj": v,
            }
        )
    return sorted(items, key=lambda i: (i["date"], i["kind"]), reverse=True)


def _spasticity_table(p: Patient) -> tuple[list, list]:
    assessments = list(p.spasticityassessment_set.order_by("date"))
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
        }
        for (m, s) in sorted(cells, key=lambda k: (order.get(k[0], 99), k[1]))
    ]
    return assessments, rows


@login_required
@never_cache
def patient_detail(request, pk: int):
    p = visible_patient(request, pk)
    on = today()
    visits = list(p.visits.select_related("administration"))
    for v in visits:
        v.status = v.status_on(on)
    spast_dates, spast_rows = _spasticity_table(p)
    try:
        traj = trajectory.trajectory(p)
    except CpstemError as exc:  # the rest of the page still shows (e.g. legacy dates)
        traj = None
        messages.warning(request, f"Trajectory not analysable: {exc.message}")
    return render(
        request,
        "registry/patient_detail.html",
        {
            "patient": p,
            "timeline": _timeline(p),
            "visits": visits,
            "traj": traj,
            "spast_dates": spast_dates,
            "spast_rows": spast_rows,
            "adverse_events": p.adverseevent_set.order_by("-date"),
            "classifications": p.classification_set.order_by("-date"),
            "can_edit": access.can_write(request.user),
            "curve_set": trajectory.curve_set(),
        },
    )


@login_required
@never_cache
def trajectory_chart(request, pk: int):
    p = visible_patient(request, pk)
    fmt = "png" if request.GET.get("format") == "png" else "svg"
    body = trajectory.chart(p, fmt)
    return HttpResponse(body, content_type="image/png" if fmt == "png" else "image/svg+xml")


@login_required
@never_cache
def patient_history(request, pk: int):
    p = visible_patient(request, pk)
    if access.is_pseudonymised(request.user):
        raise PermissionDenied("the audit trail is not part of the pseudonymised research view")
    return render(
        request, "registry/history.html", {"patient": p, "changes": history.patient_history(p)}
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int | None = None):
    access.require_write(request.user)
    patient = visible_patient(request, pk) if pk else Patient()
    site_choice = None
    if pk is None:
        sites = Site.objects.all() if access.role_of(request.user) == "admin" else None
        if request.method == "POST" and sites is not None:
            site_choice = sites.filter(code=request.POST.get("site", "")).first()
        patient.site = access.writable_site(request.user, site_choice)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            patient = write.save(form.instance)
        except FieldErrors as exc:  # refused inside the transaction (e.g. a double submit)
            form.add_record_errors(exc)
        else:
            return redirect("registry:patient", pk=patient.pk)
    return render(
        request,
        "registry/patient_form.html",
        {
            "form": form,
            "patient": patient if pk else None,
            "sites": Site.objects.all()
            if pk is None and access.role_of(request.user) == "admin"
            else None,
        },
    )
