"""Patients: list, create, read; and their GMFCS / MACS / CFCS classifications."""

from typing import Any

from django.core.exceptions import PermissionDenied
from ninja import Query, Router, Status
from ninja.pagination import paginate

from cpstem.measures import MeasureError, gmfcs
from cpstem.registry import access, privacy
from cpstem.registry.api.lookup import patient_for, writable_patient
from cpstem.registry.api.schemas import (
    READ,
    WRITE,
    ClassificationIn,
    Created,
    Pages,
    PatientFilter,
    PatientIn,
    PatientOut,
    answers,
)
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import Classification, Patient, Site
from cpstem.registry.services.records import save_validated

router = Router()


def patient_out(p: Patient, proj: privacy.Projection) -> dict[str, Any]:
    """The patient as the caller's role may see it (researchers: no study ID, no birth date)."""
    return proj.patient_data(p)


@router.get("/patients", response=answers({200: list[PatientOut]}), tags=["patients"])
@paginate(Pages)
def list_patients(request, filters: Query[PatientFilter]):
    """Researchers get the list in research-ID order (random), not in the order of entry."""
    proj = privacy.project(request.user)
    qs = proj.patients().order_by(*proj.list_order)
    if filters.q:
        qs = proj.search(qs, filters.q)
    if filters.site:
        qs = qs.filter(site__code=filters.site)
    if filters.gmfcs:
        try:
            qs = qs.filter(gmfcs=int(gmfcs.Level.parse(filters.gmfcs)))
        except MeasureError as exc:
            raise FieldErrors({"gmfcs": [str(exc)]}) from None
    return _ProjectedList(qs, proj)


class _ProjectedList:
    """A lazily serialised queryset for pagination (only the page is projected into dicts)."""

    def __init__(self, qs, proj: privacy.Projection):
        self.qs, self.proj = qs, proj

    def __len__(self) -> int:
        return self.qs.count()

    def count(self) -> int:
        return self.qs.count()

    def __getitem__(self, item):
        rows = self.qs[item]
        return [patient_out(p, self.proj) for p in rows]


@router.post("/patients", response=answers({201: PatientOut}, 400, 403), tags=["patients"])
def create_patient(request, payload: PatientIn):
    access.require_write(request.user)
    data = payload.dict()
    code = data.pop("site")
    site = None
    if code:
        site = Site.objects.filter(code=code).first()
        if site is None:
            raise FieldErrors({"site": [f"no site with code {code}"]})
        if access.role_of(request.user) != "admin" and site != access.site_of(request.user):
            raise FieldErrors({"site": ["you can add patients only to your own site"]})
    try:
        site = access.writable_site(request.user, site)
    except PermissionDenied as exc:
        raise FieldErrors({"site": [str(exc)]}) from None
    patient = save_validated(Patient(site=site, **data))
    return Status(201, patient_out(patient, privacy.project(request.user)))


@router.get("/patients/{pk}", response=answers({200: PatientOut}, *READ), tags=["patients"])
def get_patient(request, pk: int):
    proj = privacy.project(request.user)
    return patient_out(patient_for(request, pk), proj)


@router.post(
    "/patients/{pk}/classifications", response=answers({201: Created}, *WRITE), tags=["records"]
)
def add_classification(request, pk: int, payload: ClassificationIn):
    patient = writable_patient(request, pk)
    try:
        level = int(gmfcs.Level.parse(payload.level))
    except MeasureError as exc:
        raise FieldErrors({"level": [str(exc).replace("GMFCS", payload.system.upper())]}) from None
    obj = save_validated(
        Classification(patient=patient, date=payload.date, system=payload.system, level=level)
    )
    return Status(201, {"id": obj.pk})
