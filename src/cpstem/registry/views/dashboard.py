"""Cohort dashboard and the researchers' pseudonymised CSV download."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from cpstem.outcomes.cohort import change_table, summarise_change
from cpstem.registry import exporter, privacy
from cpstem.registry.forms import DashboardForm
from cpstem.registry.services import cohort
from cpstem.registry.services.trajectory import curve_set


@login_required
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    proj = privacy.project(request.user)
    patients = proj.patients()
    months = DashboardForm(request.GET).months_or(12)
    rows, skipped = cohort.change_rows(patients, months)
    table = change_table(rows)
    names = dict(
        patients.filter(pk__in=[s.patient_id for s in skipped]).values_list("pk", proj.id_field)
    )
    return render(
        request,
        "registry/dashboard.html",
        {
            "counts": cohort.counts(patients),
            "change_product": cohort.records(summarise_change(table, ("product",))),
            "change": cohort.records(summarise_change(table, ("product", "gmfcs"))),
            "not_analysable": [
                {"patient": names.get(s.patient_id, ""), "reason": proj.reason(s.code, s.reason)}
                for s in skipped
            ],
            "months": months,
            "ae": cohort.ae_by_product(patients),
            "gmfcs": cohort.gmfcs_distribution(patients),
            "curve_set": curve_set(),
        },
    )


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
