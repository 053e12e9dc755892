"""Import cpstem's FHIR R4 resources (a Bundle or NDJSON) back into the registry.

All or nothing: every resource is validated against the R4B models, then mapped and saved
through the registry's one write path (:mod:`cpstem.registry.services.write`, the same rules
as the forms, the API and the CSV import) inside one transaction. Every refusal is listed
with the resource (``Type/id``), the field and the reason, and nothing is kept.

Only the full (identified) export can be imported: the pseudonymised one has neither study IDs
nor dates. A GMFM-66 computed from its GMFM-88 sheet with the configured item map is derived
again when the sheet is saved, so it is not imported twice.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import models, transaction

from cpstem.registry.errors import FieldErrors
from cpstem.registry.fhir.codes import QUESTIONNAIRE_GMFM88, codesystem, extension_url, system
from cpstem.registry.fhir.export import ADJUNCTS, GENDER, RISK_FACTORS
from cpstem.registry.fhir.validation import FhirError, validate_resource, where
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    RehabEpisode,
    Site,
    SpasticityAssessment,
)
from cpstem.registry.services import write

Resource = dict[str, Any]
SEX = {v: k for k, v in GENDER.items()}
ROMAN_LEVEL = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


class FhirImportError(FhirError):
    """Every refused resource: ``problems`` is a list of (resource, field, reason)."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        lines = "; ".join(f"{r} {f}: {m}" if f else f"{r}: {m}" for r, f, m in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(
            f"FHIR import refused, nothing was saved: {lines}{more}",
            code="fhir_import_refused",
            params={"problems": len(problems)},
        )
        self.problems = problems


@dataclass(frozen=True)
class ImportSummary:
    patients: int
    records: dict[str, int]

    def __str__(self) -> str:
        parts = ", ".join(f"{n} {k}" for k, n in sorted(self.records.items()) if n)
        children = f"{self.patients} patient{'' if self.patients == 1 else 's'}"
        return f"{children} imported" + (f" ({parts})" if parts else "")


