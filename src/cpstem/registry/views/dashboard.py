"""Cohort dashboard and the researchers' pseudonymised CSV download."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from cpstem.registry import access, exporter, privacy
from cpstem.registry.cohort_forms import CohortFilterForm
from cpstem.registry.services import analysis, cohort_ipd, queries
from cpstem.registry.services.trajectory import curve_set

#: At most this many children are listed as "left out" on the page (all are in the XLSX).
LEFT_OUT_SHOWN = 50


def _left_out(proj: privacy.Projection, patients, current=None) -> list[dict[str, str]]:
    skipped = analysis.cached(cohort_ipd.PARTS, current).skipped
    if not skipped:
        return []
    visible = patients.filter(pk__in=[s.patient_id for s in skipped])
    names = dict(visible.values_list("pk", proj.id_field))
    return [
        {"patient": names[s.patient_id], "reason": proj.reason(s.code, s.reason)}
        for s in skipped
        if s.patient_id in names
    ]


@login_required
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    proj = privacy.project(request.user)
    proj.require("cohort")
    patients = proj.patients()
    form = CohortFilterForm(request.GET, request.user)
    f = form.filters()
    current = analysis.marks()  # the data version, read once per request
    left_out = _left_out(proj, patients, current)
    summary = cohort_ipd.registry_summary(request.user, patients, current)
    query = request.GET.urlencode()
    return render(
        request,
        "registry/dashboard.html",
        {
            "form": form,
            "filters": f,
            "query": query,
            "ipd": cohort_ipd.figures(request.user, f, current),
            "plots": list(cohort_ipd.PLOTS),
            "counts": summary["counts"],
            "not_analysable": left_out[:LEFT_OUT_SHOWN],
            "n_not_analysable": len(left_out),
            "months": f.months,
            "ae": summary["ae"],
            "gmfcs": summary["gmfcs"],
            "curve_set": curve_set(),
            "query_counts": queries.counts(queries.visible(request.user))
            if access.sees_monitoring(request.user)
            else None,
        },
    )


@login_required
@never_cache
def dashboard_plot(request: HttpRequest, name: str) -> HttpResponse:
    """One of the dashboard's plots (SVG) for the same filters as the page."""
    privacy.project(request.user).require("cohort")
    if name not in cohort_ipd.PLOTS:
        raise Http404("no such plot")
    f = CohortFilterForm(request.GET, request.user).filters()
    return HttpResponse(cohort_ipd.plot(request.user, f, name), content_type="image/svg+xml")


@login_required
@never_cache
def dashboard_xlsx(request: HttpRequest) -> HttpResponse:
    """The dashboard's tables as an XLSX workbook (same filters, same role view)."""
    import pandas as pd

    proj = privacy.project(request.user)
    proj.require("cohort")
    patients = proj.patients()
    f = CohortFilterForm(request.GET, request.user).filters()
    current = analysis.marks()
    fig = cohort_ipd.figures(request.user, f, current)
    ae = [
        r
        | {
            "proportion_percent": 100 * r["proportion"],
            "proportion_ci_lower_percent": 100 * r["proportion_ci"][0],
            "proportion_ci_upper_percent": 100 * r["proportion_ci"][1],
            "rate_ci_lower": r["rate_ci"][0],
            "rate_ci_upper": r["rate_ci"][1],
        }
        for r in cohort_ipd.registry_summary(request.user, patients, current)["ae"]
    ]
    for r in ae:
        for k in ("proportion", "proportion_ci", "rate_ci"):
            r.pop(k)
    body = cohort_ipd.xlsx(
        fig,
        {
            "adverse_events": pd.DataFrame(ae),
            "left_out": pd.DataFrame(_left_out(proj, patients, current)),
        },
    )
    response = HttpResponse(
        body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="cpstem-cohort.xlsx"'
    return response


@login_required
@never_cache
def export_csv(request: HttpRequest) -> HttpResponse:
    proj = privacy.project(request.user)
    if not proj.may_export:
        raise PermissionDenied("research exports are for researchers and administrators")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cpstem-pseudonymised.csv"
        exporter.write(path, proj.patients())
        body = path.read_bytes()
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cpstem-pseudonymised.csv"'
    return response
