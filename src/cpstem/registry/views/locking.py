"""Pages of locks, electronic signatures and data-quality findings.

- :func:`refuse_when_locked` wraps the edit and delete views: a locked patient's (or site's)
  edit page answers 423 with a page that says who locked it, since when and why; a refusal by
  the write path (:class:`~cpstem.registry.errors.Locked`, e.g. a lock set while the form was
  open) gives the same page. After a successful save it adds the patient's data-quality
  findings as warnings.
- ``/patients/<pk>/lock/`` and ``/unlock/`` (admin), ``/locks/`` (site locks, admin),
  ``/patients/<pk>/sign/`` (signature with the password), ``/quality/`` (findings per site).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from cpstem.registry import access, privacy
from cpstem.registry.errors import FieldErrors, Locked, SignatureRefused
from cpstem.registry.models import Lock, Patient, Role, Signature, Site
from cpstem.registry.services import data_quality, locking, signatures
from cpstem.registry.views.common import visible_patient
from cpstem.registry.views.editing import ReasonField

View = Callable[..., HttpResponse]


def locked_response(request: HttpRequest, exc: Locked, patient: Patient | None) -> HttpResponse:
    proj = privacy.project(request.user)
    return render(
        request,
        "registry/locking/locked.html",
        {"lock": exc.lock, "message": exc.message, "patient": patient and proj.patient(patient)},
        status=423,
    )


def refuse_when_locked(view: View) -> View:
    """Decorate an edit/delete view of a patient (``pk``) or a new patient (see the module)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pk = kwargs.get("pk")
        patient = None
        if pk is not None and request.user.is_authenticated:
            access.require_write(request.user)
            patient = visible_patient(request, pk)
            lock = locking.active_lock(patient.pk, patient.site_id)
            if lock is not None:
                return locked_response(request, locking.refuse(lock), patient)
        try:
            response = view(request, *args, **kwargs)
        except Locked as exc:
            return locked_response(request, exc, patient)
        saved = request.method == "POST" and response.status_code == 302
        if saved and patient is not None and Patient.objects.filter(pk=patient.pk).exists():
            for f in data_quality.check_patient(patient.pk):
                messages.warning(
                    request, f"Data quality — {data_quality.RULES[f.rule].title}: {f.message}"
                )
        return response

    return wrapped


class ReasonForm(forms.Form):
    reason = ReasonField(label="Reason", help_text="Required: kept in the audit trail.")


def _require_admin(request: HttpRequest) -> None:
    if access.role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("only an administrator locks or unlocks data")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def patient_lock(request: HttpRequest, pk: int, action: str = "lock") -> HttpResponse:
    """Lock or unlock one patient (admin), with a reason."""
    _require_admin(request)
    patient = visible_patient(request, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        do = locking.lock_patient if action == "lock" else locking.unlock_patient
        try:
            do(patient, request.user, form.cleaned_data["reason"])
        except FieldErrors as exc:
            for e in exc.details.get("__all__", []) + exc.details.get("reason", []):
                form.add_error(None, e.message)
        else:
            messages.success(request, f"Patient {patient.study_id} {action}ed.")
            return redirect("registry:patient", pk=patient.pk)
    return render(
        request,
        "registry/locking/lock_form.html",
        {
            "form": form,
            "action": action,
            "patient": privacy.project(request.user).patient(patient),
            "current": locking.active_lock(patient.pk, patient.site_id),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def site_locks(request: HttpRequest) -> HttpResponse:
    """Every site with its lock (admin): lock or unlock a site with a reason."""
    _require_admin(request)
    form = ReasonForm(request.POST or None)
    if request.method == "POST":
        site = get_object_or_404(Site, code=request.POST.get("site", ""))
        action = request.POST.get("action")
        if form.is_valid() and action in ("lock", "unlock"):
            do = locking.lock_site if action == "lock" else locking.unlock_site
            try:
                do(site, request.user, form.cleaned_data["reason"])
            except FieldErrors as exc:
                form.add_error(None, f"{site.code}: " + exc.message)
            else:
                messages.success(request, f"Site {site.code} {action}ed.")
                return redirect("site_locks")
    open_locks = {
        lk.site_id: lk
        for lk in Lock.objects.filter(site__isnull=False, unlocked_at__isnull=True).select_related(
            "locked_by"
        )
    }
    rows = [{"site": s, "lock": open_locks.get(s.pk)} for s in Site.objects.order_by("code")]
    past = list(Lock.objects.select_related("site", "patient", "locked_by", "unlocked_by")[:100])
    for lk in past:
        lk.what = f"patient {lk.patient.study_id}" if lk.patient_id else f"site {lk.site.code}"
    return render(
        request,
        "registry/locking/site_locks.html",
        {"rows": rows, "form": form, "locks": past},
    )


class SignForm(forms.Form):
    meaning = forms.ChoiceField(label="Meaning of the signature")
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password to sign (21 CFR Part 11: two components).",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["meaning"].choices = [(c, m["text"]) for c, m in signatures.meanings().items()]


@login_required
@never_cache
@sensitive_post_parameters("password")
@sensitive_variables("form")
@require_http_methods(["GET", "POST"])
def patient_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign a patient's data by re-entering the password (admin or a clinician of the site)."""
    patient = visible_patient(request, pk)
    if not signatures.may_sign(request.user, patient):
        raise PermissionDenied("an administrator or a clinician of the patient's site signs")
    form = SignForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            signatures.sign(
                patient,
                request.user,
                form.cleaned_data["password"],
                request,
                form.cleaned_data["meaning"],
            )
        except SignatureRefused as exc:
            form.add_error("password" if exc.field == "password" else None, exc.message)
            status = 403
        else:
            messages.success(request, "Signed: the signature is recorded in the history.")
            return redirect("registry:patient", pk=patient.pk)
    return render(
        request,
        "registry/locking/sign.html",
        {
            "form": form,
            "patient": privacy.project(request.user).patient(patient),
            "signatures": Signature.objects.filter(patient=patient),
        },
        status=status,
    )


@login_required
@never_cache
def quality_page(request: HttpRequest) -> HttpResponse:
    """Data-quality findings per site (admins, monitors and clinicians: their own site)."""
    if access.role_of(request.user) not in (Role.ADMIN, Role.MONITOR, Role.CLINICIAN):
        raise PermissionDenied("the data-quality list is for monitors and administrators")
    qs = Patient.objects.visible_to(request.user)
    code = request.GET.get("site", "")
    if code:
        qs = qs.filter(site__code=code)
    findings = data_quality.check_patients(qs)
    by_site: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_site.setdefault(f.site, []).append(f.to_dict() | {"label": f.study_id})
    ids = access.visible_site_ids(request.user)
    sites = Site.objects.all() if ids is None else Site.objects.filter(pk__in=ids)
    return render(
        request,
        "registry/locking/quality.html",
        {
            "rules": list(data_quality.RULES.values()),
            "by_site": sorted(by_site.items()),
            "total": len(findings),
            "sites": sites,
            "site": code,
        },
    )
