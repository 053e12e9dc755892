"""The cohort dashboard's IPD figures on the hand-worked cohort of ``ipd_helpers``.

Anchored excess at 12 months (see test_analysis_table): T (cells) 8 - 1.228666 = 6.771334,
C (control) 3 - 1.403907 = 1.596093; all: mean 4.183714, SD 3.659466, t(0.975, 1) = 12.706205,
95 % CI -28.6951 to 37.0625. Beyond measurement error: T's change 8 > 1.96 sqrt(1.5^2 + 1.4^2) =
4.021; C's 3 < 1.96 sqrt(2^2 + 2^2) = 5.544: cells 1/1 = 100 % (exact CI 2.5 to 100 %), controls
0/1 = 0 % (0 to 97.5 %).
"""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from cpstem.registry.services import write
from tests.registry.ipd_helpers import hand_cohort

pytestmark = pytest.mark.django_db


def _rows(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
        if "<td" in r
    ]


def test_excess_and_responders_by_group(web, sites):
    hand_cohort(sites)
    html = web("admin").get("/dashboard/").content.decode()
    excess = _rows(html, "cohort-excess")
    assert ["Cells", "all products", "1", "6.77", "–"] in excess
    assert ["Cells", "Cord blood (UCB)", "1", "6.77", "–"] in excess or any(
        r[0] == "Cells" and r[3] == "6.77" and r[1] != "all products" for r in excess
    )
    assert ["Concurrent controls", "all", "1", "1.60", "–"] in excess
    assert ["All children", "all", "2", "4.18", "-28.70 to 37.06"] in excess
    responders = _rows(html, "cohort-responders")
    assert ["Cells", "improved_beyond_error", "1 / 1", "100.0", "2.5 to 100.0"] in responders
    assert [
        "Concurrent controls",
        "improved_beyond_error",
        "0 / 1",
        "0.0",
        "0.0 to 97.5",
    ] in responders


def test_filters_site_synthetic_and_role(web, sites):
    _, c = hand_cohort(sites)
    html = web("admin").get("/dashboard/?site=KRK").content.decode()
    assert _rows(html, "cohort-n") == [
        ["Children treated with cells", "0"],
        ["Concurrent controls", "1"],
    ]
    c.is_synthetic = True
    write.save(c, reason="data corrected")  # the one write path: the data version changes
    html = web("admin").get("/dashboard/?exclude_synthetic=on").content.decode()
    assert _rows(html, "cohort-n") == [
        ["Children treated with cells", "1"],
        ["Concurrent controls", "0"],
    ]
    # a clinician of LUB sees LUB's children only (the control is at KRK)
    html = web("clin").get("/dashboard/").content.decode()
    assert _rows(html, "cohort-n") == [
        ["Children treated with cells", "1"],
        ["Concurrent controls", "0"],
    ]
    html = web("admin").get("/dashboard/?gmfcs=3").content.decode()
    assert _rows(html, "cohort-n")[0] == ["Children treated with cells", "0"]


def test_plots_and_xlsx(web, sites):
    hand_cohort(sites)
    admin = web("admin")
    for name in ("excess", "responders", "trajectories", "dose", "spasticity"):
        r = admin.get(f"/dashboard/plot/{name}.svg?months=12")
        assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"
        assert r.content.lstrip().startswith(b"<?xml")
    assert admin.get("/dashboard/plot/nope.svg").status_code == 404
    r = admin.get("/dashboard.xlsx?months=12")
    assert r.status_code == 200 and "cpstem-cohort.xlsx" in r["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert {"excess", "beyond_error", "trajectories", "adverse_events"} <= set(wb.sheetnames)
    ws = wb["beyond_error"]
    header = [c.value for c in ws[1]]
    rows = [
        dict(zip(header, [c.value for c in row], strict=True)) for row in ws.iter_rows(min_row=2)
    ]
    cells = next(
        r for r in rows if r["group"] == "Cells" and r["criterion"] == "improved_beyond_error"
    )
    assert cells["percent"] == pytest.approx(100.0) and cells["ci_lower"] == pytest.approx(2.5)
    text = " ".join(str(c.value) for s in wb for row in s.iter_rows() for c in row)
    assert "LUB-001" not in text and "KRK-007" not in text


def test_patient_page_shows_the_group(web, sites):
    _, c = hand_cohort(sites)
    html = web("admin").get(f"/patients/{c.pk}/").content.decode()
    assert "Concurrent control" in html


def test_effect_names_what_it_adjusted_for_when_a_filter_makes_gmfcs_constant():
    from cpstem.outcomes.ipd import simulate_cohort
    from cpstem.registry.services import cohort_ipd

    cohort = simulate_cohort(300, visits=(0, 12), seed=8)
    every, _ = cohort_ipd._effect(cohort, cohort_ipd.Filters())
    one_level, _ = cohort_ipd._effect(cohort[cohort.gmfcs == 2], cohort_ipd.Filters(gmfcs=2))
    assert every is not None and one_level is not None
    assert every["adjusted"] == ["baseline GMFM-66", "age", "GMFCS"]
    assert one_level["adjusted"] == ["baseline GMFM-66", "age"]


def test_effect_sentence_reads_as_before_when_nothing_is_left_out():
    from django.template.loader import render_to_string

    ipd = {"effect": {"adjusted": ["baseline GMFM-66", "age", "GMFCS"], "window": "12 months"}}
    html = render_to_string("registry/dashboard.html", {"ipd": ipd})
    assert "ANCOVA adjusted for baseline GMFM-66, age and GMFCS, robust SE;" in html
    ipd["effect"]["adjusted"] = ["baseline GMFM-66", "age"]
    html = render_to_string("registry/dashboard.html", {"ipd": ipd})
    assert "ANCOVA adjusted for baseline GMFM-66 and age, robust SE;" in html
