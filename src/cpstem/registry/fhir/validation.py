"""Validation of FHIR resources against the R4B models of ``fhir.resources``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from cpstem.errors import CpstemError


class FhirError(CpstemError):
    """A FHIR resource or file that cannot be read, validated or imported."""


def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except ValueError:
        raise FhirError(
            f"unknown FHIR resource type {resource_type!r}",
            code="unknown_resource_type",
            field="resourceType",
            params={"resourceType": resource_type},
        ) from None


def where(resource: Any) -> str:
    """``Type/id`` of a resource for messages."""
    if not isinstance(resource, dict):
        return "(not a JSON object)"
    return f"{resource.get('resourceType', '?')}/{resource.get('id', '?')}"


def validate_resource(resource: Any) -> None:
    """Raise :class:`FhirError` naming the resource and the first invalid elements."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FhirError(
            "a FHIR resource is a JSON object with a resourceType",
            code="not_a_resource",
            field="resourceType",
        )
    try:
        _model(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise FhirError(
            f"{where(resource)} is not valid FHIR R4: {problems}",
            code="invalid_fhir",
            params={"resource": where(resource)},
        ) from None
