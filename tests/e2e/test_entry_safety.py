"""Data-entry safety in a real browser (issue 8): the live dose line and the confirmation of a
dose outside its product's published range; the confirmation of a second GMFM-88 of the same
day, keeping every item typed."""

from __future__ import annotations

import re

import pytest

from tests.browser import see

# one xdist worker runs them all: they share the module's server and browser
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_live_dose_line_and_dose_confirmation(login, lub_patient_url):
    page = login("clara")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(lub_patient_url + "administration/new/")
    line = page.locator("#dose-line")
    assert line.inner_text() == "Enter the cell count and the weight to see the dose."
    assert page.locator("#id_dose_confirmed").count() == 0 or not page.is_visible(
        "#id_dose_confirmed"
    )
    page.locator("#id_date").fill("2023-03-01")
    page.select_option("#id_product", "ucb")
    page.select_option("#id_origin", "allogeneic")
    page.select_option("#id_route", "intravenous")
    # a cord-blood total of 4.8 x 10^8 typed as per kg, 15 kg
    page.fill("#id_cell_count", "4.8 x 10^8")
    page.check("input[name=cell_count_unit][value=per_kg]")
    page.fill("#id_weight_kg", "15")
    text = line.inner_text()
    assert text.startswith("= 7.2 x 10^9 total cells = 4.8 x 10^8 cells/kg")
    assert "outside the published range of umbilical cord blood" in text
    # as the total it is 3.2 x 10^7/kg: inside, no warning
    page.check("input[name=cell_count_unit][value=total]")
    assert line.inner_text() == "= 4.8 x 10^8 total cells = 3.2 x 10^7 cells/kg"
    page.check("input[name=cell_count_unit][value=per_kg]")
    page.fill("#id_lot", "LOT-42")
    page.click("button:has-text('Save')")
    see(page.locator("body"), "above the highest published dose")
    content = page.content()
    assert "above the highest published dose of umbilical cord blood" in content
    assert "if the number was the total (4.8 x 10^8 cells)" in content
    # everything typed is kept, and the confirmation is asked
    assert page.input_value("#id_cell_count") == "4.8 x 10^8"
    assert page.input_value("#id_lot") == "LOT-42"
    assert page.is_checked("input[name=cell_count_unit][value=per_kg]")
    assert page.is_visible("#id_dose_confirmed")
    page.check("#id_dose_confirmed")
    page.click("button:has-text('Save')")
    page.wait_for_url(lub_patient_url)
    assert "4.8e+08 cells/kg" in page.content()
    assert errors == []


def test_second_gmfm88_of_the_day_needs_confirmation(login, lub_patient_url):
    page = login("clara")
    for attempt in ("first", "second"):
        page.goto(lub_patient_url + "gmfm88/new/")
        page.locator("#id_date").fill("2024-03-01")
        page.click("label:has(#id_item_1_3)")
        page.click("label:has(#id_item_2_2)")
        page.click("button:has-text('Save and score')")
        if attempt == "first":
            page.wait_for_url(re.compile(r".*/gmfm88/\d+/$"))
    see(page.locator("body"), "is already recorded")
    content = page.content()
    assert "a GMFM-88 of this child on 2024-03-01 is already recorded" in content
    # the items typed are kept; the confirmation checkbox is shown with the warning
    assert page.is_checked("#id_item_1_3") and page.is_checked("#id_item_2_2")
    assert page.is_visible("#id_duplicate_confirmed")
    page.check("#id_duplicate_confirmed")
    page.click("button:has-text('Save and score')")
    page.wait_for_url(re.compile(r".*/gmfm88/\d+/$"))
    page.goto(lub_patient_url)
    assert page.content().count("2024-03-01") >= 2
