"""Research exports (pseudonymised, formula-safe) and the GMFM-66 item map setting."""

from __future__ import annotations

from datetime import date

import openpyxl
import pandas as pd
import pytest

from cpstem.registry import exporter
from cpstem.registry.models import AdverseEvent, GMFM66Assessment, GMFM88Assessment
from cpstem.registry.services.records import save_validated
from cpstem.spreadsheet import escape_formula

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("fever", "fever"),
        (3.5, 3.5),
    ],
)
def test_escape_formula(text, safe):
    assert escape_formula(text) == safe


def test_xlsx_export_is_pseudonymised_and_formula_safe(patient, tmp_path):
    AdverseEvent.objects.create(
        patient=patient,
        date=date(2024, 5, 2),
        term="=cmd|' /C calc'!A0",
        grade=1,
        serious=False,
        relatedness="possible",
        notes="called mother Anna",
    )
    GMFM66Assessment.objects.create(patient=patient, date=date(2024, 5, 1), score=41.5)
    counts = exporter.write(tmp_path / "x.xlsx")
    assert counts["adverse_events"] == 1 and counts["analysis"] == 1
    wb = openpyxl.load_workbook(tmp_path / "x.xlsx")
    ws = wb["adverse_events"]
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    # free text never reaches researchers: a term outside the closed CTCAE list is "other"
    assert row["term"] == "other" and ws.cell(2, header.index("term") + 1).data_type == "s"
    assert row["age_months"] == 61 and "notes" not in header
    text = " ".join(str(c.value) for s in wb for r in s.iter_rows() for c in r)
    assert "LUB-001" not in text and "2019-04-02" not in text and "Anna" not in text
    assert "calc" not in text
    assert patient.research_id in text


def test_csv_analysis_table(patient, tmp_path):
    save_validated(GMFM88Assessment(patient=patient, date=date(2024, 5, 1), items={"1": 3}))
    exporter.write(tmp_path / "a.csv")
    df = pd.read_csv(tmp_path / "a.csv")
    assert df.loc[0, "instrument"] == "GMFM-88" and df.loc[0, "total"] == pytest.approx(
        3 / 51 * 100 / 5
    )
    assert df.loc[0, "research_id"] == patient.research_id


def test_gmfm66_from_configured_item_map(patient, tmp_path, settings, api):
    from tests.factories import item_map_text

    path = tmp_path / "map.csv"
    path.write_text(item_map_text())
    settings.CPSTEM = settings.CPSTEM | {"GMFM66_ITEM_MAP": str(path)}
    r = api("clin").post(
        f"/patients/{patient.pk}/assessments/gmfm",
        {"date": "2024-05-01", "items": {"2": 1, "6": 2}},
    )
    assert r.status_code == 201, r.content
    g66 = r.json()["gmfm66"]
    # two tested items scored 1 and 2 on a symmetric map: theta 0 -> intercept 50 (see tests/measures)
    assert g66["source"] == "item_map" and g66["score"] == pytest.approx(50.0, abs=1e-9)
    assert GMFM66Assessment.objects.get().sheet_id == r.json()["id"]
