"""A monitor opens the printable patient summary (PDF) from the patient page."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_monitor_prints_the_patient_summary(login, lub_patient_url):
    page = login("moni")
    page.goto(lub_patient_url)
    link = page.locator("#summary-pdf")
    assert link.inner_text() == "Printable summary (PDF)"
    href = link.get_attribute("href")
    assert href is not None and href.endswith("/summary.pdf")
    response = page.context.request.get(page.url.split("/patients/")[0] + href)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert "Patient summary · LUB-E2E-2" in text
    assert "Follow-up schedule" in text


def test_blank_gmfm88_sheet_prints(login, server):
    page = login("clara")
    response = page.context.request.get(server + "/patients/gmfm88/sheet.pdf")
    assert response.status == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert "GMFM-88 score sheet" in text and "Walking, running & jumping" in text
