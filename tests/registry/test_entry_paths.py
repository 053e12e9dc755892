"""One write path: every validation rule gives the same refusal -- the same field (as each entry
path names it) and the same code -- through the web form, the API and the CSV import; plus the
regression tests of the bugs that came from entry paths with their own copies of the rules.

Field names per path: the form and the import use the model's fields (a GMFM item is
``item_<n>``, the form field and the CSV column); the API names a field as its request body
does (``onset_date``, ``start_date``, ``cell_count``; a GMFM item is reported on ``items``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from cpstem.registry import importer
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import (
    Administration,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.services import write

pytestmark = pytest.mark.django_db

FUTURE = (date.today() + timedelta(days=30)).isoformat()  # never a valid record date


def gmfm_form(**items_and_fields) -> dict:
    """A GMFM-88 form post: every item NT unless given (``item_23="2"``), plus fields."""
    data = {f"item_{n}": "NT" for n in range(1, 89)}
    data.update({"date": "2024-05-01", "goal_dimensions": "", "notes": ""})
    data.update(items_and_fields)
    return data


ADMIN_FORM = {
    "date": "2023-03-01",
    "product": "ucb",
    "origin": "allogeneic",
    "route": "intravenous",
    "cell_count": "3e8",
    "cell_count_unit": "total",
    "weight_kg": "15",
}
ADMIN_API = {
    "date": "2023-03-01",
    "product": "ucb",
    "origin": "allogeneic",
    "route": "intravenous",
    "cell_count": "3e8",
    "weight_kg": 15,
}
AE_FORM = {
    "term": "fever",
    "date": "2024-05-02",
    "grade": "2",
    "relatedness": "possible",
    "action": "none",
    "outcome": "",
    "notes": "",
}
AE_API = {
    "onset_date": "2024-05-02",
    "term": "fever",
    "grade": 2,
    "serious": False,
    "relatedness": "possible",
}


@dataclass(frozen=True)
class Rule:
    """One validation rule and how each entry path states a record that breaks it."""

    name: str
    code: str
    form: tuple[str, dict, str] | None = None  # (kind, post data, field)
    api: tuple[str, dict, str] | None = None  # (path, body, field)
    csv: tuple[dict, str] | None = None  # (row cells, field)
    withdrawn: bool = False  # the patient withdrew consent on 2023-01-01
    extra: dict = field(default_factory=dict)
    existing: Callable[[Patient], object] | None = None  # a record written first


def _sheet_on_2024_05_01(patient: Patient) -> object:
    return write.save(GMFM88Assessment(patient=patient, date=date(2024, 5, 1), items={"1": 2}))


def _gmfm66_on_2024_05_01(patient: Patient) -> object:
    return write.save(GMFM66Assessment(patient=patient, date=date(2024, 5, 1), score=40))


def _spasticity_on_2024_05_01(patient: Patient) -> object:
    return write.save(
        SpasticityAssessment(
            patient=patient,
            date=date(2024, 5, 1),
            mas=[{"muscle": "hip_adductors", "side": "left", "grade": "1+"}],
        )
    )


SPASTICITY_FORM = {"date": "2024-05-01", "mas_hip_adductors_left": "2", "notes": ""}
SPASTICITY_API = {
    "date": "2024-05-01",
    "mas": [{"muscle": "hip_adductors", "side": "left", "grade": "2"}],
}
ARABIC_40 = "٤٠"  # ٤٠: Arabic-Indic 4, 0
PERSIAN_3 = "۳"  # ۳: extended Arabic-Indic (Persian) 3
RLM = "‏"  # right-to-left mark

RULES = [
    Rule(
        "date before birth",
        "before_birth",
        form=("gmfm88", gmfm_form(date="2018-05-01", item_1="1"), "date"),
        api=("/assessments/gmfm", {"date": "2018-05-01", "items": {"1": 1}}, "date"),
        csv=({"date": "2018-05-01", "item_1": "1"}, "date"),
    ),
    Rule(
        "date in the future",
        "in_future",
        form=("gmfm88", gmfm_form(date=FUTURE, item_1="1"), "date"),
        api=("/assessments/gmfm", {"date": FUTURE, "items": {"1": 1}}, "date"),
        csv=({"date": FUTURE, "item_1": "1"}, "date"),
    ),
    Rule(
        "date after consent withdrawal",
        "after_consent_withdrawal",
        form=("gmfm88", gmfm_form(date="2024-05-01", item_1="1"), "date"),
        api=("/assessments/gmfm", {"date": "2024-05-01", "items": {"1": 1}}, "date"),
        csv=({"date": "2024-05-01", "item_1": "1"}, "date"),
        withdrawn=True,
    ),
    Rule(
        "GMFM item score out of range",
        "invalid_score",
        form=("gmfm88", gmfm_form(item_23="4"), "item_23"),
        api=("/assessments/gmfm", {"date": "2024-05-01", "items": {"23": 4}}, "items"),
        csv=({"date": "2024-05-01", "item_23": "4"}, "item_23"),
    ),
    Rule(
        "goal dimension that is not A-E",
        "invalid_goal_dimension",
        form=("gmfm88", gmfm_form(item_1="1", goal_dimensions="F"), "goal_dimensions"),
        api=(
            "/assessments/gmfm",
            {"date": "2024-05-01", "items": {"1": 1}, "goal_dimensions": "F"},
            "goal_dimensions",
        ),
        csv=({"date": "2024-05-01", "item_1": "1", "goal_dimensions": "F"}, "goal_dimensions"),
    ),
    Rule(
        "GMFM-66 above 100",
        "out_of_range",
        form=("gmfm66", {"date": "2024-05-01", "score": "150", "notes": ""}, "score"),
        api=("/assessments/gmfm66", {"date": "2024-05-01", "score": 150}, "score"),
        csv=({"date": "2024-05-01", "item_1": "1", "gmfm66": "150"}, "gmfm66"),
    ),
    Rule(
        "weight in grams",
        "weight_in_grams",
        form=("administration", ADMIN_FORM | {"weight_kg": "15000"}, "weight_kg"),
        api=("/administrations", ADMIN_API | {"weight_kg": 15000}, "weight_kg"),
    ),
    Rule(
        "dose outside the published range without confirmation",
        "dose_needs_confirmation",
        form=("administration", ADMIN_FORM | {"cell_count": "1.5e6"}, "cell_count"),
        api=("/administrations", ADMIN_API | {"cell_count": "1.5e6"}, "cell_count"),
    ),
    Rule(
        "adverse event before birth",
        "before_birth",
        form=("ae", AE_FORM | {"date": "2018-01-01"}, "date"),
        api=("/adverse-events", AE_API | {"onset_date": "2018-01-01"}, "onset_date"),
    ),
    Rule(
        "resolution before onset",
        "before_onset",
        form=("ae", AE_FORM | {"resolution_date": "2024-05-01"}, "resolution_date"),
        api=("/adverse-events", AE_API | {"resolution_date": "2024-05-01"}, "resolution_date"),
    ),
    Rule(
        "fatal outcome that is not grade 5",
        "fatal_not_grade5",
        form=("ae", AE_FORM | {"outcome": "fatal", "serious": "on"}, "grade"),
        api=("/adverse-events", AE_API | {"outcome": "fatal", "serious": True}, "grade"),
    ),
    Rule(
        "grade 5 event not serious",
        "fatal_not_serious",
        form=("ae", AE_FORM | {"grade": "5", "outcome": "fatal"}, "serious"),
        api=("/adverse-events", AE_API | {"grade": 5, "outcome": "fatal"}, "serious"),
    ),
    Rule(
        "rehabilitation ending before it starts",
        "before_start",
        form=(
            "rehab",
            {
                "therapy": "physiotherapy",
                "hours_per_week": "3",
                "date": "2024-05-01",
                "end_date": "2024-04-01",
                "notes": "",
                "therapy_other": "",
            },
            "end_date",
        ),
        api=(
            "/rehabilitation",
            {
                "therapy": "physiotherapy",
                "hours_per_week": 3,
                "start_date": "2024-05-01",
                "end_date": "2024-04-01",
            },
            "end_date",
        ),
    ),
    Rule(
        "rehabilitation starting before birth",
        "before_birth",
        form=(
            "rehab",
            {"therapy": "physiotherapy", "hours_per_week": "3", "date": "2018-05-01"},
            "date",
        ),
        api=(
            "/rehabilitation",
            {"therapy": "physiotherapy", "hours_per_week": 3, "start_date": "2018-05-01"},
            "start_date",
        ),
    ),
    # --- data-entry safety (issue 8) ---
    Rule(
        "second GMFM-88 of the child on the same day, not confirmed",
        "duplicate_assessment",
        form=("gmfm88", gmfm_form(item_1="1"), "date"),
        api=("/assessments/gmfm", {"date": "2024-05-01", "items": {"1": 1}}, "date"),
        csv=({"date": "2024-05-01", "item_1": "1"}, "date"),
        existing=_sheet_on_2024_05_01,
    ),
    Rule(
        "second GMFM-66 of the child on the same day, not confirmed",
        "duplicate_assessment",
        form=("gmfm66", {"date": "2024-05-01", "score": "42", "notes": ""}, "date"),
        api=("/assessments/gmfm66", {"date": "2024-05-01", "score": 42}, "date"),
        csv=({"date": "2024-05-01", "item_1": "1", "gmfm66": "42"}, "gmfm66"),
        existing=_gmfm66_on_2024_05_01,
    ),
    Rule(
        "second spasticity assessment of the child on the same day, not confirmed",
        "duplicate_assessment",
        form=("spasticity", SPASTICITY_FORM, "date"),
        api=("/assessments/spasticity", SPASTICITY_API, "date"),
        existing=_spasticity_on_2024_05_01,
    ),
    Rule(
        "cord-blood total of 4.8 x 10^8 typed as per kg, not confirmed",
        "dose_needs_confirmation",
        form=(
            "administration",
            ADMIN_FORM | {"cell_count": "4.8 x 10^8", "cell_count_unit": "per_kg"},
            "cell_count",
        ),
        api=(
            "/administrations",
            ADMIN_API | {"cell_count": "4.8 x 10^8", "cell_count_unit": "per_kg"},
            "cell_count",
        ),
    ),
    Rule(
        "cord-blood 3 x 10^7 per kg typed as the total (2 x 10^6/kg), not confirmed",
        "dose_needs_confirmation",
        form=("administration", ADMIN_FORM | {"cell_count": "3e7"}, "cell_count"),
        api=("/administrations", ADMIN_API | {"cell_count": "3e7"}, "cell_count"),
    ),
    Rule(
        "cell count 5 x 10^400 (overflows a float)",
        "not_finite",
        form=("administration", ADMIN_FORM | {"cell_count": "5 x 10^400"}, "cell_count"),
        api=("/administrations", ADMIN_API | {"cell_count": "5 x 10^400"}, "cell_count"),
    ),
    Rule(
        "1.7e308 cells in 0.5 kg (the dose per kg overflows)",
        "not_finite",
        form=(
            "administration",
            ADMIN_FORM | {"cell_count": "1.7e308", "weight_kg": "0.5"},
            "cell_count",
        ),
        api=(
            "/administrations",
            ADMIN_API | {"cell_count": 1.7e308, "weight_kg": 0.5},
            "cell_count",
        ),
    ),
    Rule(
        "probable relatedness of an event before any administration, not confirmed",
        "related_before_administration",
        form=("ae", AE_FORM | {"relatedness": "probable"}, "relatedness"),
        api=("/adverse-events", AE_API | {"relatedness": "definite"}, "relatedness"),
    ),
    Rule(
        "Arabic-Indic digits in a GMFM-66 score",
        "non_ascii_digit",
        form=("gmfm66", {"date": "2024-05-01", "score": ARABIC_40, "notes": ""}, "score"),
        api=("/assessments/gmfm66", {"date": "2024-05-01", "score": ARABIC_40}, "score"),
        csv=({"date": "2024-05-01", "item_1": "1", "gmfm66": ARABIC_40}, "gmfm66"),
    ),
    Rule(
        "Persian digit as a GMFM item score",
        "non_ascii_digit",
        form=("gmfm88", gmfm_form(item_23=PERSIAN_3), "item_23"),
        api=("/assessments/gmfm", {"date": "2024-05-01", "items": {"23": PERSIAN_3}}, "items"),
        csv=({"date": "2024-05-01", "item_23": PERSIAN_3}, "item_23"),
    ),
    Rule(
        "right-to-left mark in a date",
        "control_character",
        form=("gmfm88", gmfm_form(date="2024-05-01" + RLM, item_1="1"), "date"),
        api=("/assessments/gmfm", {"date": "2024-05-01" + RLM, "items": {"1": 1}}, "date"),
        csv=({"date": "2024-05-01" + RLM, "item_1": "1"}, "date"),
    ),
    Rule(
        "right-to-left override in a coded field (product)",
        "control_character",
        form=("administration", ADMIN_FORM | {"product": "\u202eucb"}, "product"),
        api=("/administrations", ADMIN_API | {"product": "\u202eucb"}, "product"),
    ),
    Rule(
        "Arabic-Indic digits in a weight",
        "non_ascii_digit",
        form=("administration", ADMIN_FORM | {"weight_kg": "\u0661\u0665"}, "weight_kg"),
        api=("/administrations", ADMIN_API | {"weight_kg": "\u0661\u0665"}, "weight_kg"),
    ),
    Rule(
        "C1 control character in a rehabilitation hours field",
        "control_character",
        form=(
            "rehab",
            {"therapy": "physiotherapy", "hours_per_week": "3\x85", "date": "2024-05-01"},
            "hours_per_week",
        ),
        api=(
            "/rehabilitation",
            {"therapy": "physiotherapy", "hours_per_week": "3\x85", "start_date": "2024-05-01"},
            "hours_per_week",
        ),
    ),
]


def _withdraw(patient: Patient) -> None:
    patient.consent_date = date(2020, 1, 1)
    patient.consent_version = "1.0"
    patient.consent_withdrawn_date = date(2023, 1, 1)
    write.save(patient, reason="consent withdrawn by the parents")


def _form_codes(web, patient, kind: str, data: dict) -> dict[str, list[str]]:
    r = web("clin").post(f"/patients/{patient.pk}/{kind}/new/", data)
    assert r.status_code == 200, (r.status_code, r.content[:300])  # the form again, not a 500
    return {k: [e.code for e in v] for k, v in r.context["form"].errors.as_data().items()}


def _api_codes(api, patient, path: str, body: dict) -> dict[str, list[str]]:
    r = api("clin").post(f"/patients/{patient.pk}{path}", body)
    assert r.status_code == 422, (r.status_code, r.content[:300])
    return r.json()["codes"]


def _csv_problems(tmp_path: Path, patient: Patient, cells: dict) -> list[tuple[str, str]]:
    columns = ["site", "study_id", *cells]
    row = [patient.site.code, patient.study_id, *cells.values()]
    path = tmp_path / "in.csv"
    path.write_text(",".join(columns) + "\n" + ",".join(row) + "\n")
    with pytest.raises(importer.ImportRejected) as exc:
        importer.import_gmfm(path)
    (rejected,) = exc.value.rows
    assert rejected.line == 2
    return list(rejected.problems)


@pytest.mark.parametrize("rule", [r for r in RULES if r.form], ids=lambda r: r.name)
def test_form_refuses(rule, web, patient):
    if rule.withdrawn:
        _withdraw(patient)
    if rule.existing:
        rule.existing(patient)
    kind, data, name = rule.form
    codes = _form_codes(web, patient, kind, data)
    assert rule.code in codes.get(name, []), codes


@pytest.mark.parametrize("rule", [r for r in RULES if r.api], ids=lambda r: r.name)
def test_api_refuses(rule, api, patient):
    if rule.withdrawn:
        _withdraw(patient)
    if rule.existing:
        rule.existing(patient)
    path, body, name = rule.api
    codes = _api_codes(api, patient, path, body)
    assert rule.code in codes.get(name, []), codes


@pytest.mark.parametrize("rule", [r for r in RULES if r.csv], ids=lambda r: r.name)
def test_import_refuses(rule, patient, tmp_path):
    if rule.withdrawn:
        _withdraw(patient)
    before = rule.existing(patient) if rule.existing else None
    cells, name = rule.csv
    problems = _csv_problems(tmp_path, patient, cells)
    assert (name, rule.code) in problems, problems
    # nothing was written: the registry holds only what the rule wrote first
    sheets = list(GMFM88Assessment.objects.all())
    assert sheets == ([before] if isinstance(before, GMFM88Assessment) else [])


def test_every_rule_has_a_form_and_an_api_case_and_gmfm_rules_an_import_case():
    assert all(r.form and r.api for r in RULES)
    assert all(r.csv for r in RULES if r.api[0] == "/assessments/gmfm")


# --- duplicate study IDs (patients: form and API) ---------------------------------------------


def test_duplicate_study_id_any_case_is_refused_by_form_and_api(web, api, patient):
    r = web("clin").post(
        "/patients/new/", {"study_id": "lub-001", "birth_date": "2019-01-01", "sex": "F"}
    )
    assert r.status_code == 200
    form_codes = {k: [e.code for e in v] for k, v in r.context["form"].errors.as_data().items()}
    assert form_codes == {"study_id": ["duplicate_study_id"]}
    r = api("clin").post(
        "/patients", {"study_id": "Lub-001", "birth_date": "2019-01-01", "sex": "F"}
    )
    assert r.status_code == 422 and r.json()["codes"] == {"study_id": ["duplicate_study_id"]}
    assert Patient.objects.count() == 1


# --- regressions -----------------------------------------------------------------------------


def test_regression_import_refuses_a_gmfm88_after_consent_withdrawal(patient, tmp_path):
    """The import used to accept a sheet dated after withdrawal (the form refused it)."""
    _withdraw(patient)
    problems = _csv_problems(tmp_path, patient, {"date": "2023-01-02", "item_1": "2"})
    assert problems == [("date", "after_consent_withdrawal")]
    # the day of withdrawal itself is still allowed
    path = tmp_path / "ok.csv"
    path.write_text(f"study_id,date,item_1\n{patient.study_id},2023-01-01,2\n")
    assert importer.import_gmfm(path).sheets == 1


def test_regression_double_submit_gives_a_field_error_not_a_500(web, sites):
    body = {"study_id": "DBL-1", "birth_date": "2019-01-01", "sex": "F"}
    client = web("clin")
    first = client.post("/patients/new/", body)
    second = client.post("/patients/new/", body)
    assert first.status_code == 302
    assert second.status_code == 200
    assert [e.code for e in second.context["form"].errors.as_data()["study_id"]] == [
        "duplicate_study_id"
    ]
    assert Patient.objects.filter(study_id="DBL-1").count() == 1


def test_regression_race_past_the_check_is_caught_by_the_constraint(sites, monkeypatch):
    """Two submits that both pass the check before either is saved: the database constraint
    fires for the second, and the write path reports it as the same field error."""
    write.save(Patient(site=sites[0], study_id="RACE-1", birth_date=date(2019, 1, 1), sex="F"))
    monkeypatch.setattr(Patient, "validate_unique", lambda self, exclude=None: None)
    monkeypatch.setattr(Patient, "validate_constraints", lambda self, exclude=None: None)
    with pytest.raises(FieldErrors) as exc:
        write.save(Patient(site=sites[0], study_id="race-1", birth_date=date(2019, 1, 1), sex="M"))
    assert exc.value.codes == {"study_id": ["duplicate_study_id"]}
    assert list(Patient.objects.values_list("study_id", flat=True)) == ["RACE-1"]


def test_regression_race_1_and_RACE_1_cannot_both_be_stored(sites):
    Patient.objects.create(site=sites[0], study_id="RACE-1", birth_date=date(2019, 1, 1), sex="F")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(
            site=sites[0], study_id="race-1", birth_date=date(2019, 1, 1), sex="F"
        )
    # the same study ID at another site is another child
    Patient.objects.create(site=sites[1], study_id="race-1", birth_date=date(2019, 1, 1), sex="F")
    assert Patient.objects.count() == 2


def test_regression_birth_date_moved_after_records_is_refused_naming_them(web, patient):
    write.save(GMFM66Assessment(patient=patient, date=date(2023, 1, 5), score=40))
    write.save(
        Administration(
            patient=patient,
            date=date(2023, 1, 10),
            product="ucb",
            origin="allogeneic",
            route="intravenous",
            cells_total=4.5e8,
            weight_kg=15,
        )
    )
    r = web("clin").post(
        f"/patients/{patient.pk}/edit/",
        {"study_id": "LUB-001", "birth_date": "2023-01-08", "sex": "F"},
    )
    assert r.status_code == 200
    (error,) = r.context["form"].errors.as_data()["birth_date"]
    assert error.code == "records_before_birth"
    assert "GMFM-66 assessment 2023-01-05" in error.message
    assert "administration" not in error.message  # 2023-01-10 is after the new birth date
    patient.refresh_from_db()
    assert patient.birth_date == date(2019, 4, 2)
    # and the same for a consent withdrawal before existing records
    patient.consent_date, patient.consent_version = date(2020, 1, 1), "1.0"
    patient.consent_withdrawn_date = date(2023, 1, 6)
    with pytest.raises(FieldErrors) as exc:
        write.save(patient, reason="consent withdrawn")
    assert exc.value.codes == {"consent_withdrawn_date": ["records_after_withdrawal"]}
    assert exc.value.errors["consent_withdrawn_date"] == [
        "consent withdrawn on 2023-01-06, but records are dated after it: "
        "administration 2023-01-10; correct or delete them first"
    ]


def test_regression_one_unanalysable_child_does_not_take_down_the_pages(web, api, patient, sites):
    """A child whose records are inconsistent (written before these checks existed) is listed
    as not analysable; the other children are still summarised."""
    other = write.save(
        Patient(site=sites[0], study_id="LUB-002", birth_date=date(2019, 1, 1), sex="M")
    )
    for p in (patient, other):
        write.save(
            Administration(
                patient=p,
                date=date(2023, 1, 10),
                product="ucb",
                origin="allogeneic",
                route="intravenous",
                cells_total=4.5e8,
                weight_kg=15,
            )
        )
        write.save(Classification(patient=p, date=date(2022, 1, 1), system="gmfcs", level=3))
        write.save(GMFM66Assessment(patient=p, date=date(2023, 1, 5), score=40))
        write.save(GMFM66Assessment(patient=p, date=date(2024, 1, 12), score=46))
    Patient.objects.filter(pk=patient.pk).update(birth_date=date(2023, 6, 1))  # legacy data
    r = web("clin").get("/dashboard/")
    assert r.status_code == 200
    assert r.context["not_analysable"] == [
        {"patient": "LUB-001", "reason": "a GMFM-66 is dated before the child's birth"}
    ]
    cells = [row for row in r.context["ipd"]["excess"] if row["group_code"] == "cells"]
    assert [row["n"] for row in cells if row["is_all"]] == [1]
    assert b"LUB-001: not analysable: a GMFM-66 is dated before the child&#x27;s birth" in (
        r.content
    )
    # the child's own page still shows, saying why there is no trajectory; the API says 422
    r = web("clin").get(f"/patients/{patient.pk}/")
    assert r.status_code == 200
    assert b"Trajectory not analysable: a GMFM-66 is dated before the child" in r.content
    r = api("clin").get(f"/patients/{patient.pk}/trajectory")
    assert r.status_code == 422
    assert r.json()["errors"] == {"__all__": ["a GMFM-66 is dated before the child's birth"]}
    assert api("clin").get(f"/patients/{other.pk}/trajectory").status_code == 200


def test_admin_shows_a_gmfm_item_error_on_its_form(web, patient):
    """The Django admin has no item_<n> fields: the item's error is shown above its form."""
    r = web("admin").post(
        "/admin/registry/gmfm88assessment/add/",
        {"patient": patient.pk, "date": "2024-05-01", "items": '{"23": 4}', "notes": ""},
    )
    assert r.status_code == 200
    errors = r.context["adminform"].form.errors.as_data()
    assert [e.code for e in errors["__all__"]] == ["invalid_score"]
    assert not GMFM88Assessment.objects.exists()


def test_import_reads_the_blinded_assessor_flag_for_the_sheet_and_its_gmfm66(patient, tmp_path):
    path = tmp_path / "blind.csv"
    path.write_text(
        "study_id,date,item_1,blinded_assessor,gmfm66,gmfm66_se\n"
        f"{patient.study_id},2023-01-02,2,yes,41.5,1.2\n"
        f"{patient.study_id},2023-02-02,2,,,\n"
    )
    assert importer.import_gmfm(path).sheets == 2
    sheets = dict(patient.gmfm88assessment_set.values_list("date", "blinded_assessor"))
    assert sheets == {date(2023, 1, 2): True, date(2023, 2, 2): False}
    (g66,) = patient.gmfm66assessment_set.all()
    assert g66.blinded_assessor is True and g66.score == 41.5


def test_import_refuses_a_blinded_assessor_value_that_is_not_yes_or_no(patient, tmp_path):
    problems = _csv_problems(
        tmp_path, patient, {"date": "2023-01-02", "item_1": "2", "blinded_assessor": "maybe"}
    )
    assert problems == [("blinded_assessor", "invalid")]
