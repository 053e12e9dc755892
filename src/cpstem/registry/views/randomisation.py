"""The randomisation pages: the design page (scheme, list status, counts, eligible children),
randomising a child (the checklist, then the allocation), the allocation page and unblinding."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cpstem.registry import access, privacy
from cpstem.registry.clock import today
from cpstem.registry.errors import FieldErrors, RegistryError
from cpstem.registry.models import Administration, Patient
from cpstem.registry.models.randomisation import (
    AllocationSlot,
    Method,
    RandomisationEvent,
    Unblinding,
)
from cpstem.registry.models.sites import Role
from cpstem.registry.services import randomisation as rz
from cpstem.registry.views.common import visible_patient

#: The upload limit of a list file (a list of 10,000 slots is about 300 kB).
MAX_LIST_BYTES = 5 * 1024 * 1024

#: The trial-design tools of the command line the page points to.
DESIGN_TOOLS = (
    ("cpstem design size", "sample size and power (difference, ANCOVA, change)"),
    ("cpstem design sequential", "group-sequential boundaries (O'Brien-Fleming, Pocock, HSD)"),
    ("cpstem design simulate", "simulation-based power for the planned analysis"),
    ("cpstem design tsa", "trial sequential analysis of the evidence"),
    ("cpstem design randomise", "a stratified permuted-block list with its SHA-256 (to upload)"),
    ("cpstem randomisation status", "this page on the command line"),
)


def _errors(exc: FieldErrors | RegistryError) -> list[str]:
    if isinstance(exc, FieldErrors):
        return [m for v in exc.errors.values() for m in v]
    return [exc.message]


def _eligible(proj: privacy.Projection) -> list[Patient]:
    """Children the user may see and randomise: consent active, not randomised, no cells."""
    return list(
        proj.patients()
        .filter(
            allocation__isnull=True,
            consent_date__isnull=False,
            consent_withdrawn_date__isnull=True,
        )
        .exclude(Exists(Administration.objects.filter(patient=OuterRef("pk"))))
        .order_by(*proj.list_order)[:200]
    )


def randomisation_context(
    request: HttpRequest, proj: privacy.Projection, p: Patient
) -> dict[str, Any] | None:
    """The patient page's randomisation card: None without a scheme; the arm only for a role
    that may see it."""
    s = rz.scheme()
    if s is None:
        return None
    slot = AllocationSlot.objects.filter(patient=p).select_related("allocated_by").first()
    masked = proj.masks(p)
    return {
        "randomised": slot is not None,
        "arm": None if slot is None or masked else slot.arm,
        "allocated_at": None if slot is None else slot.allocated_at,
        "masked": masked,
        "may_randomise": slot is None and access.can_write(request.user),
        "unblindings": Unblinding.objects.filter(patient=p).count(),
    }


def _require_page(proj: privacy.Projection) -> None:
    if not proj.may_see_randomisation:
        raise PermissionDenied(
            "the randomisation page is for administrators, clinicians and monitors"
            + (" (your role is blind to the allocation)" if proj.blinded else "")
        )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def design_page(request: HttpRequest) -> HttpResponse:
    """The design page; POST: an administrator defines the scheme, generates, uploads or
    verifies the list (``action``)."""
    proj = privacy.project(request.user)
    _require_page(proj)
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "")
        try:
            s = rz.scheme()
            if action == "define":
                rz.define_scheme(
                    request.POST.get("name", ""),
                    method=request.POST.get("method", Method.BLOCKS),
                    ratio=_ints(request.POST.get("ratio", "1,1"), "ratio"),
                    block_sizes=_ints(request.POST.get("block_sizes", "2,4,6"), "block_sizes"),
                    per_stratum=_ints(request.POST.get("per_stratum", "24"), "per_stratum")[0],
                    by=request.user,
                    reason=reason,
                )
                messages.success(request, "Randomisation scheme defined.")
            elif s is None:
                raise RegistryError("define the scheme first", code="no_scheme")
            elif action == "generate":
                made = rz.generate(s, by=request.user, reason=reason)
                messages.success(
                    request,
                    f"Concealed list generated: {made.slots} slots in {made.strata} strata, "
                    f"SHA-256 {made.list_sha256} (record it in the trial master file).",
                )
            elif action == "upload":
                f = request.FILES.get("file")
                if f is None:
                    raise RegistryError("choose the list file (CSV)", code="required")
                if f.size > MAX_LIST_BYTES:
                    raise RegistryError(
                        f"the file has {f.size} bytes: at most {MAX_LIST_BYTES}", code="too_large"
                    )
                made = rz.upload(s, f.read(), by=request.user, reason=reason)
                messages.success(
                    request,
                    f"List uploaded: {made.slots} slots, file SHA-256 {made.upload_sha256}.",
                )
            elif action == "verify":
                f = request.FILES.get("file")
                res = rz.verify(s, file=f.read() if f else None, by=request.user, reason=reason)
                (messages.success if res.ok else messages.error)(request, res.summary())
            else:
                raise RegistryError(f"unknown action {action!r}", code="invalid")
        except (FieldErrors, RegistryError) as exc:
            errors = _errors(exc)
        else:
            return redirect("randomisation")
    s = rz.scheme()
    ctx: dict[str, Any] = {
        "scheme": s,
        "errors": errors,
        "is_admin": proj.role == Role.ADMIN,
        "tools": DESIGN_TOOLS,
    }
    if s is not None:
        ctx |= {
            "status": rz.status(s),
            "eligible": [
                {"pk": p.pk, "label": proj.label(p), "site": p.site.code} for p in _eligible(proj)
            ]
            if access.can_write(request.user)
            else [],
            "events": [
                {
                    "at": e.at,
                    "kind": e.get_kind_display(),
                    "by": e.by.get_username() if e.by else "command line",
                    "patient": proj.label(e.patient) if e.patient_id else "",
                    "reason": e.reason,
                }
                for e in RandomisationEvent.objects.filter(scheme=s)
                .filter(Q(patient__isnull=True) | Q(patient__in=proj.patients()))
                .select_related("by", "patient")
                .order_by("-at")[:50]
            ],
            "unblindings": [
                {
                    "at": u.at,
                    "by": u.by.get_username() if u.by else "command line",
                    "role": u.role,
                    "patient": proj.label(u.patient),
                    "patient_pk": u.patient_id,
                    "reason": u.reason,
                }
                for u in Unblinding.objects.filter(patient__in=proj.patients()).select_related(
                    "by", "patient"
                )
            ],
        }
    return render(request, "registry/randomisation/design.html", ctx)


def _ints(text: str, name: str) -> list[int]:
    try:
        out = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise FieldErrors({name: [f"{name} {text!r}: whole numbers separated by commas"]}) from None
    if not out:
        raise FieldErrors({name: [f"give {name}"]})
    return out


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def randomise_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The eligibility checklist; on POST the child is randomised and sent to its allocation
    page -- the arm is shown only after the allocation is made."""
    access.require_write(request.user)
    p = visible_patient(request, pk)
    proj = privacy.project(request.user)
    s = rz.scheme()
    errors: list[str] = []
    if s is None:
        errors = ["no randomisation scheme yet (an administrator defines it on the design page)"]
    elif p.is_randomised:
        return redirect("registry:allocation", pk=p.pk)
    elif request.method == "POST":
        confirmed = {k: request.POST.get(f"criterion_{k}") == "on" for k, _ in s.eligibility}
        try:
            rz.randomise(p, confirmed=confirmed, by=request.user)
        except (FieldErrors, RegistryError) as exc:
            errors = _errors(exc)
        else:
            return redirect("registry:allocation", pk=p.pk)
    stratum = None
    if s is not None:
        try:
            stratum = rz.stratum_levels(s, p, today())
        except FieldErrors as exc:
            errors = errors or _errors(exc)
    return render(
        request,
        "registry/randomisation/randomise.html",
        {
            "patient": proj.patient(p),
            "scheme": s,
            "criteria": s.eligibility if s else [],
            "stratum": stratum,
            "consent": p.consent_active,
            "errors": errors,
        },
    )


