"""A clinician records a child, a GMFM-88 sheet and sees scores and the trajectory chart; a
monitor cannot edit; another site's clinician cannot see the child."""

from __future__ import annotations

import re

import pytest

from tests.browser import see

# one xdist worker runs them all: they share the module's server and browser
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def fill_date(page, selector: str, iso: str) -> None:
    page.locator(selector).fill(iso)


def test_clinician_records_a_child(login):
    page = login("clara")
    page.click("text=New patient")
    page.fill("#id_study_id", "LUB-E2E-1")
    fill_date(page, "#id_birth_date", "2019-04-02")
    page.select_option("#id_sex", "F")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r".*/patients/\d+/$"))
    patient_url = page.url
    assert page.locator("h1").inner_text().startswith("LUB-E2E-1")

    page.click("text=+ GMFCS/MACS/CFCS")
    fill_date(page, "#id_date", "2023-01-10")
    page.select_option("#id_system", "gmfcs")
    page.select_option("#id_level", "3")
    page.click("button:has-text('Save')")

    page.click("text=+ Cells")
    fill_date(page, "#id_date", "2023-03-01")
    page.select_option("#id_product", "ucb")
    page.select_option("#id_origin", "allogeneic")
    page.fill("#id_hla_match", "5/6")
    page.fill("#id_cell_count", "5 x 10^8")  # 3.3e7/kg: inside cord blood's published range
    page.fill("#id_weight_kg", "15000")  # grams by mistake
    page.select_option("#id_route", "intravenous")
    page.click("button:has-text('Save')")
    see(page.locator("body"), "looks like grams")
    assert page.input_value("#id_cell_count") == "5 x 10^8"  # nothing lost
    page.fill("#id_weight_kg", "15")
    page.click("button:has-text('Save')")
    page.wait_for_url(patient_url)
    assert "3.33e+07 cells/kg" in page.content()

    for day, score in (("2023-02-25", "40"), ("2024-03-01", "46.5")):
        page.click("text=+ GMFM-66")
        fill_date(page, "#id_date", day)
        page.fill("#id_score", score)
        page.click("button:has-text('Save')")
        page.wait_for_url(patient_url)

    page.click("text=+ GMFM-88")
    fill_date(page, "#id_date", "2024-03-01")
    for item in range(1, 18):  # dimension A: all 3
        page.click(f"label:has(#id_item_{item}_3)")
    page.click("label:has(#id_item_18_2)")
    page.click("label:has(#id_item_52_0)")  # a true 0, not NT
    live = page.locator("#live-scores").inner_text()
    assert "A 100.0 %" in live and "B 3.3 %" in live
    page.click("button:has-text('Save and score')")
    page.wait_for_url(re.compile(r".*/gmfm88/\d+/$"))
    scores = page.locator("#gmfm88-scores").inner_text()
    assert "51/51" in scores and "100.0" in scores and "2/60" in scores
    assert page.locator("#gmfm-total").inner_text() == f"{(100 + 2 / 60 * 100) / 5:.1f}"
    assert "Not tested (69 items" in scores  # 88 - 17 - 2 scored

    page.goto(patient_url)
    chart = page.locator("#trajectory img")
    chart.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('#trajectory img').naturalWidth > 0")
    table = page.locator("#trajectory table").inner_text()
    assert "46.5" in table and "6.50" in table  # observed change 46.5 - 40
    assert "Baseline GMFM-66 40.0" in page.locator("#trajectory").inner_text()


def test_monitor_cannot_edit(login, lub_patient_url):
    page = login("moni")
    assert "LUB-E2E-2" in page.content()
    page.goto(lub_patient_url)
    assert page.locator("h1").inner_text().startswith("LUB-E2E-2")
    assert (
        page.locator("text=+ GMFM-88").count() == 0 and page.locator("text=Edit child").count() == 0
    )
    r = page.goto(lub_patient_url + "gmfm88/new/")
    assert r.status == 403


def test_other_site_cannot_see_the_patient(login, lub_patient_url):
    page = login("bob")
    assert "LUB-E2E-2" not in page.content()
    page.fill("input[name=q]", "LUB-E2E")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**/patients/?q=LUB-E2E*")
    see(page.locator("body"), "No patients match.")
    r = page.goto(lub_patient_url)
    assert r.status == 404
