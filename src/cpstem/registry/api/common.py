"""Shared by the routers: the patient a call is about (within the caller's sites, else 404) and
the write through the registry's one write path."""

from typing import TypeVar

from django.db import models
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from cpstem.registry import access
from cpstem.registry.api.schemas import In
from cpstem.registry.errors import FieldError, FieldErrors
from cpstem.registry.models import Patient
from cpstem.registry.services import write

M = TypeVar("M", bound=models.Model)


def reject_unknown_query(request: HttpRequest, known: set[str]) -> None:
    """A query parameter the operation does not have (a misspelt filter) is a 422, not silently
    ignored (the OpenAPI schema allows no other parameters)."""
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise FieldErrors(
            {
                name or "__all__": [
                    FieldError(
                        f"unknown query parameter {name!r} (allowed: {', '.join(sorted(known))})",
                        "unknown_parameter",
                        {"parameter": name},
                    )
                ]
                for name in unknown
            }
        )


def patient_for(request: HttpRequest, pk: int) -> Patient:
    """A patient the caller may see (another site's patient is a 404: not revealed)."""
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("site"), pk=pk)


def writable_patient(request: HttpRequest, pk: int) -> Patient:
    """A patient the caller may see and whose records the caller's role may write (else 403)."""
    patient = patient_for(request, pk)
    access.require_write(request.user)
    return patient


def save(instance: M, body: type[In] | In) -> M:
    """Save through :func:`cpstem.registry.services.write.save`; a refusal names the fields as
    the request body does (the body's documented :attr:`In.error_fields`)."""
    try:
        return write.save(instance)
    except FieldErrors as exc:
        raise exc.renamed(body.error_fields) from None
