"""Printable PDFs: the patient summary and the GMFM-88 score sheet (blank and filled)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
)
from cpstem.registry.services import write

pytestmark = pytest.mark.django_db


def pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text


@pytest.fixture
def treated(patient):
    write.save(Classification(patient=patient, date=date(2023, 1, 10), system="gmfcs", level=2))
    write.save(
        Administration(
            patient=patient,
            date=date(2023, 3, 1),
            product="ucb",
            origin="allogeneic",
            cells_total=3.0e8,
            weight_kg=15.0,
            route="intravenous",
            lot="LOT-77",
        )
    )
    for day, score in ((date(2023, 2, 20), 48.0), (date(2024, 3, 5), 53.5)):
        write.save(GMFM66Assessment(patient=patient, date=day, score=score, se=1.4))
    write.save(
        AdverseEvent(
            patient=patient,
            date=date(2023, 3, 2),
            term="Fever",
            grade=1,
            serious=False,
            relatedness="possible",
            outcome="recovered",
            resolution_date=date(2023, 3, 3),
        )
    )
    return patient


def test_patient_summary_pdf_has_every_section(web, treated):
    text = pdf_text(web("clin").get(f"/patients/{treated.pk}/summary.pdf"))
    for expected in (
        "Patient summary · LUB-001",
        "Cell administrations",
        "LOT-77",
        "2e+07",  # 3e8 cells / 15 kg
        "GMFM-66 trajectory",
        "53.5",
        "Spasticity",
        "Adverse events",
        "Fever",
        "Follow-up schedule",
        "page 1 of",
    ):
        assert expected in text, expected


def test_patient_summary_pdf_is_pseudonymised_for_researchers(web, treated):
    text = pdf_text(web("researcher").get(f"/patients/{treated.pk}/summary.pdf"))
    assert treated.research_id in text
    assert "LUB-001" not in text and "LOT-77" not in text and "2023-03-01" not in text


def test_patient_summary_pdf_respects_sites(web, treated):
    assert web("clin_b").get(f"/patients/{treated.pk}/summary.pdf").status_code == 404


def test_blank_gmfm88_sheet_lists_all_88_items(web):
    text = pdf_text(web("clin").get("/patients/gmfm88/sheet.pdf"))
    assert "GMFM-88 score sheet" in text
    assert "Supine, head midline: turns head, limbs symmetrical" in text
    assert "Study ID" in text
    for dim in ("A. Lying & rolling (maximum 51)", "E. Walking, running & jumping (maximum 72)"):
        assert dim in text
    # every item number from 1 to 88 is printed
    assert all(f"\n{n}" in text or f"{n}*" in text or f"{n} " in text for n in range(1, 89))


def test_filled_gmfm88_sheet_shows_the_scores_and_totals(web, patient):
    sheet = write.save(
        GMFM88Assessment(patient=patient, date=date(2024, 5, 1), items={"1": 3, "2": 3, "23": 2})
    )
    text = pdf_text(web("clin").get(f"/patients/{patient.pk}/gmfm88/{sheet.pk}/sheet.pdf"))
    assert "LUB-001" in text and "2024-05-01" in text
    assert "6 / 51" in text and "2 / 60" in text
    # total = mean of the dimension percentages: (6/51 + 2/60) * 100 / 5 = 3.02
    assert "3.0" in text


def test_login_required_for_pdfs(client, patient):
    for url in (f"/patients/{patient.pk}/summary.pdf", "/patients/gmfm88/sheet.pdf"):
        r = client.get(url)
        assert r.status_code == 302 and r.url.startswith("/accounts/login/")
