"""Data-entry safety (issue 8): confirmations that the person entering can give (a dose outside
its product's published range, a second assessment of the same day, a probable/definite
relatedness before any administration), JSON true/false as a number, kilograms in the grams
field, a blank adverse-event outcome, overflowing numbers, unknown import columns, and the
trajectory's rule for several GMFM-66 scores of one day. Web forms and the API (the API tests
run on PostgreSQL too: ``pytest --db=postgresql tests/registry``)."""

from __future__ import annotations

import math
import re
from datetime import date

import pytest

from cpstem.registry import importer
from cpstem.registry.errors import RegistryError
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.services import write

pytestmark = pytest.mark.django_db

ADMIN_API = {
    "date": "2023-03-01",
    "product": "ucb",
    "origin": "allogeneic",
    "route": "intravenous",
    "weight_kg": 15,
}
ADMIN_FORM = {
    "date": "2023-03-01",
    "product": "ucb",
    "origin": "allogeneic",
    "route": "intravenous",
    "weight_kg": "15",
    "cell_count_unit": "total",
    "lot": "LOT-9",
}


def codes(response) -> dict[str, list[str]]:
    assert response.status_code == 422, (response.status_code, response.content[:400])
    return response.json()["codes"]


def form_codes(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.status_code
    return {k: [e.code for e in v] for k, v in response.context["form"].errors.as_data().items()}


def checkbox(html: str, name: str) -> str | None:
    """The <input> tag of the checkbox ``name``, if the page shows it."""
    m = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', html)
    return m.group(0) if m else None


# --- dose per product ----------------------------------------------------------------------


def test_api_cord_blood_total_typed_per_kg_says_so_and_is_saved_when_confirmed(api, patient):
    c = api("clin")
    body = ADMIN_API | {"cell_count": "4.8 x 10^8", "cell_count_unit": "per_kg"}
    r = c.post(f"/patients/{patient.pk}/administrations", body)
    assert codes(r) == {"cell_count": ["dose_needs_confirmation"]}
    (message,) = r.json()["errors"]["cell_count"]
    # 4.8e8/kg is above cord blood's highest published dose (ACCeNT-CP 1e8/kg); read as the
    # total it is 4.8e8 / 15 = 3.2e7/kg, inside the range
    assert message.startswith(
        "dose 4.8 x 10^8 cells/kg (7.2 x 10^9 cells in total, 15 kg) is above the highest "
        "published dose of umbilical cord blood (5 x 10^6-1 x 10^8 cells/kg): if the number "
        "was the total (4.8 x 10^8 cells), enter it as total cells"
    )
    assert not Administration.objects.exists()
    r = c.post(f"/patients/{patient.pk}/administrations", body | {"confirm_dose": True})
    assert r.status_code == 201, r.content
    assert r.json()["dose_cells_per_kg"] == pytest.approx(4.8e8)
    assert Administration.objects.get().dose_confirmed is True


def test_api_3e7_total_for_a_16_kg_child_suggests_per_kg(api, patient):
    body = ADMIN_API | {"cell_count": "3e7", "weight_kg": 16}
    r = api("clin").post(f"/patients/{patient.pk}/administrations", body)
    assert codes(r) == {"cell_count": ["dose_needs_confirmation"]}
    # 3e7 / 16 kg = 1.875e6/kg, below cord blood's lowest published dose 5e6/kg
    assert "dose 1.88 x 10^6 cells/kg" in r.json()["errors"]["cell_count"][0]
    assert "if the number was per kg (3 x 10^7 cells/kg)" in r.json()["errors"]["cell_count"][0]


def test_unknown_product_is_checked_against_the_overall_range(api, patient):
    # 2e6/kg: below cord blood's range, inside the overall one (1e6-5.97e8/kg)
    body = ADMIN_API | {"cell_count": "3e7", "product": "other", "product_other": "NSC"}
    r = api("clin").post(f"/patients/{patient.pk}/administrations", body)
    assert r.status_code == 201, r.content


def test_form_asks_to_confirm_the_dose_and_keeps_what_was_typed(web, patient):
    c = web("clin")
    url = f"/patients/{patient.pk}/administration/new/"
    html = c.get(url).content.decode()
    assert checkbox(html, "dose_confirmed") is None  # no confirmation asked before a warning
    assert 'id="dose-line"' in html and "registry/dose.js" in html
    assert "<script>" not in html  # no inline script (CSP): the dose line is a static file
    r = c.post(url, ADMIN_FORM | {"cell_count": "3e7"})
    assert form_codes(r) == {"cell_count": ["dose_needs_confirmation"]}
    html = r.content.decode()
    assert checkbox(html, "dose_confirmed") is not None
    assert 'value="3e7"' in html and 'value="LOT-9"' in html
    r = c.post(url, ADMIN_FORM | {"cell_count": "3e7", "dose_confirmed": "on"})
    assert r.status_code == 302
    a = Administration.objects.get()
    assert a.dose_confirmed and a.dose_cells_per_kg == pytest.approx(2e6)


def test_dose_overflow_is_a_422_not_a_500(api, patient):
    c = api("clin")
    raw = (
        '{"date": "2023-03-01", "product": "ucb", "origin": "allogeneic", '
        '"route": "intravenous", "cell_count": 1e400, "weight_kg": 15}'
    )
    assert codes(c.post(f"/patients/{patient.pk}/administrations", raw)) == {
        "cell_count": ["not_finite"]
    }
    body = ADMIN_API | {"cell_count": "1e308", "cell_count_unit": "per_kg", "weight_kg": 100}
    assert codes(c.post(f"/patients/{patient.pk}/administrations", body)) == {
        "cell_count": ["not_finite"]
    }


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/assessments/gmfm66", '{"date": "2024-05-01", "score": 1e400}', "score"),
        ("/assessments/gmfm66", '{"date": "2024-05-01", "score": 40, "se": 1e400}', "se"),
        (
            "/labs",
            '{"date": "2024-05-01", "analyte": "CRP", "value": -1e400, "unit": "mg/L"}',
            None,
        ),
        (
            "/rehabilitation",
            '{"therapy": "physiotherapy", "hours_per_week": 1e400, "start_date": "2024-05-01"}',
            "hours_per_week",
        ),
        (
            "/assessments/spasticity",
            '{"date": "2024-05-01", "tardieu": [{"muscle": "hip_adductors", "side": "left", '
            '"r1_deg": 1e400, "r2_deg": 20}]}',
            "tardieu",
        ),
        (
            "/administrations",
            '{"date": "2023-03-01", "product": "ucb", "origin": "allogeneic", '
            '"route": "intravenous", "cell_count": "3e8", "weight_kg": 1e400}',
            "weight_kg",
        ),
    ],
)
def test_every_numeric_api_path_refuses_an_overflowing_number(api, patient, path, raw, field):
    found = codes(api("clin").post(f"/patients/{patient.pk}{path}", raw))
    assert field is None or field in found, found


