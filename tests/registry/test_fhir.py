"""FHIR R4: every resource validates against the R4B models; privacy; import; round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cpstem.registry import privacy
from cpstem.registry.fhir.codes import extension_url
from cpstem.registry.fhir.export import ndjson_lines, patient_bundle
from cpstem.registry.fhir.importer import FhirImportError, import_resources, parse_resources
from cpstem.registry.fhir.validation import FhirError, validate_resource
from cpstem.registry.models import Patient
from tests.registry.fhir_helpers import normalise, resources, rich_patient

pytestmark = pytest.mark.django_db

KINDS = {
    "Patient",
    "Condition",
    "Consent",
    "Observation",
    "Procedure",
    "BiologicallyDerivedProduct",
    "QuestionnaireResponse",
    "Questionnaire",
    "AdverseEvent",
    "CarePlan",
}


def of(bundle: dict, kind: str, rid_prefix: str = "") -> list[dict]:
    return [
        r for r in resources(bundle) if r["resourceType"] == kind and r["id"].startswith(rid_prefix)
    ]


def ext_value(r: dict, name: str, key: str) -> Any:
    return next(e[key] for e in r["extension"] if e["url"] == extension_url(name))


@pytest.fixture
def child(sites):
    return rich_patient(sites[0])


@pytest.fixture
def bundle(child, people):
    return patient_bundle(child, privacy.project(people["clin"]))


def test_every_resource_kind_is_valid_fhir_r4(bundle):
    validate_resource(bundle)
    for r in resources(bundle):
        validate_resource(r)
    assert bundle["type"] == "collection"
    assert {r["resourceType"] for r in resources(bundle)} == KINDS


def test_patient_condition_and_codes(bundle, child):
    (patient,) = of(bundle, "Patient")
    assert "name" not in patient
    assert patient["identifier"][0] == {
        "use": "official",
        "system": "https://cpstem.org/fhir/sid/study-id/LUB",
        "value": "LUB-FHIR-1",
    }
    assert patient["birthDate"] == "2018-03-14" and patient["gender"] == "male"
    (condition,) = of(bundle, "Condition")
    assert condition["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "128188000",
        "display": "Cerebral palsy (disorder)",
    }
    assert ext_value(condition, "scpe-subtype", "valueCoding")["code"] == "spastic_bilateral"
    mas = [r for r in of(bundle, "Observation") if r["code"]["coding"][0]["code"] == "765771006"]
    tardieu = [
        r for r in of(bundle, "Observation") if r["code"]["coding"][0]["code"] == "1290510006"
    ]
    assert len(mas) == 2 and len(tardieu) == 1  # one per muscle and side
    assert {c["code"]["coding"][0]["code"] for c in tardieu[0]["component"]} >= {
        "tardieu-r1",
        "tardieu-r2",
        "tardieu-quality",
    }


def test_gmfm66_has_se_and_ci_and_dose_per_kg_and_ctcae(bundle):
    first = of(bundle, "Observation", "gmfm66-")[0]
    assert first["valueQuantity"]["value"] == 44.2
    comps = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in first["component"]
    }
    assert comps == {"gmfm66-se": 1.6, "gmfm66-ci-lower": 41.1, "gmfm66-ci-upper": 47.3}
    (procedure,) = of(bundle, "Procedure", "administration-")
    assert ext_value(procedure, "dose-cells-per-kg", "valueDecimal") == pytest.approx(2.0e7)
    (product,) = of(bundle, "BiologicallyDerivedProduct")
    assert product["productCategory"] == "cells"
    assert procedure["usedReference"] == [
        {"reference": f"BiologicallyDerivedProduct/{product['id']}"}
    ]
    grades = sorted(ext_value(r, "ctcae-grade", "valueInteger") for r in of(bundle, "AdverseEvent"))
    assert grades == [1, 3]
    (qr,) = of(bundle, "QuestionnaireResponse")
    assert len(qr["item"]) == 88
    (questionnaire,) = of(bundle, "Questionnaire")
    assert len(questionnaire["item"]) == 88 and qr["questionnaire"] == questionnaire["url"]


def test_pseudonymised_bundle_has_no_identifier_date_or_free_text(child, people):
    bundle = patient_bundle(child, privacy.project(people["researcher"]))
    for r in resources(bundle):
        validate_resource(r)
    text = json.dumps(bundle)
    for secret in (
        "LUB-FHIR-1",
        "2018-03-14",
        "2022-",
        "2023-",
        "CB-4471",
        "twin",
        "premedication",
    ):
        assert secret not in text, secret
    (patient,) = of(bundle, "Patient")
    assert patient["identifier"] == [
        {"system": "https://cpstem.org/fhir/sid/research-id", "value": child.research_id}
    ]
    gmfm66 = of(bundle, "Observation", "gmfm66-")[0]
    # 2018-03-14 -> 2022-01-21: 46 completed months
    assert ext_value(gmfm66, "age-at-event", "valueAge") == {
        "value": 46,
        "unit": "months",
        "system": "http://unitsofmeasure.org",
        "code": "mo",
    }


def test_round_trip_export_import_gives_identical_records(child, people):
    clin = privacy.project(people["clin"])
    before = patient_bundle(child, clin)
    Patient.objects.filter(pk=child.pk).delete()
    summary = import_resources(resources(before))
    assert summary.patients == 1
    assert summary.records["GMFM-88 sheets"] == 1 and summary.records["adverse events"] == 2
    (again,) = Patient.objects.filter(study_id="LUB-FHIR-1")
    after = patient_bundle(again, clin)
    assert normalise(after) == normalise(before)
    assert again.history.first().history_change_reason == "imported from FHIR"


def test_round_trip_through_ndjson(child, people):
    lines = list(ndjson_lines([child], privacy.project(people["admin"])))
    assert json.loads(lines[0])["resourceType"] == "Questionnaire"
    parsed = parse_resources("\n".join(lines) + "\n")
    Patient.objects.filter(pk=child.pk).delete()
    assert import_resources(parsed).patients == 1


def test_import_is_all_or_nothing_and_names_every_problem(child, people):
    items = resources(patient_bundle(child, privacy.project(people["clin"])))
    Patient.objects.filter(pk=child.pk).delete()
    for r in items:
        if r["id"].startswith("gmfm66-"):
            r["valueQuantity"]["value"] = 140.0  # beyond the GMFM-66 scale
        if r["resourceType"] == "AdverseEvent":
            r["extension"] = [e for e in r["extension"] if not e["url"].endswith("ctcae-grade")]
    with pytest.raises(FhirImportError) as exc:
        import_resources(items)
    refused = {p[0].split("-")[0] for p in exc.value.problems}
    assert refused == {"Observation/gmfm66", "AdverseEvent/ae"}
    assert len({p[0] for p in exc.value.problems}) == 4  # both scores, both events
    fields = {(p[0].split("-")[0], p[1]) for p in exc.value.problems}
    assert ("Observation/gmfm66", "score") in fields and ("AdverseEvent/ae", "grade") in fields
    assert not Patient.objects.exists()


def test_import_refuses_a_pseudonymised_export(child, people):
    items = resources(patient_bundle(child, privacy.project(people["researcher"])))
    Patient.objects.filter(pk=child.pk).delete()
    with pytest.raises(FhirImportError, match="pseudonymised export cannot be imported"):
        import_resources(items)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "malformed_json"),
        ('{"resourceType": "Patient", "foo": 1}\n{"resourceType": "Patient"}', "invalid_fhir"),
    ],
)
def test_malformed_files_are_clear_errors(text, code):
    with pytest.raises(FhirError) as exc:
        import_resources(parse_resources(text))
    assert exc.value.code in (code, "fhir_import_refused")
