"""FHIR R4 through the API (GET /patients/{id}/fhir) and the command line (export/import)."""

from __future__ import annotations

import json

import pytest

from cpstem.registry.fhir.validation import validate_resource
from tests.registry.fhir_helpers import rich_patient

MAKE_CHILD = """
from cpstem.registry import setup
setup.start()
from cpstem.registry.models import Site
from tests.registry.fhir_helpers import rich_patient
site, _ = Site.objects.get_or_create(code="LUB", defaults={"name": "Lublin"})
print(rich_patient(site).pk)
"""

COUNT = """
from cpstem.registry import setup
setup.start()
from cpstem.registry.models import AdverseEvent, GMFM88Assessment, Patient, Site
Site.objects.get_or_create(code="LUB", defaults={"name": "Lublin"})
print(Patient.objects.count(), GMFM88Assessment.objects.count(), AdverseEvent.objects.count())
"""


@pytest.mark.django_db
def test_api_answers_a_valid_bundle_with_the_roles_view(api, sites):
    child = rich_patient(sites[0])
    r = api("clin").get(f"/patients/{child.pk}/fhir")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/fhir+json")
    bundle = json.loads(r.content)
    validate_resource(bundle)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert "LUB-FHIR-1" in r.content.decode()
    researcher = api("researcher").get(f"/patients/{child.pk}/fhir").content.decode()
    assert "LUB-FHIR-1" not in researcher and "2018-03-14" not in researcher
    assert api("clin_b").get(f"/patients/{child.pk}/fhir").status_code == 404
    assert api().get(f"/patients/{child.pk}/fhir").status_code == 401


def test_cli_export_and_import_round_trip(registry, tmp_path_factory):
    registry.python(MAKE_CHILD)
    out = tmp_path_factory.mktemp("fhir") / "site.ndjson"
    r = registry.run("export", "--fhir", str(out), "--site", "LUB")
    assert "20 FHIR R4 resources of 1 patient." in r.stdout
    lines = out.read_text(encoding="utf-8").splitlines()
    for line in lines:
        validate_resource(json.loads(line))
    research = out.with_name("research.ndjson")
    registry.run("export", "--fhir", str(research), "--pseudonymised")
    assert "LUB-FHIR-1" not in research.read_text(encoding="utf-8")

    from tests.registry.cli_env import Registry

    other = Registry(tmp_path_factory.mktemp("other") / "data")
    assert other.python(COUNT).stdout.split() == ["0", "0", "0"]
    r = other.run("import", "--fhir", str(research), check=False)
    assert r.returncode == 1 and "pseudonymised export cannot be imported" in r.stderr
    r = other.run("import", "--fhir", str(out))
    assert "1 patient imported" in r.stdout
    assert other.python(COUNT).stdout.split() == ["1", "1", "2"]
    r = other.run("import", "--fhir", str(out), check=False)  # the study ID exists now
    assert r.returncode == 1 and "study_id" in r.stderr and "Traceback" not in r.stderr


def test_cli_redcap_dictionary_export_import(registry, tmp_path_factory):
    registry.python(MAKE_CHILD)
    folder = tmp_path_factory.mktemp("redcap")
    r = registry.run("redcap", "dictionary", str(folder / "dict.csv"))
    assert "instruments" in r.stdout
    assert {p.name for p in folder.iterdir()} == {
        "dict.csv",
        "dict_events.csv",
        "dict_instruments.csv",
        "dict_repeating.csv",
    }
    registry.run("redcap", "export", str(folder / "records.csv"))
    registry.run("redcap", "export", str(folder / "records.json"), "--site", "LUB")

    from tests.registry.cli_env import Registry

    other = Registry(tmp_path_factory.mktemp("other") / "data")
    other.python(COUNT)
    r = other.run(
        "redcap", "import", str(folder / "records.json"), "--dictionary", str(folder / "dict.csv")
    )
    assert "1 record imported" in r.stdout
    assert other.python(COUNT).stdout.split() == ["1", "1", "2"]
    r = other.run(
        "redcap",
        "import",
        str(folder / "records.csv"),
        "--dictionary",
        str(folder / "dict_events.csv"),
        check=False,
    )
    assert r.returncode == 1 and "not a REDCap data dictionary" in r.stderr
