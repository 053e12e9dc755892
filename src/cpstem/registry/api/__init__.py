"""REST API under /api/v1/ (django-ninja; OpenAPI schema at /api/v1/openapi.json).

Bearer-token auth (``cpstem token create NAME``). Invalid input -> 422 with field-level
messages ``{"detail": ..., "errors": {"field": ["message"]}}``; a body that is not JSON -> 400;
no token -> 401; read-only role -> 403; a patient of another site -> 404 (its existence is not
revealed); a write of a locked patient or site -> 423 Locked (``{"detail", "code": "locked",
"lock": {...}}``, see :mod:`.locking`). Every operation documents these answers in the schema.

One Router per aggregate: :mod:`.patients` (patients and their classifications),
:mod:`.treatment` (administrations, rehabilitation), :mod:`.assessments` (GMFM-88/66,
spasticity, laboratory values), :mod:`.safety` (adverse events) and :mod:`.analysis`
(trajectory, schedule, audit trail); the request and response bodies are in :mod:`.schemas`.
:mod:`.records` adds GET/PATCH/DELETE of each single record (ETag, If-Match -> 412, a reason
for change), with its bodies in :mod:`.record_schemas`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import Operation
from ninja.security import HttpBearer

from cpstem.registry import access
from cpstem.registry.api import (
    analysis,
    assessments,
    fhir,
    locking,
    monitoring,
    patients,
    randomisation,
    records,
    safety,
    treatment,
    worklist,
)
from cpstem.registry.errors import FieldErrors, HasDependants, Locked, StaleVersion
from cpstem.registry.models import ApiToken


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        user = ApiToken.objects.authenticate(token)
        if user is None or access.role_of(user) is None:
            return None
        request.user = user  # so the audit trail records who did it
        return user


class RegistryAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """Operation ids as when the API was one module (``cpstem_registry_api_<view>``), so
        clients generated from the schema keep their method names."""
        return "cpstem_registry_api_" + operation.view_func.__name__

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        """A successful write's answer carries the patient's data-quality findings
        (``data_quality``, see :mod:`cpstem.registry.services.data_quality`)."""
        code = temporal_response.status_code if temporal_response else status
        if (
            request.method in ("POST", "PATCH")
            and code in (200, 201)
            and isinstance(data, dict)
            and "data_quality" in data
        ):
            data = {**data, "data_quality": _findings(request, data)}
        return super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )


def _findings(request: HttpRequest, data: dict[str, Any]) -> list[dict[str, Any]]:
    from cpstem.registry.services import data_quality

    match = getattr(request, "resolver_match", None)
    pk = (match.kwargs.get("pk") if match else None) or data.get("id")
    if pk is None:
        return []
    return [f.to_dict() for f in data_quality.check_patient(int(pk))]


api = RegistryAPI(
    title="cpstem registry API",
    version="1",
    description="Children with cerebral palsy treated with cells: patients, administrations, "
    "assessments, adverse events, trajectories and the audit trail.",
    auth=TokenAuth(),
    urls_namespace="api",
)


@api.exception_handler(FieldErrors)
def field_errors(request: HttpRequest, exc: FieldErrors) -> HttpResponse:
    body = {"detail": "invalid input", "errors": exc.errors, "codes": exc.codes}
    return api.create_response(request, body, status=422)


@api.exception_handler(NinjaValidationError)
def schema_errors(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    codes: dict[str, list[str]] = {}
    for e in exc.errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        key = ".".join(loc) or "__all__"
        errors.setdefault(key, []).append(e.get("msg", "invalid"))
        codes.setdefault(key, []).append(e.get("type", "invalid"))
    body = {"detail": "invalid input", "errors": errors, "codes": codes}
    return api.create_response(request, body, status=422)


@api.exception_handler(StaleVersion)
def stale_version(request: HttpRequest, exc: StaleVersion) -> HttpResponse:
    """412: a change based on a version that is no longer the current one."""
    return api.create_response(request, records.stale_body(exc), status=412)


@api.exception_handler(HasDependants)
def has_dependants(request: HttpRequest, exc: HasDependants) -> HttpResponse:
    """409: a delete refused while other records depend on the record."""
    body = {"detail": exc.message, "code": exc.code, "dependants": exc.dependants}
    return api.create_response(request, body, status=409)


@api.exception_handler(Locked)
def locked(request: HttpRequest, exc: Locked) -> HttpResponse:
    """423 Locked: the patient or its site is locked; nothing was written."""
    body = {"detail": exc.message, "code": exc.code, "lock": exc.lock}
    return api.create_response(request, body, status=423)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "not allowed"}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "not found"}, status=404)


for _module in (
    patients,
    treatment,
    assessments,
    safety,
    analysis,
    records,
    worklist,
    fhir,
    monitoring,
    locking,
    randomisation,
):
    api.add_router("", _module.router)

__all__ = ["TokenAuth", "api"]