@login_required
@never_cache
def allocation_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The child's allocation (not for a blinded role while the child is blinded: 403) and
    who unblinded it, when and why."""
    proj = privacy.project(request.user)
    p = visible_patient(request, pk)
    proj.require_unmasked(p)
    if proj.pseudonymised:
        raise PermissionDenied("researchers read the allocation through the pseudonymised export")
    slot = AllocationSlot.objects.filter(patient=p).select_related("allocated_by", "scheme").first()
    return render(
        request,
        "registry/randomisation/allocation.html",
        {
            "patient": proj.patient(p),
            "slot": slot,
            "arm_display": dict(Patient._meta.get_field("group").flatchoices).get(
                slot.arm, slot.arm
            )
            if slot
            else "",
            "unblindings": list(Unblinding.objects.filter(patient=p).select_related("by")),
            "may_unblind": slot is not None and proj.role in rz.UNBLINDING_ROLES,
        },
    )


@login_required
@never_cache
@require_POST
def unblind_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Emergency unblinding of one child (administrators, clinicians), with the reason."""
    p = visible_patient(request, pk)
    try:
        rz.unblind(p, by=request.user, reason=request.POST.get("reason", ""))
    except (FieldErrors, RegistryError) as exc:
        for m in _errors(exc):
            messages.error(request, m)
    else:
        messages.success(request, "Unblinded: the allocation is now shown to the blinded roles.")
    return redirect("registry:allocation", pk=p.pk)