def test_patient_numbers_that_overflow_are_refused(api, sites):
    c = api("clin")
    raw = '{"study_id": "OVF-1", "birth_date": "2019-01-01", "sex": "F", "%s": %s}'
    for name in ("birth_weight_g", "gestational_age_weeks"):
        for value in ("1e400", "-1e400", "NaN"):
            assert name in codes(c.post("/patients", raw % (name, value)))
    assert not Patient.objects.exists()


# --- duplicates ----------------------------------------------------------------------------


def test_api_second_assessment_of_the_day_needs_confirm_duplicate(api, patient):
    c = api("clin")
    first = {"date": "2024-05-01", "items": {"1": 2}}
    assert c.post(f"/patients/{patient.pk}/assessments/gmfm", first).status_code == 201
    second = {"date": "2024-05-01", "items": {"1": 3}, "with_aids": True}
    r = c.post(f"/patients/{patient.pk}/assessments/gmfm", second)
    assert codes(r) == {"date": ["duplicate_assessment"]}
    assert r.json()["errors"]["date"] == [
        "a GMFM-88 of this child on 2024-05-01 is already recorded: confirm that this is a "
        "second assessment of the same day, or edit the first"
    ]
    r = c.post(f"/patients/{patient.pk}/assessments/gmfm", second | {"confirm_duplicate": True})
    assert r.status_code == 201, r.content
    assert sorted(GMFM88Assessment.objects.values_list("duplicate_confirmed", flat=True)) == [
        False,
        True,
    ]
    # another day needs no confirmation; the first sheet can still be edited (not its own twin)
    sheet = GMFM88Assessment.objects.get(duplicate_confirmed=False)
    sheet.notes = "re-read"
    write.save(sheet, reason="notes completed")


