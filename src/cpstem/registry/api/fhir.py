"""FHIR R4: one child's data as a ``Bundle`` (type collection), as the caller's role sees it."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from cpstem.registry import privacy
from cpstem.registry.api.common import patient_for
from cpstem.registry.api.schemas import READ, answers
from cpstem.registry.fhir.export import patient_bundle

router = Router()


@router.get(
    "/patients/{pk}/fhir",
    response=answers({200: dict[str, Any]}, 403, *READ),
    tags=["FHIR"],
    openapi_extra={
        "responses": {
            200: {
                "description": "A FHIR R4 Bundle (type collection)",
                "content": {"application/fhir+json": {"schema": {"type": "object"}}},
            }
        }
    },
    summary="The child as a FHIR R4 Bundle",
    description=(
        "A FHIR R4 `Bundle` of type `collection`: Patient (no name; identifier = study ID under "
        "the site's system), Condition, Consent, Observations (GMFCS/MACS/CFCS, GMFM-66 with SE "
        "and CI, Modified Ashworth and Tardieu per muscle and side, labs), Questionnaire + "
        "QuestionnaireResponse (GMFM-88), Procedure + BiologicallyDerivedProduct (cell "
        "administration, dose per kg as an extension), AdverseEvent (CTCAE grade as an "
        "extension), CarePlan (follow-up schedule). Researchers get the pseudonymised form (no "
        "study ID, no date, no free text). A role blind to the randomised allocation (blinded "
        "assessor) gets 403 unless the child was unblinded (the bundle holds its group and "
        "cells). Codes and URLs: docs/fhir.md."
    ),
)
def patient_fhir(request: HttpRequest, pk: int) -> HttpResponse:
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    proj.require_unmasked(patient)
    bundle = patient_bundle(patient, proj)
    return HttpResponse(
        json.dumps(bundle, ensure_ascii=False),
        content_type="application/fhir+json; charset=utf-8",
    )
