"""Deleting a patient or a record from the web: a confirmation page that names what else goes
with it (derived data) or why it cannot go (records that depend on it), and asks for the reason
for deletion (kept in the audit trail). See :mod:`cpstem.registry.services.changes`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cpstem.registry import access, privacy
from cpstem.registry.errors import FieldErrors, HasDependants, StaleVersion
from cpstem.registry.models import Patient
from cpstem.registry.services import changes, write
from cpstem.registry.views import editing
from cpstem.registry.views.common import visible_patient
from cpstem.registry.views.locking import refuse_when_locked


def confirm_and_delete(
    request: HttpRequest,
    obj: models.Model,
    patient: Patient,
    title: str,
    cancel: tuple[str, int],
    done: tuple[str, ...] | None = None,
) -> HttpResponse:
    """GET: the confirmation page; POST: delete with the reason given (or the page again with
    the refusal: no reason, a change by someone else since it was opened, dependants)."""
    form = forms.Form(request.POST if request.method == "POST" else None)
    editing.prepare_delete(form, obj)
    blocking = changes.blocking(obj)
    if request.method == "POST" and form.is_valid():
        try:
            write.delete(obj, **editing.save_args(form))
        except HasDependants as exc:
            blocking = exc.dependants
        except StaleVersion as exc:
            form.add_error(None, ValidationError(exc.message, code=exc.code))
            if exc.record is not None:  # the page shows the current version; confirm again
                data = form.data.copy()
                data["version"] = str(exc.current)
                form.data = data
        except FieldErrors as exc:
            for name, errors in exc.details.items():
                for e in errors:
                    form.add_error(name if name in form.fields else None, e.message)
        else:
            messages.success(
                request, f"{title} deleted (kept in the audit trail with your reason)."
            )
            return redirect(*(done or cancel))
    proj = privacy.project(request.user)
    return render(
        request,
        "registry/confirm_delete.html",
        {
            "form": form,
            "title": title,
            "what": changes.label(obj),
            "patient": proj.patient(patient),
            "blocking": blocking,
            "with_it": changes.derived_note(obj),
            "cancel_url": _url(*cancel),
        },
        status=409 if blocking and request.method == "POST" else 200,
    )


def _url(name: str, *args: object) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@refuse_when_locked
def patient_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a child enrolled by mistake: refused while it has records (each is deleted on its
    own, with its own reason)."""
    access.require_write(request.user)
    patient = visible_patient(request, pk)
    return confirm_and_delete(
        request,
        patient,
        patient,
        f"Patient {patient.study_id}",
        cancel=("registry:patient", patient.pk),
        done=("registry:patients",),
    )
