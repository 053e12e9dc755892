"""The cohort dashboard in a real browser: the figures table with CIs, the filters (site,
product, GMFCS, exclude synthetic) change the numbers, the plots load, the XLSX downloads and
opens."""

from __future__ import annotations

import openpyxl
import pytest

from tests.browser import E2E_PASSWORD as PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def demo_cohort(e2e_registry):
    """The synthetic demo cohort (12 children per demo site) and an administrator."""
    e2e_registry.run("demo", "load", "--per-site", "12")
    e2e_registry.run("user", "create", "ada", "--role", "admin", "--password-stdin", stdin=PASSWORD)


def _numbers(page) -> dict[str, str]:
    """The "In the analyses" card: treated children and controls."""
    rows = page.locator("#cohort-n tr")
    return {
        rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(1).inner_text()
        for i in range(rows.count())
    }


def _excess(page) -> list[list[str]]:
    rows = page.locator("#cohort-excess tbody tr")
    return [
        [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def _apply(page, **choices: str) -> None:
    for name, value in choices.items():
        page.select_option(f"#id_{name}", value)
    with page.expect_navigation():
        page.click("#cohort-filters button")


def test_dashboard_figures_filters_plots_and_xlsx(demo_cohort, login, server, tmp_path):
    page = login("ada")
    page.goto(server + "/dashboard/")
    everyone = _numbers(page)
    assert int(everyone["Children treated with cells"]) > 0
    assert int(everyone["Concurrent controls"]) > 0
    excess = _excess(page)
    total = next(r for r in excess if r[0] == "All children")
    assert int(total[2]) > 1 and " to " in total[4]  # n, mean and its 95 % CI
    lo, hi = (float(v) for v in total[4].split(" to "))
    assert lo < float(total[3]) < hi

    # the plots are separate images; each loads and has a size
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.chart-img')).every(i => i.complete)"
    )
    widths = page.eval_on_selector_all("img.chart-img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 5 and all(w > 0 for w in widths)

    # each filter changes the numbers
    _apply(page, site="DEMO-N")
    assert "months=12" in page.url  # the visit shown (12 months) is the one submitted
    north = _numbers(page)
    assert north != everyone
    assert sum(map(int, north.values())) < sum(map(int, everyone.values()))
    _apply(page, site="", product="ucb")
    ucb = _numbers(page)
    assert int(ucb["Children treated with cells"]) < int(everyone["Children treated with cells"])
    _apply(page, product="", gmfcs="3")
    level3 = _numbers(page)
    assert level3 != everyone and _excess(page) != excess
    _apply(page, gmfcs="")
    page.check("#id_exclude_synthetic")
    with page.expect_navigation():
        page.click("#cohort-filters button")
    assert _numbers(page) == {"Children treated with cells": "0", "Concurrent controls": "0"}
    page.uncheck("#id_exclude_synthetic")
    with page.expect_navigation():
        page.click("#cohort-filters button")
    assert _numbers(page) == everyone

    # the XLSX download of the same view opens with openpyxl
    with page.expect_download() as info:
        page.click("#cohort-xlsx")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == "cpstem-cohort.xlsx"
    wb = openpyxl.load_workbook(path)
    assert {"filters", "excess", "beyond_error", "trajectories"} <= set(wb.sheetnames)
    sheet = wb["excess"]
    header = [c.value for c in sheet[1]]
    assert {"group", "subgroup", "n", "mean", "ci_lower", "ci_upper"} <= set(header)
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(2)]
    row = next(r for r in rows if r["group"] == "All children")
    assert row["n"] == int(total[2])
    assert row["ci_lower"] == pytest.approx(lo, abs=0.006)
