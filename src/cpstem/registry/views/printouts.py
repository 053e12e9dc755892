"""Printable PDFs: the patient summary and the GMFM-88 score sheet (blank or filled)."""

from __future__ import annotations

import base64
import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache

from cpstem.errors import CpstemError
from cpstem.measures import gmfm
from cpstem.registry import access, privacy
from cpstem.registry.models import GMFM88Assessment, Patient
from cpstem.registry.services import trajectory
from cpstem.registry.services.pdf import PdfUnavailable, html_to_pdf
from cpstem.registry.views.common import visible_patient
from cpstem.registry.views.patients import detail_context

#: The score boxes of a GMFM-88 item (9 = not tested), in the order of the CanChild sheet.
SCORES = ("0", "1", "2", "3", "NT")


def _pdf_response(html: str, filename: str) -> HttpResponse:
    try:
        body = html_to_pdf(html)
    except PdfUnavailable as exc:
        return HttpResponse(exc.message, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type="application/pdf")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)
    response["Content-Disposition"] = f'inline; filename="{safe}"'
    return response


def _chart_uri(patient: Patient, proj: privacy.Projection) -> str | None:
    try:
        svg = trajectory.chart(patient, "svg", proj)
    except CpstemError:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _printed(request: HttpRequest) -> dict[str, Any]:
    return {"printed_at": timezone.localtime(), "printed_by": request.user.get_username()}


@login_required
@never_cache
def patient_summary_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """Demographics, classifications, administrations, GMFM-66 chart and observed-vs-expected
    table, spasticity, adverse events and the schedule, as the user's role may see them."""
    proj = privacy.project(request.user)
    p = visible_patient(request, pk)
    context = detail_context(request, proj, p)
    birth = p.birth_date
    context |= _printed(request) | {
        "chart": _chart_uri(p, proj),
        "administrations": [
            proj.record(a, birth) for a in p.administration_set.order_by("date", "pk")
        ],
        "rehab": [proj.record(r, birth) for r in p.rehabepisode_set.order_by("date", "pk")],
    }
    html = render_to_string("registry/print/patient_summary.html", context, request=request)
    return _pdf_response(html, f"{proj.label(p)}-summary.pdf")


def _sheet_rows(scores: dict[int, int | None] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for code, dim in gmfm.DIMENSIONS.items():
        rows.append({"dimension": f"{code}. {dim.name}", "max": dim.max_raw})
        for item in gmfm.ITEMS:
            if item.dimension != code:
                continue
            score = None if scores is None else scores.get(item.number)
            marked = None if scores is None else ("NT" if score is None else str(score))
            rows.append(
                {
                    "number": item.number,
                    "title": item.title,
                    "in_gmfm66": item.in_gmfm66,
                    "marked": marked,
                }
            )
    return rows


@login_required
@never_cache
def gmfm88_sheet_pdf(
    request: HttpRequest, pk: int | None = None, rid: int | None = None
) -> HttpResponse:
    """The GMFM-88 score sheet: blank (``/gmfm88/sheet.pdf``, any signed-in user with a role) or
    filled with a recorded assessment and its dimension and total scores."""
    access.require_read(request.user)
    context: dict[str, Any] = _printed(request) | {"scores": SCORES}
    if pk is None:
        context |= {"rows": _sheet_rows(None), "patient": None}
        return _pdf_response(
            render_to_string("registry/print/gmfm88_sheet.html", context, request=request),
            "gmfm88-score-sheet.pdf",
        )
    proj = privacy.project(request.user)
    patient = visible_patient(request, pk)
    sheet = get_object_or_404(GMFM88Assessment, pk=rid, patient=patient)
    result = sheet.result
    context |= {
        "rows": _sheet_rows(dict(result.scores)),
        "patient": proj.patient(patient),
        "sheet": proj.record(sheet, patient.birth_date),
        "result": result,
        "dims": [
            {
                "code": c,
                "name": d.name,
                "raw": result.dimension_raw[c],
                "max": d.max_raw,
                "percent": result.dimension_percent[c],
            }
            for c, d in gmfm.DIMENSIONS.items()
        ],
    }
    html = render_to_string("registry/print/gmfm88_sheet.html", context, request=request)
    return _pdf_response(html, f"{proj.label(patient)}-gmfm88-{rid}.pdf")
