"""One privacy projection per role: everything that shows patient data reads it through here.

Pages, the REST API, the research export and the trajectory chart take a :class:`Projection`
(``project(request.user)``, or :func:`research` for exports) and show only what it returns:
plain dicts and :class:`When` values. Templates never decide what a role may see.

- Clinicians, monitors and administrators see every field of the patients of the sites they may
  see (:meth:`Projection.patients`).
- Researchers (pseudonymised, all sites) see research IDs, never study IDs; every calendar date
  becomes the child's age in completed months on that day; free text is withheld (or shown as a
  term of a closed list); quasi-identifiers are coarsened; the audit trail is closed. The
  decision for each field of each model is one row of :data:`policy.FIELDS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import models

from cpstem.errors import CpstemError
from cpstem.outcomes.change import AdministrationChange, Observation
from cpstem.outcomes.dates import add_months, age_months, age_years
from cpstem.registry import access
from cpstem.registry.errors import FieldError
from cpstem.registry.models import Patient
from cpstem.registry.models.patients import PatientQuerySet
from cpstem.registry.models.sites import BLINDED_ROLES, AnyUser, Role
from cpstem.registry.privacy.policy import (
    COARSEN,
    FIELDS,
    OTHER,
    T,
    coded_term,
    date_key,
    treatment,
)

if TYPE_CHECKING:
    from cpstem.registry.services.trajectory import Trajectory

__all__ = [
    "FIELDS",
    "OTHER",
    "Projection",
    "T",
    "When",
    "project",
    "research",
    "treatment",
]

#: The origin of the month grid on which researchers' charts are drawn (never shown).
_EPOCH = date(2000, 1, 1)

#: Parts of the data a role may be refused as a whole (section -> reason), researchers.
_CLOSED_TO_RESEARCHERS = {
    "audit_trail": "the audit trail is not part of the pseudonymised research view",
    "schedule": "the schedule is not part of the pseudonymised research API (the patient page "
    "shows it as ages)",
    "gmfm_sheets": "researchers read assessments through the pseudonymised export",
    "records": "researchers read records through the pseudonymised export (a single record "
    "carries calendar dates and free text)",
    "worklist": "the work-list names children by study ID and calendar dates: it is not part "
    "of the pseudonymised research view",
}


#: Parts of the data closed to roles blind to the randomised allocation (section -> reason).
_CLOSED_TO_BLINDED = {
    "audit_trail": "the audit trail records the child's enrolment group: your role is blind to "
    "the randomised allocation",
    "allocation": "your role is blind to the randomised allocation",
    "administrations": "cell administrations reveal the randomised allocation: your role is "
    "blind to it",
    "worklist": "the work-list shows the dates of cell administrations: your role is blind to "
    "the randomised allocation",
    "randomisation": "the randomisation page shows allocations: your role is blind to them",
    "cohort": "the cohort figures compare the enrolment groups: your role is blind to the "
    "randomised allocation",
}


@dataclass(frozen=True)
class When:
    """A moment of a child's record as a role may see it: the calendar day (not for
    researchers) and the child's age in completed months on that day."""

    day: date | None
    age_months: int | None

    def __str__(self) -> str:
        if self.day is not None:
            return self.day.isoformat()
        return "" if self.age_months is None else f"age {self.age_months} mo"

    def __bool__(self) -> bool:
        return self.day is not None or self.age_months is not None

    @property
    def with_age(self) -> str:
        """``2024-05-02 (age 61 mo)``, or ``age 61 mo`` for researchers."""
        if self.day is not None and self.age_months is not None:
            return f"{self.day.isoformat()} (age {self.age_months} mo)"
        return str(self)


_NEVER = When(None, None)


def _row_key(model: type, name: str) -> tuple[str, str]:
    """(field name, output key) of a row key: FKs are given by attname (``patient_id``)."""
    if name in FIELDS[model]:
        return name, name
    if name.endswith("_id") and name[:-3] in FIELDS[model]:
        return name[:-3], name
    raise KeyError(f"{model.__name__}.{name}: no privacy decision (add it to policy.FIELDS)")