def test_form_second_spasticity_assessment_shows_the_confirm_checkbox(web, patient):
    write.save(
        SpasticityAssessment(
            patient=patient,
            date=date(2024, 5, 1),
            mas=[{"muscle": "hip_adductors", "side": "left", "grade": "1"}],
        )
    )
    c = web("clin")
    url = f"/patients/{patient.pk}/spasticity/new/"
    assert checkbox(c.get(url).content.decode(), "duplicate_confirmed") is None
    data = {"date": "2024-05-01", "mas_hip_adductors_left": "2", "notes": "second look"}
    r = c.post(url, data)
    assert form_codes(r) == {"date": ["duplicate_assessment"]}
    html = r.content.decode()
    assert checkbox(html, "duplicate_confirmed") is not None
    assert re.search(r'<option value="2" selected>', html)  # the grade typed is kept
    r = c.post(url, data | {"duplicate_confirmed": "on"})
    assert r.status_code == 302
    assert SpasticityAssessment.objects.filter(duplicate_confirmed=True).count() == 1


def test_trajectory_uses_the_mean_of_the_scores_of_one_day_and_says_so(api, patient):
    write.save(Classification(patient=patient, date=date(2022, 1, 1), system="gmfcs", level=3))
    write.save(GMFM66Assessment(patient=patient, date=date(2023, 1, 5), score=40, se=2))
    write.save(
        GMFM66Assessment(
            patient=patient, date=date(2023, 1, 5), score=44, se=2, duplicate_confirmed=True
        )
    )
    write.save(GMFM66Assessment(patient=patient, date=date(2024, 1, 5), score=50))
    body = api("clin").get(f"/patients/{patient.pk}/trajectory").json()
    assert body["same_day_rule"].startswith("several GMFM-66 scores on one day: their mean")
    first, second = body["observations"]
    assert first["date"] == "2023-01-05" and first["gmfm66"] == pytest.approx(42.0)
    assert first["se"] == pytest.approx(math.sqrt(2**2 + 2**2) / 2)  # 1.414
    assert first["n_scores"] == 2 and first["scores"] == [40.0, 44.0]
    assert second == {
        "date": "2024-01-05",
        "gmfm66": 50.0,
        "se": None,
        "n_scores": 1,
        "scores": [50.0],
    }
    # researchers see the same rule and counts, with ages instead of dates
    body = api("researcher").get(f"/patients/{patient.pk}/trajectory").json()
    assert body["observations"][0]["n_scores"] == 2
    assert body["observations"][0]["gmfm66"] == pytest.approx(42.0)


def test_import_refuses_a_gmfm88_already_in_the_registry_with_the_same_code(patient, tmp_path):
    write.save(GMFM88Assessment(patient=patient, date=date(2024, 5, 1), items={"1": 2}))
    path = tmp_path / "dup.csv"
    path.write_text(f"study_id,date,item_1\n{patient.study_id},2024-05-01,3\n")
    with pytest.raises(importer.ImportRejected) as exc:
        importer.import_gmfm(path)
    assert exc.value.rows[0].problems == (("date", "duplicate_assessment"),)


# --- adverse events ------------------------------------------------------------------------