# --- reading ---------------------------------------------------------------------------------
def read_resources(path: str | Path) -> list[Resource]:
    """The resources of a Bundle (``.json``) or of an NDJSON file (one resource per line)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FhirError(f"cannot read {p}: {exc}", code="unreadable_file") from None
    return parse_resources(text, p.name)


def parse_resources(text: str, name: str = "input") -> list[Resource]:
    stripped = text.lstrip()
    try:
        if stripped.startswith("{") and "\n{" not in stripped.rstrip():
            docs = [json.loads(stripped)]
        else:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise FhirError(
            f"{name} is neither a FHIR Bundle nor NDJSON: {exc.msg} at line {exc.lineno}",
            code="malformed_json",
        ) from None
    out: list[Resource] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
            validate_resource(doc)
            out += [e["resource"] for e in doc.get("entry", []) if "resource" in e]
        else:
            out.append(doc)
    return out


# --- helpers ---------------------------------------------------------------------------------
def _exts(r: Resource, name: str) -> list[dict[str, Any]]:
    url = extension_url(name)
    return [e for e in r.get("extension", []) if e.get("url") == url]


def _ext(r: Resource, name: str, key: str, default: Any = None) -> Any:
    found = _exts(r, name)
    return found[0].get(key, default) if found else default


def _texts(r: Resource) -> dict[str, str]:
    out = {}
    for e in _exts(r, "text"):
        role, _, value = str(e.get("valueString", "")).partition(": ")
        out[role] = value
    return out


def _code(concept: dict[str, Any] | None, codesystem_name: str) -> str | None:
    url = codesystem(codesystem_name)
    for c in (concept or {}).get("coding", []):
        if c.get("system") == url:
            return str(c.get("code"))
    return None


def _day(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value)[:10])


def _local(reference: dict[str, Any] | None) -> str | None:
    text = (reference or {}).get("reference")
    return None if not text else str(text).rsplit("/", 1)[-1]


def _confirmed(r: Resource, flag: str) -> bool:
    return any(e.get("valueCode") == flag for e in _exts(r, "confirmed"))


def _note(r: Resource) -> str:
    return "\n".join(n.get("text", "") for n in r.get("note", []))


class _Importer:
    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.problems: list[tuple[str, str, str]] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.ids: dict[str, models.Model] = {}

    def save(self, r: Resource, obj: models.Model, kind: str) -> models.Model | None:
        try:
            saved = write.save(obj, reason=self.reason)
        except FieldErrors as exc:
            for name, errors in exc.details.items():
                shown = "" if name == "__all__" else name
                self.problems += [(where(r), shown, f"{e.message} [{e.code}]") for e in errors]
            return None
        self.ids[r["id"]] = saved
        self.counts[kind] += 1
        return saved

    def refuse(self, r: Resource, field_name: str, message: str) -> None:
        self.problems.append((where(r), field_name, message))

    # --- the child -------------------------------------------------------------------
    def patient(
        self, r: Resource, condition: Resource | None, consent: Resource | None
    ) -> Patient | None:
        prefix = system("study_id").split("{site}")[0]
        ident = next(
            (i for i in r.get("identifier", []) if str(i.get("system", "")).startswith(prefix)),
            None,
        )
        if ident is None or not r.get("birthDate"):
            self.refuse(
                r,
                "identifier",
                "no study ID or no birth date: a pseudonymised export cannot be imported",
            )
            return None
        code = str(ident["system"])[len(prefix) :]
        site = Site.objects.filter(code=code).first()
        if site is None:
            self.refuse(
                r, "identifier", f"unknown site {code!r}: create it first (cpstem site create)"
            )
            return None
        texts = _texts(r)
        factors = {e.get("valueCode") for e in _exts(r, "risk-factor")}
        ga = _ext(r, "gestational-age-weeks", "valueDecimal")
        p = Patient(
            site=site,
            study_id=ident.get("value", ""),
            birth_date=_day(r["birthDate"]),
            sex=SEX.get(r.get("gender", "unknown"), "U"),
            gestational_age_weeks=None if ga is None else Decimal(str(ga)),
            birth_weight_g=_ext(r, "birth-weight-g", "valueInteger"),
            risk_other=texts.get("risk_other", ""),
            is_synthetic=bool(_ext(r, "synthetic", "valueBoolean", False)),
            group=_ext(r, "enrolment-group", "valueCode", "cells"),
            enrolment_date=_day(_ext(r, "enrolment-date", "valueDate")),
            **{f: f in factors for f in RISK_FACTORS},
        )
        if condition is not None:
            p.subtype = (_ext(condition, "scpe-subtype", "valueCoding") or {}).get("code", "")
            p.mrics = (_ext(condition, "mrics", "valueCoding") or {}).get("code", "")
            sites = condition.get("bodySite") or [None]
            p.topography = _code(sites[0], "topography") or ""
        if consent is not None:
            period = (consent.get("provision") or {}).get("period") or {}
            p.consent_date = _day(consent.get("dateTime") or period.get("start"))
            p.consent_withdrawn_date = _day(period.get("end"))
            p.consent_version = _texts(consent).get("consent_version", "")
        saved = self.save(r, p, "patients")
        return saved if isinstance(saved, Patient) else None

    # --- records ---------------------------------------------------------------------
    def classification(self, r: Resource, p: Patient) -> None:
        kind = _code(r.get("code"), "observation")
        level = _code(r.get("valueCodeableConcept"), "level")
        self.save(
            r,
            Classification(
                patient=p,
                date=_day(r.get("effectiveDateTime")),
                system=kind or "",
                level=ROMAN_LEVEL.get(level or "", 0),
            ),
            "classifications",
        )

    def administration(self, r: Resource, product: Resource | None, p: Patient) -> None:
        product = product or {}
        texts = _texts(r) | _texts(product)
        adjuncts = {e.get("valueCode") for e in _exts(r, "adjunct")}
        lots = product.get("identifier") or [{}]
        a = Administration(
            patient=p,
            date=_day(r.get("performedDateTime")),
            product=_code(product.get("productCode"), "cell-product") or "",
            product_other=texts.get("product_other", ""),
            origin=(_ext(product, "cell-origin", "valueCoding") or {}).get("code", ""),
            hla_match=_ext(product, "hla-match", "valueString", ""),
            cells_total=_ext(product, "cells-total", "valueDecimal"),
            weight_kg=_ext(r, "weight-kg", "valueDecimal"),
            dose_confirmed=bool(_ext(r, "dose-confirmed", "valueBoolean", False)),
            route=(_ext(r, "route", "valueCoding") or {}).get("code", ""),
            route_other=texts.get("route_other", ""),
            adjunct_other=texts.get("adjunct_other", ""),
            lot=lots[0].get("value", ""),
            notes=_note(r),
            **{f: f in adjuncts for f in ADJUNCTS},
        )
        self.save(r, a, "administrations")

    def rehab(self, r: Resource, p: Patient) -> None:
        period = r.get("performedPeriod") or {}
        e = RehabEpisode(
            patient=p,
            date=_day(period.get("start")),
            end_date=_day(period.get("end")),
            therapy=_code(r.get("code"), "rehab-therapy") or "",
            therapy_other=_texts(r).get("therapy_other", ""),
            hours_per_week=_ext(r, "hours-per-week", "valueDecimal"),
            notes=_note(r),
        )
        self.save(r, e, "rehabilitation episodes")

    def gmfm88(self, r: Resource, p: Patient) -> None:
        if r.get("questionnaire") != QUESTIONNAIRE_GMFM88:
            self.refuse(r, "questionnaire", f"not the GMFM-88 ({QUESTIONNAIRE_GMFM88})")
            return
        items: dict[str, int | None] = {}
        for item in r.get("item", []):
            answer = (item.get("answer") or [{}])[0].get("valueCoding", {}).get("code")
            items[str(item.get("linkId"))] = None if answer in (None, "NT") else int(answer)
        g = GMFM88Assessment(
            patient=p,
            date=_day(r.get("authored")),
            items=items,
            with_aids=bool(_ext(r, "with-aids", "valueBoolean", False)),
            goal_dimensions=_ext(r, "goal-dimensions", "valueString", ""),
            duplicate_confirmed=_confirmed(r, "duplicate"),
            blinded_assessor=bool(_ext(r, "blinded-assessor", "valueBoolean", False)),
            notes=_texts(r).get("notes", ""),
        )
        self.save(r, g, "GMFM-88 sheets")

    def gmfm66(self, r: Resource, p: Patient) -> None:
        comps = {
            _code(c.get("code"), "observation"): c.get("valueQuantity", {}).get("value")
            for c in r.get("component", [])
        }
        source = _code(r.get("method"), "gmfm66-source") or "gmae"
        sheet = None
        for d in r.get("derivedFrom", []):
            sheet = self.ids.get(_local(d) or "")
        if (
            sheet is not None
            and source == "item_map"
            and GMFM66Assessment.objects.filter(sheet=sheet).exists()
        ):
            return  # derived again from the imported sheet
        s = GMFM66Assessment(
            patient=p,
            date=_day(r.get("effectiveDateTime")),
            score=r.get("valueQuantity", {}).get("value"),
            se=comps.get("gmfm66-se"),
            ci_lower=comps.get("gmfm66-ci-lower"),
            ci_upper=comps.get("gmfm66-ci-upper"),
            source=source,
            sheet=sheet,
            duplicate_confirmed=_confirmed(r, "duplicate"),
            blinded_assessor=bool(_ext(r, "blinded-assessor", "valueBoolean", False)),
            notes=_note(r),
        )
        self.save(r, s, "GMFM-66 scores")

    def spasticity(self, panel: Resource, members: dict[str, Resource], p: Patient) -> None:
        mas, tardieu = [], []
        mas_code, tardieu_code = "765771006", "1290510006"
        for m in panel.get("hasMember", []):
            r = members.get(_local(m) or "")
            if r is None:
                self.refuse(panel, "hasMember", f"{m.get('reference')} is not in the file")
                continue
            muscle = _code(r.get("bodySite"), "muscle-group")
            side = (_ext(r, "body-side", "valueCoding") or {}).get("code")
            codes = {c.get("code") for c in r.get("code", {}).get("coding", [])}
            if mas_code in codes:
                grade = _code(r.get("valueCodeableConcept"), "mas-grade")
                mas.append({"muscle": muscle, "side": side, "grade": grade})
            elif tardieu_code in codes:
                row: dict[str, Any] = {"muscle": muscle, "side": side}
                for c in r.get("component", []):
                    key = _code(c.get("code"), "observation")
                    if key == "tardieu-r1":
                        row["r1_deg"] = c["valueQuantity"]["value"]
                    elif key == "tardieu-r2":
                        row["r2_deg"] = c["valueQuantity"]["value"]
                    elif key == "tardieu-quality":
                        row["quality"] = c["valueInteger"]
                    elif key == "tardieu-velocity":
                        row["velocity"] = c["valueString"]
                    elif key == "tardieu-scale-version":
                        row["scale_version"] = c["valueString"]
                tardieu.append(row)
        s = SpasticityAssessment(
            patient=p,
            date=_day(panel.get("effectiveDateTime")),
            mas=mas,
            tardieu=tardieu,
            duplicate_confirmed=_confirmed(panel, "duplicate"),
            blinded_assessor=bool(_ext(panel, "blinded-assessor", "valueBoolean", False)),
            notes=_note(panel),
        )
        self.save(panel, s, "spasticity assessments")

    def lab(self, r: Resource, p: Patient) -> None:
        q = r.get("valueQuantity", {})
        v = LabValue(
            patient=p,
            date=_day(r.get("effectiveDateTime")),
            analyte=r.get("code", {}).get("text", ""),
            value=q.get("value"),
            unit=q.get("unit", ""),
            notes=_note(r),
        )
        self.save(r, v, "lab values")

    def adverse_event(self, r: Resource, p: Patient) -> None:
        admin, relatedness = None, _ext(r, "ae-relatedness", "valueCoding")
        for s in r.get("suspectEntity", []):
            admin = self.ids.get(_local(s.get("instance")) or "")
            causality = (s.get("causality") or [{}])[0].get("assessment")
            relatedness = {"code": _code(causality, "ae-relatedness")}
        serious = any(
            c.get("code") == "serious" for c in r.get("seriousness", {}).get("coding", [])
        )
        e = AdverseEvent(
            patient=p,
            date=_day(r.get("date")),
            term=r.get("event", {}).get("text", ""),
            grade=_ext(r, "ctcae-grade", "valueInteger"),
            serious=serious,
            relatedness=(relatedness or {}).get("code") or "",
            administration=admin if isinstance(admin, Administration) else None,
            action=(_ext(r, "ae-action", "valueCoding") or {}).get("code", "none"),
            outcome=(_ext(r, "ae-outcome", "valueCoding") or {}).get("code", ""),
            resolution_date=_day(_ext(r, "resolution-date", "valueDate")),
            relatedness_confirmed=_confirmed(r, "relatedness"),
            notes=_texts(r).get("notes", ""),
        )
        self.save(r, e, "adverse events")

    # --- one child's resources in dependency order -------------------------------------
    def child(self, patient: Resource, own: list[Resource]) -> None:
        by_type: dict[str, list[Resource]] = defaultdict(list)
        for r in own:
            by_type[r["resourceType"]].append(r)
        p = self.patient(
            patient,
            next(iter(by_type["Condition"]), None),
            next(iter(by_type["Consent"]), None),
        )
        if p is None:
            return
        products = {r["id"]: r for r in by_type["BiologicallyDerivedProduct"]}
        observations = by_type["Observation"]
        members = {r["id"]: r for r in observations}
        member_ids = {_local(m) for r in observations for m in r.get("hasMember", [])}
        procedures = by_type["Procedure"]
        cells = codesystem("procedure")

        def is_kind(r: Resource, code: str) -> bool:
            return any(
                c.get("system") == cells and c.get("code") == code
                for c in (r.get("category") or {}).get("coding", [])
            )

        for r in observations:
            if _code(r.get("code"), "observation") in ("gmfcs", "macs", "cfcs"):
                self.classification(r, p)
        for r in procedures:
            if is_kind(r, "cell-administration"):
                used = r.get("usedReference") or [{}]
                self.administration(r, products.get(_local(used[0]) or ""), p)
        for r in procedures:
            if is_kind(r, "rehabilitation"):
                self.rehab(r, p)
        for r in by_type["QuestionnaireResponse"]:
            self.gmfm88(r, p)
        for r in observations:
            kind = _code(r.get("code"), "observation")
            if kind == "gmfm66":
                self.gmfm66(r, p)
            elif kind == "spasticity-panel":
                self.spasticity(r, members, p)
            elif kind == "lab":
                self.lab(r, p)
            elif kind is None and r["id"] not in member_ids:
                self.refuse(r, "code", "an Observation cpstem does not know")
        for r in by_type["AdverseEvent"]:
            self.adverse_event(r, p)


_SUBJECT_KEYS = ("subject", "patient")


def _owner(r: Resource) -> str | None:
    for key in _SUBJECT_KEYS:
        if isinstance(r.get(key), dict):
            return _local(r[key])
    return None


def import_resources(
    resources: Iterable[Resource], reason: str = "imported from FHIR"
) -> ImportSummary:
    """Validate and import; raises :class:`FhirImportError` (nothing saved) on any refusal.
    ``reason`` is recorded in the audit trail of every created record."""
    resources = list(resources)
    problems: list[tuple[str, str, str]] = []
    for r in resources:
        try:
            validate_resource(r)
        except FhirError as exc:
            problems.append((where(r), exc.field or "", exc.message))
    if problems:
        raise FhirImportError(problems)
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    owned: dict[str, list[Resource]] = defaultdict(list)
    products = {}
    for r in resources:
        if r["resourceType"] == "BiologicallyDerivedProduct":
            products[r["id"]] = r
        elif r["resourceType"] not in ("Patient", "Questionnaire", "CarePlan"):
            owner = _owner(r)
            if owner is None:
                problems.append((where(r), "subject", "no subject patient"))
            owned[owner or ""].append(r)
    # a product belongs to the child whose Procedure uses it
    for rs in list(owned.values()):
        for r in rs:
            for used in r.get("usedReference", []):
                product = products.get(_local(used) or "")
                if product is not None:
                    rs.append(product)
    known = {p["id"] for p in patients}
    for owner in owned:
        if owner and owner not in known:
            problems += [
                (where(r), "subject", f"Patient/{owner} is not in the file") for r in owned[owner]
            ]
    if problems:
        raise FhirImportError(problems)
    importer = _Importer(reason)
    with transaction.atomic():
        for p in patients:
            importer.child(p, owned.get(p["id"], []))
        if importer.problems:
            raise FhirImportError(importer.problems)
    return ImportSummary(importer.counts.pop("patients", 0), dict(importer.counts))