@dataclass(frozen=True)
class Projection:
    """What one role sees of the patient data (see the module docs)."""

    role: str | None
    user: Any = None

    # --- who may see what ---------------------------------------------------------------
    @property
    def pseudonymised(self) -> bool:
        """Research view (also for an account without a role: fail closed)."""
        return self.role not in (Role.ADMIN, Role.CLINICIAN, Role.MONITOR, Role.ASSESSOR)

    @property
    def blinded(self) -> bool:
        """A role blind to the randomised allocation (a blinded assessor): it never sees a
        child's enrolment group, cell administrations, the trajectory's comparison after them
        or the audit trail -- unless the child was unblinded (:meth:`masks`)."""
        return self.role in BLINDED_ROLES

    def masks(self, p: Patient) -> bool:
        """Whether this role must not see ``p``'s allocation: a blinded role, and the child not
        unblinded (an emergency unblinding ends the blind for that child, for every role)."""
        if not self.blinded:
            return False
        from cpstem.registry.models.randomisation import Unblinding

        return not Unblinding.objects.filter(patient_id=p.pk).exists()

    def require_unmasked(self, p: Patient, section: str = "allocation") -> None:
        """PermissionDenied (403 with the reason) when ``p``'s allocation is masked for the role."""
        if self.masks(p):
            raise PermissionDenied(_CLOSED_TO_BLINDED[section])

    @property
    def id_label(self) -> str:
        return "Research ID" if self.pseudonymised else "Study ID"

    @property
    def id_field(self) -> str:
        """The patient field the role searches and sees as the patient's label."""
        return "research_id" if self.pseudonymised else "study_id"

    @property
    def list_order(self) -> tuple[str, ...]:
        """Researchers list patients in research-ID order (random), never in study-ID or
        entry order (sequential study IDs could be read off the research IDs)."""
        return ("research_id",) if self.pseudonymised else ("site__code", "study_id")

    @property
    def may_export(self) -> bool:
        """The pseudonymised research export: researchers and administrators."""
        return self.role in (Role.ADMIN, Role.RESEARCHER)

    @property
    def may_see_audit_trail(self) -> bool:
        return self.allows("audit_trail")

    @property
    def may_see_queries(self) -> bool:
        """Monitoring queries (the sites' own staff; not part of the research view)."""
        return access.sees_monitoring(self.user)

    @property
    def may_monitor(self) -> bool:
        """Open/close queries, source data verification and its progress."""
        return access.can_monitor(self.user)

    @property
    def may_see_randomisation(self) -> bool:
        """The randomisation design page: administrators, clinicians and monitors."""
        return self.role in (Role.ADMIN, Role.CLINICIAN, Role.MONITOR)

    @property
    def may_see_cohort(self) -> bool:
        """The cohort dashboard (figures by group): closed to a blinded role."""
        return self.allows("cohort")

    @property
    def may_see_worklist(self) -> bool:
        return self.role is not None and self.allows("worklist")

    def allows(self, section: str) -> bool:
        if self.blinded and section in _CLOSED_TO_BLINDED:
            return False
        return not (self.pseudonymised and section in _CLOSED_TO_RESEARCHERS)

    def require(self, section: str) -> None:
        """PermissionDenied (a 403 with the reason) when the role may not see ``section``."""
        if not self.allows(section):
            if self.blinded and section in _CLOSED_TO_BLINDED:
                raise PermissionDenied(_CLOSED_TO_BLINDED[section])
            raise PermissionDenied(_CLOSED_TO_RESEARCHERS[section])

    def patients(self) -> PatientQuerySet:
        """The patients this role may see (site separation)."""
        access.require_read(self.user)
        return Patient.objects.visible_to(self.user).select_related("site")

    def search(self, qs: PatientQuerySet, text: str) -> PatientQuerySet:
        return qs.filter(**{f"{self.id_field}__icontains": text})

    # --- single values ------------------------------------------------------------------
    def reason(self, code: str, message: str) -> str:
        """Why a record could not be used: the message, or for researchers its code only (a
        message may quote the record's dates, ages or values)."""
        return code if self.pseudonymised else message

    def error(self, exc: CpstemError) -> FieldError:
        """An analysis error (:class:`~cpstem.errors.CpstemError`) for an API answer: in full,
        or for researchers its code only (message and params may quote the record)."""
        if self.pseudonymised:
            return FieldError(exc.code, exc.code)
        return FieldError.of(exc)

    def label(self, patient: Patient) -> str:
        """Study ID, or the research ID for researchers."""
        return getattr(patient, self.id_field)

    def when(self, day: date | None, birth: date | None) -> When:
        if day is None or day == "":
            return _NEVER
        months = None if birth is None else age_months(birth, day)
        return When(None if self.pseudonymised else day, months)

    # --- rows as data (API, export) -------------------------------------------------------
    def values(self, model: type, row: Mapping[str, Any], birth: date | None) -> dict[str, Any]:
        """One row of ``model`` (field name -> value; foreign keys as ``<name>_id``; the
        patient's ``site`` as its code) as this role may see it. A key without a decision in
        :data:`policy.FIELDS` raises KeyError, so nothing new slips through."""
        out: dict[str, Any] = {}
        for key, value in row.items():
            name, out_key = _row_key(model, key)
            if not self.pseudonymised:
                out[out_key] = value
                continue
            t = treatment(model, name)
            if t in (T.SHOW, T.KEY):
                out[out_key] = value
            elif t is T.DATE:
                out[date_key(name)] = (
                    None if value is None or birth is None else age_months(birth, value)
                )
            elif t is T.TERM:
                out[out_key] = coded_term(model, name, value)
            elif t is T.COARSE:
                out[out_key] = COARSEN[(model, name)](value)
        return out

    def event(self, birth: date, day: date, first_administration: date | None) -> dict[str, Any]:
        """The time of an event for the research tables: age in months and days since the
        first administration (a duration, not a date); calendar dates only for full roles."""
        out: dict[str, Any] = {} if self.pseudonymised else {"date": day}
        return out | {
            "age_months": age_months(birth, day),
            "days_since_first_administration": (day - first_administration).days
            if first_administration
            else None,
        }

    def patient_data(self, p: Patient) -> dict[str, Any]:
        """The patient as the API shows it (``PatientOut``)."""
        v = self.values(
            Patient,
            {
                "id": p.pk,
                "study_id": p.study_id,
                "research_id": p.research_id,
                "site": p.site.code,
                "birth_date": p.birth_date,
                "sex": p.sex,
                "subtype": p.subtype,
                "topography": p.topography,
                "mrics": p.mrics,
                "is_synthetic": p.is_synthetic,
                "group": p.group,
            },
            p.birth_date,
        )
        return {
            "id": v["id"],
            "study_id": v.get("study_id"),
            "research_id": v["research_id"],
            "site": v["site"],
            "birth_date": v.get("birth_date"),
            "age_months": p.age_months(),
            "sex": v["sex"],
            "gmfcs": p.gmfcs_roman or None,
            "subtype": v["subtype"],
            "topography": v["topography"],
            "mrics": v["mrics"],
            "consent_active": p.consent_active,
            "synthetic": v["is_synthetic"],
            "group": None if self.masks(p) else v["group"],
        }

    def data(self, obj: models.Model, birth: date | None = None) -> dict[str, Any]:
        """Every field of a model instance this role may see (data form)."""
        model = type(obj)
        row = {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}
        if model is Patient:
            row.pop("site_id")
            row["site"] = obj.site.code
            birth = obj.birth_date
        elif birth is None:
            birth = obj.patient.birth_date
        return self.values(model, row, birth)

    # --- rows for pages -------------------------------------------------------------------
    def record(self, obj: models.Model, birth: date | None = None) -> dict[str, Any]:
        """A model instance for a template: the fields this role may see (absent otherwise),
        dates as :class:`When`, ``<name>_display`` for coded fields, and ``pk``."""
        model = type(obj)
        if model is Patient:
            birth = obj.birth_date
        elif birth is None:
            birth = obj.patient.birth_date
        out: dict[str, Any] = {"pk": obj.pk}
        for f in model._meta.concrete_fields:
            t = treatment(model, f.name)
            value = getattr(obj, f.attname)
            if t is T.DATE:
                out[f.name] = self.when(value, birth)
                continue
            if not self.pseudonymised:
                shown = value
            elif t is T.HIDE:
                continue
            elif t is T.TERM:
                shown = coded_term(model, f.name, value)
            elif t is T.COARSE:
                shown = COARSEN[(model, f.name)](value)
            else:
                shown = value
            out[f.attname if f.is_relation else f.name] = shown
            if f.choices:
                out[f"{f.name}_display"] = dict(f.flatchoices).get(shown, shown)
        return out

    def patient(self, p: Patient) -> dict[str, Any]:
        """The patient for a template: :meth:`record` plus label, site code, current age."""
        out = self.record(p)
        if self.masks(p):
            out.pop("group", None)
            out["group_display"] = "blinded (your role is blind to the allocation)"
        if "birth_date" in out:
            out["birth_date"] = When(p.birth_date, 0)
        return out | {
            "label": self.label(p),
            "site": p.site.code,
            "age_months": p.age_months(),
            "gmfcs_roman": p.gmfcs_roman,
            "consent_active": p.consent_active,
        }

    def visits(self, visits: Iterable, birth: date, on: date) -> list[dict[str, Any]]:
        """Follow-up visits for a template: status on ``on``, dates as :class:`When`."""
        return [
            self.record(v, birth)
            | {"after": self.when(v.anchor_date, birth), "status": v.status_on(on)}
            for v in visits
        ]

    # --- trajectories and charts ----------------------------------------------------------
    def trajectory(self, t: Trajectory, birth: date) -> dict[str, Any]:
        """A :class:`~cpstem.registry.services.trajectory.Trajectory` as data (API)."""
        if not self.pseudonymised:
            return t.to_dict()

        def months(day: date) -> int:
            return age_months(birth, day)

        head = t.to_dict()
        return {
            "curve_set": head["curve_set"],
            "curve_set_verified": head["curve_set_verified"],
            "gmfcs": t.level,
            "same_day_rule": head["same_day_rule"],
            "observations": [
                {"age_months": months(o.day), "gmfm66": o.score, "se": o.se} | t.combined(o.day)
                for o in t.observations
            ],
            "administrations": [
                {
                    "administration": c.anchor,
                    "age_months": months(c.day),
                    "gmfcs": c.level,
                    "baseline": None
                    if c.baseline is None
                    else {"age_months": months(c.baseline.day), "score": c.baseline.score},
                    "follow_up": [_change_row(r) | {"age_months": months(r.day)} for r in c.rows],
                    "note": c.note,
                }
                for c in t.changes
            ],
        }

    def trajectory_view(self, t: Trajectory, birth: date) -> list[dict[str, Any]]:
        """The observed-vs-expected change after each administration, for a template."""
        return [
            {
                "when": self.when(c.day, birth),
                "level": c.level,
                "baseline": None
                if c.baseline is None
                else {"score": c.baseline.score, "when": self.when(c.baseline.day, birth)},
                "rows": [_change_row(r) | {"when": self.when(r.day, birth)} for r in c.rows],
                "note": c.note,
            }
            for c in t.changes
        ]

    def plot_inputs(
        self,
        birth: date,
        observations: Iterable[Observation],
        changes: Iterable[AdministrationChange],
    ) -> tuple[date, list[Observation], list[AdministrationChange]]:
        """``(birth, observations, changes)`` for the trajectory chart. For researchers every
        day is moved to a month grid (age in completed months from a fixed origin), so that
        nothing in the picture carries a calendar date or an age finer than a month."""
        if not self.pseudonymised:
            return birth, list(observations), list(changes)

        def grid(day: date) -> date:
            return add_months(_EPOCH, age_months(birth, day))

        obs = [replace(o, day=grid(o.day)) for o in observations]
        out = []
        for c in changes:
            day = grid(c.day)
            out.append(
                replace(
                    c,
                    day=day,
                    age_years=age_years(_EPOCH, day),
                    baseline=None
                    if c.baseline is None
                    else replace(c.baseline, day=grid(c.baseline.day)),
                    rows=(),
                )
            )
        return _EPOCH, obs, out


def _change_row(r) -> dict[str, Any]:
    """The numbers of one follow-up comparison (no date, no age: the caller adds its own)."""
    return {
        "months_since": round(r.months_since, 1),
        "score": r.score,
        "observed_change": r.observed_change,
        "expected_population": r.expected_population,
        "expected_anchored": r.expected_anchored,
        "excess_population": r.excess_population,
        "excess_anchored": r.excess_anchored,
        "se_change": r.se_change,
        "verdict_population": r.verdict_population,
        "verdict_anchored": r.verdict_anchored,
    }


def project(user: AnyUser) -> Projection:
    """The projection of a user's role (an account without a role gets the closed one)."""
    return Projection(access.role_of(user), user)


def research() -> Projection:
    """The researchers' projection, for exports that are pseudonymised whoever runs them."""
    return Projection(Role.RESEARCHER)
