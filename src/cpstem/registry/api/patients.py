"""Patients: list, create, read; and their GMFCS / MACS / CFCS classifications."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from ninja.pagination import paginate

from cpstem.measures import MeasureError, cfcs, gmfcs, macs
from cpstem.measures.levels import FunctionLevel
from cpstem.registry import access, privacy
from cpstem.registry.api.common import (
    patient_for,
    reject_unknown_query,
    save,
    writable_patient,
)
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
from cpstem.registry.errors import FieldError, FieldErrors
from cpstem.registry.models import Classification, Patient, Site

router = Router()

#: The level parser of each classification system: its errors name the system.
LEVEL_PARSERS: dict[str, type[FunctionLevel]] = {
    "gmfcs": gmfcs.Level,
    "macs": macs.Level,
    "cfcs": cfcs.Level,
}


def patient_out(p: Patient, proj: privacy.Projection) -> dict[str, Any]:
    """The patient as the caller's role may see it (researchers: no study ID, no birth date)."""
    return proj.patient_data(p)


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


@router.get("/patients", response=answers({200: list[PatientOut]}), tags=["patients"])
@paginate(Pages)
def list_patients(request: HttpRequest, filters: Query[PatientFilter]) -> _ProjectedList:
    """Researchers get the list in research-ID order (random), not in the order of entry."""
    reject_unknown_query(request, {"q", "site", "gmfcs", "limit", "offset"})
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
            raise FieldErrors({"gmfcs": [FieldError.of(exc)]}) from None
    return _ProjectedList(qs, proj)


@router.post("/patients", response=answers({201: PatientOut}, 400, 403, 423), tags=["patients"])
def create_patient(request: HttpRequest, payload: PatientIn) -> Status:
    access.require_write(request.user)
    data = payload.dict()
    code = data.pop("site")
    site = None
    if code:
        site = Site.objects.filter(code=code).first()
        if site is None:
            raise FieldErrors.one("site", f"no site with code {code}", "does_not_exist")
        if access.role_of(request.user) != "admin" and site != access.site_of(request.user):
            raise FieldErrors.one(
                "site", "you can add patients only to your own site", "not_your_site"
            )
    try:
        site = access.writable_site(request.user, site)
    except PermissionDenied as exc:
        raise FieldErrors.one("site", str(exc), "site_required") from None
    patient = save(Patient(site=site, **data), payload)
    return Status(201, patient_out(patient, privacy.project(request.user)))


@router.get("/patients/{pk}", response=answers({200: PatientOut}, *READ), tags=["patients"])
def get_patient(request: HttpRequest, pk: int, response: HttpResponse) -> dict[str, Any]:
    """The patient, with its version as the ``ETag`` (``If-Match`` of PATCH and DELETE)."""
    proj = privacy.project(request.user)
    patient = patient_for(request, pk)
    response["ETag"] = f'"{patient.version}"'
    return patient_out(patient, proj)


@router.post(
    "/patients/{pk}/classifications", response=answers({201: Created}, *WRITE), tags=["records"]
)
def add_classification(request: HttpRequest, pk: int, payload: ClassificationIn) -> Status:
    patient = writable_patient(request, pk)
    try:
        level = int(LEVEL_PARSERS[payload.system].parse(payload.level))
    except MeasureError as exc:
        raise FieldErrors({"level": [FieldError.of(exc)]}) from None
    obj = save(
        Classification(patient=patient, date=payload.date, system=payload.system, level=level),
        payload,
    )
    return Status(201, {"id": obj.pk})
