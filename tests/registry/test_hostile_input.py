"""Hostile and out-of-range input found by fuzzing: a 4xx with a message, never a 500.

Runs on SQLite and, with ``--db=postgresql``, on PostgreSQL (which cannot store NUL characters:
there these inputs used to be 500s).
"""

from __future__ import annotations

from datetime import date

import pytest

from cpstem.registry import importer
from cpstem.registry.models import AdverseEvent, GMFM88Assessment, LabValue, Patient

pytestmark = pytest.mark.django_db

AE = {
    "onset_date": "2024-05-02",
    "term": "fever",
    "grade": 2,
    "serious": False,
    "relatedness": "possible",
}


# --- API ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=9223372036854775808", "offset"),  # past SQLite's integer range: was a 500
        ("offset=27581167534611922944", "offset"),
        ("limit=27581167534611922944", "limit"),
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_paging_out_of_range_is_422(api, patient, query, field):
    r = api("admin").get(f"/patients?{query}")
    assert r.status_code == 422 and field in r.json()["errors"], r.content


def test_paging_at_its_bounds(api, patient):
    r = api("admin").get("/patients?limit=1000&offset=1000000000")
    assert r.status_code == 200 and r.json() == {"items": [], "count": 1}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/adverse-events", AE | {"term": "fe\x00ver"}, "term"),
        ("/adverse-events", AE | {"notes": "a\x00b"}, "notes"),
        ("/labs", {"date": "2024-01-01", "analyte": "CRP", "value": 1, "unit": "mg/L\x00"}, "unit"),
        (
            "/administrations",
            {
                "date": "2024-01-01",
                "product": "ucb",
                "origin": "autologous",
                "route": "intravenous",
                "cell_count": 3e8,
                "weight_kg": 15,
                "lot": "L\x001",
            },
            "lot",
        ),
        (
            "/assessments/spasticity",
            {
                "date": "2024-01-02",
                "mas": [{"muscle": "hip_adductors", "side": "left", "grade": "1"}],
                "notes": "\x00",
            },
            "notes",
        ),
    ],
)
def test_nul_characters_in_text_are_422(api, patient, path, body, field):
    r = api("clin").post(f"/patients/{patient.pk}{path}", body)
    assert r.status_code == 422, r.content
    assert any(field in key for key in r.json()["errors"]), r.json()
    assert not AdverseEvent.objects.exists() and not LabValue.objects.exists()


def test_nul_characters_in_a_new_patient_and_in_filters_are_422(api, patient):
    r = api("admin").post(
        "/patients",
        {"study_id": "X-1", "birth_date": "2019-01-01", "sex": "F", "site": "LUB\x00"},
    )
    assert r.status_code == 422 and "site" in r.json()["errors"]
    r = api("clin").post(
        "/patients",
        {"study_id": "X-1", "birth_date": "2019-01-01", "sex": "F", "risk_other": "\x00"},
    )
    assert r.status_code == 422 and "risk_other" in r.json()["errors"]
    for query in ("q=%00", "site=LUB%00"):
        r = api("clin").get(f"/patients?{query}")
        assert r.status_code == 422 and query.split("=")[0] in r.json()["errors"]
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # str.isdigit() is True for '²', then int('²') raised: these were 500s
        ("/assessments/gmfm", {"date": "2024-01-03", "items": {"²": 3}}, "items"),
        ("/assessments/gmfm", {"date": "2024-01-03", "items": {"1": "³"}}, "items"),
        # '٣' (Arabic-Indic three) used to be read as item 3
        ("/assessments/gmfm", {"date": "2024-01-03", "items": {"٣": 3}}, "items"),
        ("/classifications", {"date": "2024-01-03", "system": "gmfcs", "level": "²"}, "level"),
        (
            "/assessments/spasticity",
            {
                "date": "2024-01-03",
                "tardieu": [{"muscle": "hip_adductors", "side": "left", "quality": "²"}],
            },
            "tardieu",
        ),
    ],
)
def test_non_ascii_digits_are_422(api, patient, path, body, field):
    r = api("clin").post(f"/patients/{patient.pk}{path}", body)
    assert r.status_code == 422 and any(field in k for k in r.json()["errors"]), r.content


def test_non_ascii_digit_level_filter_is_422(api, patient):
    r = api("clin").get("/patients?gmfcs=%C2%B9")
    assert r.status_code == 422 and "gmfcs" in r.json()["errors"]