def test_blank_outcome_is_unknown_not_not_recovered(web, api, patient):
    body = {
        "onset_date": "2024-05-02",
        "term": "fever",
        "grade": 1,
        "serious": False,
        "relatedness": "unlikely",
    }
    r = api("clin").post(f"/patients/{patient.pk}/adverse-events", body)
    assert r.status_code == 201 and r.json()["outcome"] == "unknown"
    r = api("clin").post(
        f"/patients/{patient.pk}/adverse-events", body | {"resolution_date": "2024-05-04"}
    )
    assert r.json()["outcome"] == "recovered"  # a resolution date says it resolved
    c = web("clin")
    r = c.post(
        f"/patients/{patient.pk}/ae/new/",
        {
            "term": "headache",
            "date": "2024-05-03",
            "grade": "1",
            "relatedness": "unlikely",
            "action": "none",
            "outcome": "",
        },
    )
    assert r.status_code == 302
    assert AdverseEvent.objects.get(term="headache").outcome == "unknown"
    html = c.get(f"/patients/{patient.pk}/").content.decode()
    assert re.search(r"<td>headache</td>.*?<td>Unknown</td>", html, re.S)


def test_probable_relatedness_before_any_administration_needs_confirming(web, api, patient):
    body = {
        "onset_date": "2023-02-01",
        "term": "rash",
        "grade": 1,
        "serious": False,
        "relatedness": "probable",
    }
    c = api("clin")
    r = c.post(f"/patients/{patient.pk}/adverse-events", body)
    assert codes(r) == {"relatedness": ["related_before_administration"]}
    assert r.json()["errors"]["relatedness"] == [
        "the event began on 2023-02-01, and the child has no cell administration recorded: a "
        "probable relation to the cell product needs confirming (or choose another relatedness)"
    ]
    write.save(
        Administration(
            patient=patient,
            date=date(2023, 3, 1),
            product="ucb",
            origin="allogeneic",
            route="intravenous",
            cells_total=4.5e8,
            weight_kg=15,
        )
    )
    r = c.post(f"/patients/{patient.pk}/adverse-events", body)
    assert (
        "before the first cell administration (2023-03-01)"
        in (r.json()["errors"]["relatedness"][0])
    )
    # "possible" needs no confirmation; after the administration "definite" needs none either
    assert (
        c.post(
            f"/patients/{patient.pk}/adverse-events", body | {"relatedness": "possible"}
        ).status_code
        == 201
    )
    later = body | {"onset_date": "2023-03-02", "relatedness": "definite"}
    assert c.post(f"/patients/{patient.pk}/adverse-events", later).status_code == 201
    r = c.post(f"/patients/{patient.pk}/adverse-events", body | {"confirm_relatedness": True})
    assert r.status_code == 201
    assert AdverseEvent.objects.filter(relatedness_confirmed=True).count() == 1
    # the form shows the checkbox with the warning
    r = web("clin").post(
        f"/patients/{patient.pk}/ae/new/",
        {
            "term": "rash",
            "date": "2023-02-01",
            "grade": "1",
            "relatedness": "definite",
            "action": "none",
        },
    )
    assert form_codes(r) == {"relatedness": ["related_before_administration"]}
    assert checkbox(r.content.decode(), "relatedness_confirmed") is not None


# --- numbers and codes as typed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/assessments/gmfm", {"date": "2024-05-01", "items": {"23": True}}, "items"),
        ("/assessments/gmfm66", {"date": "2024-05-01", "score": True}, "score"),
        (
            "/assessments/spasticity",
            {
                "date": "2024-05-01",
                "mas": [{"muscle": "hip_adductors", "side": "left", "grade": True}],
            },
            "mas.0.grade",
        ),
        ("/classifications", {"date": "2024-05-01", "system": "gmfcs", "level": True}, "level"),
        (
            "/adverse-events",
            {
                "onset_date": "2024-05-02",
                "term": "fever",
                "grade": True,
                "serious": False,
                "relatedness": "possible",
            },
            "grade",
        ),
        (
            "/labs",
            {"date": "2024-05-01", "analyte": "CRP", "value": False, "unit": "mg/L"},
            "value",
        ),
    ],
)
def test_json_true_or_false_is_not_a_score(api, patient, path, body, field):
    r = api("clin").post(f"/patients/{patient.pk}{path}", body)
    assert codes(r) == {field: ["bool_not_allowed"]}
    assert r.json()["errors"][field] == ["true/false is not a number or a code: give the value"]
    assert not GMFM88Assessment.objects.exists() and not Classification.objects.exists()


