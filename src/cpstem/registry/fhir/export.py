"""FHIR R4 resources of a child, as a role may see them (full, or pseudonymised for research).

One child -> a ``Bundle`` of type ``collection`` (:func:`patient_bundle`); a site -> resources
one per line (bulk-data NDJSON, :func:`ndjson_lines`). The mapping (docs/fhir.md):

- ``Patient`` (no name; identifier = study ID under the site's system, or the research ID),
  ``Condition`` (cerebral palsy, SNOMED 128188000, SCPE subtype, topography, MRICS), ``Consent``;
- ``Observation`` for GMFCS/MACS/CFCS and GMFM-66 (SE and 95 % CI as components,
  ``derivedFrom`` its GMFM-88 sheet), one per muscle and side for Modified Ashworth (SNOMED
  765771006) and Tardieu (SNOMED 1290510006) grouped by a panel per assessment, labs;
- ``Questionnaire`` + ``QuestionnaireResponse`` for the GMFM-88 items;
- ``Procedure`` + ``BiologicallyDerivedProduct`` per cell administration (dose per kg as an
  extension), ``Procedure`` per rehabilitation episode;
- ``AdverseEvent`` (CTCAE grade as an extension), ``CarePlan`` for the follow-up schedule.

In the pseudonymised form (researchers' projection) there is no study ID, no date (ages in
months in the ``age-at-event`` extension), no free text, and terms only from closed lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone

from cpstem.measures import gmfm
from cpstem.measures.spasticity import MuscleGroup
from cpstem.registry.clock import today
from cpstem.registry.fhir.codes import (
    QUESTIONNAIRE_GMFM88,
    base,
    codesystem,
    coding,
    cpstem_coding,
    extension_url,
    system,
)
from cpstem.registry.models import Patient
from cpstem.registry.models.patients import Sex
from cpstem.registry.privacy import Projection
from cpstem.registry.privacy.policy import date_key

Resource = dict[str, Any]

GENDER = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.UNKNOWN: "unknown"}
RISK_FACTORS = (
    "preterm_birth",
    "growth_restriction",
    "maternal_infection",
    "nsaid_paracetamol_exposure",
    "hie",
)
ADJUNCTS = ("gcsf", "epo", "immunosuppression")
#: cpstem AE outcome -> FHIR adverse-event-outcome (R4); cpstem's own code is kept beside it.
AE_OUTCOME = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not_recovered": "ongoing",
    "sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}
#: CTCAE grade -> FHIR adverse-event-severity (mild, moderate, severe); the grade itself is the
#: ``ctcae-grade`` extension (grades 3-5 all map to "severe").
AE_SEVERITY = {1: "mild", 2: "moderate", 3: "severe", 4: "severe", 5: "severe"}
#: The schedule status -> CarePlan activity status (R4 care-plan-activity-status).
VISIT_STATUS = {
    "done": "completed",
    "upcoming": "scheduled",
    "due": "scheduled",
    "overdue": "not-started",
    "missed": "stopped",
}
LEVEL_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}


def ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": extension_url(name), **value}


def ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "unit": unit}
    if code is not None:
        out |= {"system": system("ucum"), "code": code}
    return out


def category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": system("observation_category"), "code": code}]}]


def confirmed(exts: list, obj: Any) -> None:
    """The warnings a user confirmed on the record, and a blinded assessor's flag (kept for the
    round trip)."""
    for flag in ("duplicate", "relatedness"):
        if getattr(obj, f"{flag}_confirmed", False):
            exts.append(ext("confirmed", valueCode=flag))
    if getattr(obj, "blinded_assessor", False):  # assessments: the assessor was blinded
        exts.append(ext("blinded-assessor", valueBoolean=True))


class Exporter:
    """Builds the resources of patients as one :class:`Projection` (role) may see them."""

    def __init__(self, proj: Projection) -> None:
        self.proj = proj
        self.research = proj.pseudonymised

    # --- helpers -----------------------------------------------------------------------
    def when(self, data: dict[str, Any], name: str, element: str, exts: list) -> dict[str, Any]:
        """``{element: ISO date}`` for full roles; for researchers the age in months (an
        ``age-at-event`` extension appended to ``exts``) and no element."""
        if name in data:
            day = data[name]
            return {} if day is None else {element: day.isoformat()}
        months = data.get(date_key(name))
        if months is not None:
            exts.append(ext("age-at-event", valueAge=quantity(months, "months", "mo")))
        return {}

    def text(self, exts: list, value: Any, role: str) -> None:
        """Free text as ``"<field>: <text>"``, full roles only (the projection has dropped it
        for researchers)."""
        if value:
            exts.append(ext("text", valueString=f"{role}: {value}"))

    @staticmethod
    def finish(resource: Resource, exts: list) -> Resource:
        if exts:
            resource["extension"] = exts
        return resource

    def subject(self, p: Patient) -> dict[str, str]:
        return ref("Patient", f"patient-{p.pk}")

    # --- the child ---------------------------------------------------------------------
    def patient(self, p: Patient) -> Resource:
        d = self.proj.data(p)
        exts: list = [ext("site", valueString=p.site.code)]
        if d.get("is_synthetic"):
            exts.append(ext("synthetic", valueBoolean=True))
        if d.get("gestational_age_weeks") is not None:
            exts.append(
                ext("gestational-age-weeks", valueDecimal=float(d["gestational_age_weeks"]))
            )
        if d.get("birth_weight_g") is not None:
            exts.append(ext("birth-weight-g", valueInteger=int(d["birth_weight_g"])))
        exts += [ext("risk-factor", valueCode=f) for f in RISK_FACTORS if d.get(f)]
        exts.append(ext("enrolment-group", valueCode=str(p.group)))
        if d.get("enrolment_date") is not None:
            exts.append(ext("enrolment-date", valueDate=d["enrolment_date"].isoformat()))
        self.text(exts, d.get("risk_other"), "risk_other")
        identifiers = [{"system": system("research_id"), "value": p.research_id}]
        if not self.research:
            identifiers.insert(
                0,
                {
                    "use": "official",
                    "system": system("study_id").format(site=p.site.code),
                    "value": p.study_id,
                },
            )
        r: Resource = {
            "resourceType": "Patient",
            "id": f"patient-{p.pk}",
            "identifier": identifiers,
            "gender": GENDER[Sex(p.sex)],
        }
        if not self.research:
            r["birthDate"] = p.birth_date.isoformat()
        return self.finish(r, exts)

    def condition(self, p: Patient) -> Resource:
        exts: list = []
        if p.subtype:
            exts.append(
                ext(
                    "scpe-subtype",
                    valueCoding=cpstem_coding("scpe-subtype", p.subtype, p.get_subtype_display()),
                )
            )
        if p.mrics:
            exts.append(
                ext("mrics", valueCoding=cpstem_coding("mrics", p.mrics, p.get_mrics_display()))
            )
        r: Resource = {
            "resourceType": "Condition",
            "id": f"condition-{p.pk}",
            "clinicalStatus": {
                "coding": [{"system": system("condition_clinical"), "code": "active"}]
            },
            "verificationStatus": {
                "coding": [{"system": system("condition_verification"), "code": "confirmed"}]
            },
            "code": {"coding": [coding("cerebral_palsy")], "text": "Cerebral palsy"},
            "subject": self.subject(p),
        }
        if p.topography:
            r["bodySite"] = [
                {"coding": [cpstem_coding("topography", p.topography, p.get_topography_display())]}
            ]
        return self.finish(r, exts)

    def consent(self, p: Patient) -> Resource | None:
        d = self.proj.data(p)
        if p.consent_date is None:
            return None
        exts: list = []
        self.text(exts, d.get("consent_version"), "consent_version")
        period: dict[str, Any] = {}
        period |= self.when(d, "consent_date", "start", exts)
        period |= self.when(d, "consent_withdrawn_date", "end", [])
        r: Resource = {
            "resourceType": "Consent",
            "id": f"consent-{p.pk}",
            "status": "inactive" if p.consent_withdrawn_date else "active",
            "scope": {"coding": [coding("consent_scope")]},
            "category": [{"coding": [coding("consent_category")]}],
            "patient": self.subject(p),
            "policyRule": {"text": "cpstem registry consent"},
            "provision": {"type": "permit"},
        }
        r |= self.when(d, "consent_date", "dateTime", [])
        if period:
            r["provision"]["period"] = period
        return self.finish(r, exts)

    # --- records -----------------------------------------------------------------------
    def classification(self, c: Any) -> Resource:
        d, exts = self.proj.data(c), []
        roman = LEVEL_ROMAN[c.level]
        r: Resource = {
            "resourceType": "Observation",
            "id": f"classification-{c.pk}",
            "status": "final",
            "category": category("survey"),
            "code": {
                "coding": [cpstem_coding("observation", c.system, c.get_system_display())],
                "text": f"{c.get_system_display()} level",
            },
            "subject": self.subject(c.patient),
            "valueCodeableConcept": {
                "coding": [cpstem_coding("level", roman, f"{c.get_system_display()} {roman}")]
            },
        }
        r |= self.when(d, "date", "effectiveDateTime", exts)
        return self.finish(r, exts)

    def administration(self, a: Any) -> list[Resource]:
        d, exts, pexts = self.proj.data(a), [], []
        product: Resource = {
            "resourceType": "BiologicallyDerivedProduct",
            "id": f"product-{a.pk}",
            "productCategory": "cells",
            "productCode": {
                "coding": [cpstem_coding("cell-product", a.product, a.get_product_display())],
                "text": d.get("product_other") or a.get_product_display(),
            },
        }
        if d.get("lot"):
            product["identifier"] = [{"system": system("lot"), "value": d["lot"]}]
        pexts.append(
            ext(
                "cell-origin",
                valueCoding=cpstem_coding("cell-origin", a.origin, a.get_origin_display()),
            )
        )
        if d.get("hla_match"):
            pexts.append(ext("hla-match", valueString=d["hla_match"]))
        pexts.append(ext("cells-total", valueDecimal=float(a.cells_total)))
        self.text(pexts, d.get("product_other"), "product_other")
        exts += [
            ext("dose-cells-per-kg", valueDecimal=float(a.dose_cells_per_kg)),
            ext("weight-kg", valueDecimal=float(a.weight_kg)),
            ext("route", valueCoding=cpstem_coding("route", a.route, a.get_route_display())),
        ]
        if a.dose_confirmed:
            exts.append(ext("dose-confirmed", valueBoolean=True))
        exts += [ext("adjunct", valueCode=f) for f in ADJUNCTS if getattr(a, f)]
        self.text(exts, d.get("route_other"), "route_other")
        self.text(exts, d.get("adjunct_other"), "adjunct_other")
        procedure: Resource = {
            "resourceType": "Procedure",
            "id": f"administration-{a.pk}",
            "status": "completed",
            "category": {"coding": [cpstem_coding("procedure", "cell-administration")]},
            "code": {
                "coding": [
                    cpstem_coding("procedure", "cell-administration", "Cell administration")
                ],
                "text": f"{a.get_product_display()}, {a.get_route_display().lower()}",
            },
            "subject": self.subject(a.patient),
            "usedReference": [ref("BiologicallyDerivedProduct", f"product-{a.pk}")],
        }
        procedure |= self.when(d, "date", "performedDateTime", exts)
        if d.get("notes"):
            procedure["note"] = [{"text": d["notes"]}]
        return [self.finish(procedure, exts), self.finish(product, pexts)]

    def rehab(self, e: Any) -> Resource:
        d, exts = self.proj.data(e), []
        period: dict[str, Any] = {}
        period |= self.when(d, "date", "start", exts)
        period |= self.when(d, "end_date", "end", [])
        exts.append(ext("hours-per-week", valueDecimal=float(e.hours_per_week)))
        self.text(exts, d.get("therapy_other"), "therapy_other")
        r: Resource = {
            "resourceType": "Procedure",
            "id": f"rehab-{e.pk}",
            "status": "completed" if e.end_date and e.end_date <= today() else "in-progress",
            "category": {"coding": [cpstem_coding("procedure", "rehabilitation")]},
            "code": {
                "coding": [cpstem_coding("rehab-therapy", e.therapy, e.get_therapy_display())]
            },
            "subject": self.subject(e.patient),
        }
        if period:
            r["performedPeriod"] = period
        if d.get("notes"):
            r["note"] = [{"text": d["notes"]}]
        return self.finish(r, exts)

    def gmfm88(self, g: Any) -> Resource:
        d, exts = self.proj.data(g), []
        scores = g.result.scores
        items = [
            {
                "linkId": str(n),
                "answer": [
                    {
                        "valueCoding": cpstem_coding(
                            "gmfm88-score", "NT" if scores.get(n) is None else scores[n]
                        )
                    }
                ],
            }
            for n in sorted(scores)
        ]
        exts.append(ext("with-aids", valueBoolean=bool(g.with_aids)))
        confirmed(exts, g)
        if g.goal_dimensions:
            exts.append(ext("goal-dimensions", valueString=g.goal_dimensions))
        self.text(exts, d.get("notes"), "notes")
        r: Resource = {
            "resourceType": "QuestionnaireResponse",
            "id": f"gmfm88-{g.pk}",
            "questionnaire": QUESTIONNAIRE_GMFM88,
            "status": "completed",
            "subject": self.subject(g.patient),
            "item": items,
        }
        r |= self.when(d, "date", "authored", exts)
        return self.finish(r, exts)

    def gmfm66(self, s: Any) -> Resource:
        d, exts = self.proj.data(s), []
        components = [
            {
                "code": {"coding": [cpstem_coding("observation", code, text)]},
                "valueQuantity": quantity(float(value), "{score}", "{score}"),
            }
            for code, text, value in (
                ("gmfm66-se", "Standard error", s.se),
                ("gmfm66-ci-lower", "95 % CI lower", s.ci_lower),
                ("gmfm66-ci-upper", "95 % CI upper", s.ci_upper),
            )
            if value is not None
        ]
        r: Resource = {
            "resourceType": "Observation",
            "id": f"gmfm66-{s.pk}",
            "status": "final",
            "category": category("survey"),
            "code": {
                "coding": [cpstem_coding("observation", "gmfm66", "GMFM-66 score")],
                "text": "GMFM-66",
            },
            "subject": self.subject(s.patient),
            "valueQuantity": quantity(float(s.score), "{score}", "{score}"),
            "method": {
                "coding": [cpstem_coding("gmfm66-source", s.source, s.get_source_display())]
            },
        }
        r |= self.when(d, "date", "effectiveDateTime", exts)
        confirmed(exts, s)
        if components:
            r["component"] = components
        if s.sheet_id:
            r["derivedFrom"] = [ref("QuestionnaireResponse", f"gmfm88-{s.sheet_id}")]
        if d.get("notes"):
            r["note"] = [{"text": d["notes"]}]
        return self.finish(r, exts)

    def _body(self, muscle: str, side: str) -> tuple[dict[str, Any], dict[str, Any]]:
        label = MuscleGroup(muscle).label
        site = {
            "coding": [cpstem_coding("muscle-group", muscle, label)],
            "text": f"{label}, {side}",
        }
        return site, ext("body-side", valueCoding=cpstem_coding("body-side", side))

    def spasticity(self, s: Any) -> list[Resource]:
        d, exts = self.proj.data(s), []
        when = self.when(d, "date", "effectiveDateTime", exts)
        subject = self.subject(s.patient)
        members: list[Resource] = []
        for i, row in enumerate(s.mas):
            site, side = self._body(row["muscle"], row["side"])
            members.append(
                {
                    "resourceType": "Observation",
                    "id": f"spasticity-{s.pk}-mas-{i}",
                    "status": "final",
                    "category": category("exam"),
                    "code": {"coding": [coding("mas")]},
                    "subject": subject,
                    "bodySite": site,
                    "valueCodeableConcept": {
                        "coding": [cpstem_coding("mas-grade", row["grade"], f"MAS {row['grade']}")]
                    },
                    "extension": [side, *exts],
                }
                | when
            )
        for i, row in enumerate(s.tardieu):
            site, side = self._body(row["muscle"], row["side"])
            comps = []
            for key, code, unit in (
                ("r1_deg", "tardieu-r1", "deg"),
                ("r2_deg", "tardieu-r2", "deg"),
            ):
                if row.get(key) is not None:
                    comps.append(
                        {
                            "code": {"coding": [cpstem_coding("observation", code)]},
                            "valueQuantity": quantity(float(row[key]), unit, unit),
                        }
                    )
            if row.get("quality") is not None:
                comps.append(
                    {
                        "code": {"coding": [cpstem_coding("observation", "tardieu-quality")]},
                        "valueInteger": int(row["quality"]),
                    }
                )
            for key, code in (
                ("velocity", "tardieu-velocity"),
                ("scale_version", "tardieu-scale-version"),
            ):
                comps.append(
                    {
                        "code": {"coding": [cpstem_coding("observation", code)]},
                        "valueString": str(row[key]),
                    }
                )
            members.append(
                {
                    "resourceType": "Observation",
                    "id": f"spasticity-{s.pk}-tardieu-{i}",
                    "status": "final",
                    "category": category("exam"),
                    "code": {"coding": [coding("tardieu")]},
                    "subject": subject,
                    "bodySite": site,
                    "component": comps,
                    "extension": [side, *exts],
                }
                | when
            )
        panel: Resource = {
            "resourceType": "Observation",
            "id": f"spasticity-{s.pk}",
            "status": "final",
            "category": category("exam"),
            "code": {
                "coding": [
                    cpstem_coding("observation", "spasticity-panel", "Spasticity assessment")
                ]
            },
            "subject": subject,
            "hasMember": [ref("Observation", m["id"]) for m in members],
        } | when
        if d.get("notes"):
            panel["note"] = [{"text": d["notes"]}]
        panel_exts = list(exts)
        confirmed(panel_exts, s)
        return [self.finish(panel, panel_exts), *members]

    def lab(self, v: Any) -> Resource:
        d, exts = self.proj.data(v), []
        r: Resource = {
            "resourceType": "Observation",
            "id": f"lab-{v.pk}",
            "status": "final",
            "category": category("laboratory"),
            "code": {
                "coding": [cpstem_coding("observation", "lab", "Laboratory value")],
                "text": d["analyte"],
            },
            "subject": self.subject(v.patient),
            "valueQuantity": quantity(float(v.value), d["unit"] or ""),
        }
        r |= self.when(d, "date", "effectiveDateTime", exts)
        if d.get("notes"):
            r["note"] = [{"text": d["notes"]}]
        return self.finish(r, exts)

    def adverse_event(self, e: Any) -> Resource:
        d, exts = self.proj.data(e), []
        serious = "serious" if e.serious else "non-serious"
        r: Resource = {
            "resourceType": "AdverseEvent",
            "id": f"ae-{e.pk}",
            "actuality": "actual",
            "subject": self.subject(e.patient),
            "event": {"text": d["term"]},
            "seriousness": {"coding": [{"system": system("ae_seriousness"), "code": serious}]},
            "severity": {
                "coding": [{"system": system("ae_severity"), "code": AE_SEVERITY[e.grade]}]
            },
        }
        r |= self.when(d, "date", "date", exts)
        exts.append(ext("ctcae-grade", valueInteger=int(e.grade)))
        confirmed(exts, e)
        exts.append(ext("ae-action", valueCoding=cpstem_coding("ae-action", e.action)))
        if e.outcome:
            r["outcome"] = {
                "coding": [{"system": system("ae_outcome"), "code": AE_OUTCOME[e.outcome]}]
            }
            exts.append(ext("ae-outcome", valueCoding=cpstem_coding("ae-outcome", e.outcome)))
        relatedness = cpstem_coding("ae-relatedness", e.relatedness, e.get_relatedness_display())
        if e.administration_id:
            r["suspectEntity"] = [
                {
                    "instance": ref("Procedure", f"administration-{e.administration_id}"),
                    "causality": [{"assessment": {"coding": [relatedness]}}],
                }
            ]
        else:
            exts.append(ext("ae-relatedness", valueCoding=relatedness))
        if "resolution_date" in d:
            if d["resolution_date"] is not None:
                exts.append(ext("resolution-date", valueDate=d["resolution_date"].isoformat()))
        elif d.get("resolution_age_months") is not None:
            months = d["resolution_age_months"]
            exts.append(ext("resolution-age", valueAge=quantity(months, "months", "mo")))
        self.text(exts, d.get("notes"), "notes")
        return self.finish(r, exts)

    def care_plan(self, p: Patient) -> Resource | None:
        visits = list(p.visits.select_related("administration").order_by("target_date", "pk"))
        if not visits:
            return None
        on = today()
        activities = []
        for v in visits:
            detail: dict[str, Any] = {
                "code": {"coding": [cpstem_coding("visit", v.label)], "text": v.label},
                "status": VISIT_STATUS[str(v.status_on(on))],
                "description": f"{v.label}: {v.months} months after the administration",
            }
            if self.research:
                detail["scheduledString"] = (
                    f"{v.months} months after administration-{v.administration_id}"
                )
            else:
                detail["scheduledPeriod"] = {
                    "start": v.window_start.isoformat(),
                    "end": v.window_end.isoformat(),
                }
            activities.append({"detail": detail})
        return {
            "resourceType": "CarePlan",
            "id": f"careplan-{p.pk}",
            "status": "active",
            "intent": "plan",
            "title": "cpstem follow-up schedule",
            "subject": self.subject(p),
            "activity": activities,
        }

    # --- collections -------------------------------------------------------------------
    def resources(self, p: Patient) -> list[Resource]:
        """Every resource of one child, in a stable order."""
        out: list[Resource] = [self.patient(p), self.condition(p)]
        consent = self.consent(p)
        if consent:
            out.append(consent)
        out += [self.classification(c) for c in p.classification_set.order_by("date", "pk")]
        for a in p.administration_set.order_by("date", "pk"):
            out += self.administration(a)
        out += [self.rehab(e) for e in p.rehabepisode_set.order_by("date", "pk")]
        out += [self.gmfm88(g) for g in p.gmfm88assessment_set.order_by("date", "pk")]
        out += [self.gmfm66(s) for s in p.gmfm66assessment_set.order_by("date", "pk")]
        for s in p.spasticityassessment_set.order_by("date", "pk"):
            out += self.spasticity(s)
        out += [self.lab(v) for v in p.labvalue_set.order_by("date", "pk")]
        out += [self.adverse_event(e) for e in p.adverseevent_set.order_by("date", "pk")]
        plan = self.care_plan(p)
        if plan:
            out.append(plan)
        return out


def questionnaire_gmfm88() -> Resource:
    """The GMFM-88 as a Questionnaire: 88 choice items scored 0-3 or NT (CanChild sheet)."""
    options = [
        {"valueCoding": cpstem_coding("gmfm88-score", s)} for s in ("0", "1", "2", "3", "NT")
    ]
    return {
        "resourceType": "Questionnaire",
        "id": "gmfm88",
        "url": QUESTIONNAIRE_GMFM88,
        "name": "GMFM88",
        "title": "Gross Motor Function Measure (GMFM-88)",
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": "Item titles: CanChild GMFM score sheet (c) 2013 Russell & Rosenbaum, "
        "McMaster University",
        "item": [
            {
                "linkId": str(item.number),
                "prefix": f"{item.dimension}{item.number}",
                "text": item.title,
                "type": "choice",
                "answerOption": options,
            }
            for item in gmfm.ITEMS
        ],
    }


def _full_url(resource: Resource) -> str:
    return f"{base()}/{resource['resourceType']}/{resource['id']}"


def patient_bundle(p: Patient, proj: Projection) -> Resource:
    """One child's FHIR R4 ``Bundle`` (type ``collection``) as ``proj`` may see it."""
    resources = Exporter(proj).resources(p)
    if any(r["resourceType"] == "QuestionnaireResponse" for r in resources):
        resources.append(questionnaire_gmfm88())
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.now().isoformat(timespec="seconds"),
        "entry": [{"fullUrl": _full_url(r), "resource": r} for r in resources],
    }


def ndjson_lines(patients: Iterable[Patient], proj: Projection) -> Iterator[str]:
    """Bulk-data NDJSON: one resource per line, the GMFM-88 Questionnaire first."""
    yield json.dumps(questionnaire_gmfm88(), ensure_ascii=False, separators=(",", ":"))
    exporter = Exporter(proj)
    for p in patients:
        for r in exporter.resources(p):
            yield json.dumps(r, ensure_ascii=False, separators=(",", ":"))


__all__ = ["Exporter", "codesystem", "ndjson_lines", "patient_bundle", "questionnaire_gmfm88"]