def test_birth_date_before_1900_is_refused(api, sites):
    """A birth date in year 1 used to be accepted, and an administration a few days later was
    a 500 (date arithmetic of the follow-up schedule left the calendar)."""
    r = api("clin").post("/patients", {"study_id": "OLD-1", "birth_date": "0001-01-01", "sex": "F"})
    assert r.status_code == 422 and "before 1900-01-01" in r.json()["errors"]["birth_date"][0]
    r = api("clin").post("/patients", {"study_id": "OLD-1", "birth_date": "1900-01-01", "sex": "F"})
    assert r.status_code == 201


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/patients/?gmfcs=%C2%B2",  # '²'.isdigit() is True, int('²') fails: was a 500
        "/patients/?gmfcs=99999999999999999999",
        "/patients/?q=%00",  # NUL: a 500 on PostgreSQL
        "/patients/?site=%00",
        "/patients/?product=%00",
        "/patients/?overdue=%00",
        "/patients/?page=%00",
        "/dashboard/?months=%C2%B2",
        "/dashboard/?months=99999999999999999999",
        "/dashboard/?months=-1",
    ],
)
def test_hostile_filters_on_pages_are_not_errors(web, patient, url):
    r = web("clin").get(url)
    assert r.status_code == 200


def test_invalid_filter_is_named_and_ignored(web, patient):
    html = web("clin").get("/patients/?gmfcs=9&q=LUB").content.decode()
    assert "filter gmfcs ignored" in html and "LUB-001" in html


# --- CSV import ---------------------------------------------------------------------------------


def _import(tmp_path, text: str):
    path = tmp_path / "sheets.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(importer.ImportRejected) as exc:
        importer.import_gmfm(path)
    assert not GMFM88Assessment.objects.exists()
    return {r.line: r for r in exc.value.rows}


def test_import_rejects_rows_with_the_wrong_number_of_fields(patient, tmp_path):
    """Extra fields used to shift the columns (pandas took them as an index): the messages
    named the wrong study ID and date. A short row was imported."""
    rows = _import(
        tmp_path,
        "study_id,date,item_1,notes\n"
        "LUB-001,2024-02-01,3,ok,extra,extra\n"
        "LUB-001,2024-02-02\n"
        "LUB-001,2024-02-03,3,fine\n",
    )
    assert sorted(rows) == [2, 3]
    assert rows[2].study_id == "LUB-001" and "6 fields, but the header has 4" in rows[2].message
    assert "2 fields, but the header has 4" in rows[3].message


def test_import_rejects_cells_over_several_lines_with_true_line_numbers(patient, tmp_path):
    """A quoted cell with line breaks used to lose a '#' line inside it and shift the line
    numbers of every later row."""
    rows = _import(
        tmp_path,
        "study_id,date,item_1,notes\n"
        'LUB-001,2024-02-01,3,"one\n# two\nthree"\n'
        "LUB-001,2024-02-02,3\n",
    )
    assert sorted(rows) == [2, 5]
    assert "runs over lines 2-4" in rows[2].message
    assert "3 fields, but the header has 4" in rows[5].message


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('LUB-001,2024-02-01,3,"a\x00b"', "NUL"),
        ('LUB-001,2024-02-01,3,"a"b', "not valid CSV"),
        ('"LUB-001,2024-02-01,3,x', "not valid CSV"),
    ],
)
def test_import_rejects_nul_and_broken_quotes(patient, tmp_path, line, message):
    rows = _import(tmp_path, f"study_id,date,item_1,notes\n{line}\n")
    assert list(rows) == [2] and message in rows[2].message


def test_import_report_escapes_formulas(patient, tmp_path):
    rows = _import(
        tmp_path,
        'study_id,date,item_1\n"=HYPERLINK(""http://x"")",2024-02-01,3\n+1+1,2024-02-01,3\n',
    )
    report = importer.report_rows(importer.ImportRejected(list(rows.values()), 2))
    assert [r["study_id"] for r in report] == ['\'=HYPERLINK("http://x")', "'+1+1"]
    assert all(not r["problem"].startswith(("=", "+", "-", "@")) for r in report)


def test_import_still_takes_a_good_file(patient, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(
        '# comment\nstudy_id, date, item_1, notes\nLUB-001, 2024-02-01, 3, "quoted, text"\n'
    )
    result = importer.import_gmfm(path)
    assert result.sheets == 1
    assert GMFM88Assessment.objects.get().notes == "quoted, text"
    assert GMFM88Assessment.objects.get().date == date(2024, 2, 1)