def test_booleans_stay_booleans(api, patient):
    body = {
        "onset_date": "2024-05-02",
        "term": "fever",
        "grade": 3,
        "serious": True,
        "relatedness": "possible",
    }
    assert api("clin").post(f"/patients/{patient.pk}/adverse-events", body).status_code == 201


def test_free_text_may_hold_any_script(api, patient):
    body = {
        "date": "2024-05-01",
        "score": 40,
        "notes": "\u0627\u0644\u0637\u0641\u0644 \u0663 \u0633\u0646\u0648\u0627\u062a",
    }
    assert api("clin").post(f"/patients/{patient.pk}/assessments/gmfm66", body).status_code == 201


def test_birth_weight_in_kilograms_suggests_grams(web, api, sites):
    body = {"study_id": "BW-1", "birth_date": "2019-01-01", "sex": "F", "birth_weight_g": 1.45}
    r = api("clin").post("/patients", body)
    assert codes(r) == {"birth_weight_g": ["weight_in_kg"]}
    assert r.json()["errors"]["birth_weight_g"] == [
        "birth weight 1.45 looks like kilograms: the field is in grams (did you mean 1450 g?)"
    ]
    r = web("clin").post("/patients/new/", body | {"study_id": "BW-2"})
    assert form_codes(r) == {"birth_weight_g": ["weight_in_kg"]}
    assert "did you mean 1450 g?" in r.content.decode()
    r = web("clin").post("/patients/new/", body | {"study_id": "BW-3", "birth_weight_g": "1450"})
    assert r.status_code == 302
    assert Patient.objects.get(study_id="BW-3").birth_weight_g == 1450


def test_typed_text_in_the_patient_form(web, sites):
    r = web("clin").post(
        "/patients/new/",
        {"study_id": "TT-1", "birth_date": "\u0662\u0660\u0661\u0669-01-01", "sex": "F"},
    )
    assert form_codes(r) == {"birth_date": ["non_ascii_digit"]}
    assert "ARABIC-INDIC DIGIT TWO" in r.content.decode()


# --- import --------------------------------------------------------------------------------


def test_import_refuses_a_misspelt_notes_column_naming_it(patient, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"study_id,date,item_1,note\n{patient.study_id},2024-05-01,2,well\n")
    with pytest.raises(RegistryError) as exc:
        importer.import_gmfm(path)
    assert exc.value.code == "unknown_column" and exc.value.field == "note"
    assert exc.value.params["suggestions"] == {"note": "notes"}
    assert "unknown column(s) note" in exc.value.message
    assert "'note' (did you mean 'notes'?)" in exc.value.message
    assert not GMFM88Assessment.objects.exists()


@pytest.mark.parametrize(
    ("text", "code"), [("1e400", "out_of_range"), ("NaN", "out_of_range"), ("-inf", "out_of_range")]
)
def test_import_refuses_an_overflowing_gmfm66_as_a_rejected_row(patient, tmp_path, text, code):
    path = tmp_path / "in.csv"
    path.write_text(f"study_id,date,item_1,gmfm66\n{patient.study_id},2024-05-01,2,{text}\n")
    with pytest.raises(importer.ImportRejected) as exc:
        importer.import_gmfm(path)
    assert exc.value.rows[0].problems == (("gmfm66", code),)
    assert not GMFM88Assessment.objects.exists()


def test_openapi_documents_the_confirmation_flags(api):
    schema = api("clin").get("/openapi.json").json()["components"]["schemas"]
    flags = {
        "AdministrationIn": "confirm_dose",
        "GMFMIn": "confirm_duplicate",
        "GMFM66In": "confirm_duplicate",
        "SpasticityIn": "confirm_duplicate",
        "AdverseEventIn": "confirm_relatedness",
    }
    for body, flag in flags.items():
        prop = schema[body]["properties"][flag]
        assert prop["type"] == "boolean" and prop["default"] is False, body
    assert (
        "dose_needs_confirmation"
        in schema["AdministrationIn"]["properties"]["confirm_dose"]["description"]
    )
    assert (
        "duplicate_assessment" in schema["GMFMIn"]["properties"]["confirm_duplicate"]["description"]
    )
    traj = schema["TrajectoryOut"]["properties"]
    assert "same_day_rule" in traj
