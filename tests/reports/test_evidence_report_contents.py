"""The bundled evidence report shows what a journal club asks for, with the real numbers.

Reference values: R 4.2.2, metafor 3.8-1, on inputs derived in R from the bundled arm data
independently of cpstem (the script is in tests/cli/test_evidence_methods.py):

    rma(yi, vi, method = "REML", test = "knha")  # MD 12 mo: 2.357577 [-5.118178, 9.833333]
    hc(rma(yi, vi, method = "REML"))             # 1.994734 [-2.297647, 6.287114]
    # SMD 12 mo with the flagged rows (6 trials):
    selmodel(rma(y, v, method = "ML"), type = "stepfun", steps = 0.025)
                                                 # 0.600715 [-0.327585, 1.529016]
    lm(y ~ sqrt(v), weights = 1/v)               # PET -2.053043 [-5.403099, 1.297014]
"""

import csv
import json
import re

import pytest

from cpstem.reports.evidence_report import run_bundled


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contents")
    run_bundled(folder)
    html = (folder / "report.html").read_text()
    results = json.loads((folder / "results.json").read_text())
    return folder, html, results


def _rows(folder, name):
    with (folder / "tables" / f"{name}.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _headings(html):
    return re.findall(r"<h[1-3][^>]*>([^<]*)</h[1-3]>", html)


def test_opens_with_the_plain_language_summary(report):
    _folder, html, _ = report
    heads = _headings(html)
    assert heads[1] == "Summary"
    first = re.search(r"<p[^>]*>([^<]*)</p>", html).group(1)
    assert "3 randomised trials" in first and "225 children" in first
    assert "2.4 points" in first and "-5.1 to 9.8" in first and "VERY LOW" in first


def test_primary_md_equals_metafor(report):
    _, html, results = report
    a = results["analyses"]["motor_md_12mo"]
    assert a["estimate"] == pytest.approx(2.357577, abs=1e-6)
    assert a["ci_lower"] == pytest.approx(-5.118178, abs=1e-6)
    assert a["ci_upper"] == pytest.approx(9.833333, abs=1e-6)
    assert "2.36 [-5.12, 9.83]" in html


def test_prisma_count(report):
    folder, html, _ = report
    rows = {(r["status"], r["reason"]): r for r in _rows(folder, "prisma_counts")}
    assert rows[("identified", "studies in the bundled dataset (trials.csv)")]["studies"] == "17"
    assert rows[("not poolable", "not randomised")]["which"] == (
        "Chen 2013, Luan 2012, Feng 2015, Lee 2012"
    )
    assert "PRISMA" in html


def test_risk_of_bias_plots_and_forest_column(report):
    folder, html, _ = report
    assert "Risk of bias (RoB 2)" in _headings(html)
    for png in ("rob_traffic_light.png", "rob_summary.png", "motor_md_12mo_forest.png"):
        assert (folder / "figures" / png).read_bytes()[:4] == b"\x89PNG"
        assert f"figures/{png}" in html
    rob = _rows(folder, "rob2")
    assert {r["study"] for r in rob} >= {"Sun 2017", "Sun 2022", "Amanat 2021"}
    assert all(r["judged_by"] and r["reason"] for r in rob)
    # the trial table carries the overall judgement
    trials = {f"{r['study']} {r['year']}": r["rob2_overall"] for r in _rows(folder, "trials")}
    overall = {r["study"]: r["overall"] for r in rob if r["outcome"] == "GMFM change"}
    assert trials["Sun 2017"] == overall["Sun 2017"] == "some concerns"


def test_grade_summary_of_findings(report):
    folder, html, _ = report
    assert "Summary of findings (GRADE)" in _headings(html)
    sof = _rows(folder, "grade_summary_of_findings")
    primary = next(r for r in sof if "GMFM-66" in next(iter(r.values())))
    text = " ".join(primary.values())
    assert "very low" in text.lower() and "3" in text


def test_tsa_section(report):
    folder, html, results = report
    assert "Trial sequential analysis" in html
    assert (folder / "figures" / "motor_12mo_tsa.png").exists()
    assert "motor_12mo" in results["tsa"]


def test_sensitivity_flagged_rows_both_ways_and_low_rob(report):
    folder, _, _ = report
    rows = {r["analysis"]: r for r in _rows(folder, "sensitivity")}
    assert "Huang 2018" in rows["SMD 12 mo, sd_may_be_se rows as published"]["studies"]
    assert rows["SMD 12 mo, sd_may_be_se rows re-read as SEs"]["result"] == "SMD 0.37 [0.05, 0.69]"
    assert rows["SMD 12 mo, flagged rows included"]["k"] == "6"
    assert rows["MD 12 mo, low risk of bias only"]["result"] == "nothing to pool"


def test_selection_small_study_and_bayesian_sensitivity(report):
    folder, html, results = report
    assert "Publication bias, small-study effects and Bayesian analyses" in _headings(html)
    assert (folder / "tables" / "bias_sensitivity.csv").exists()
    rows = results["bias_sensitivity"]  # the CSV escapes a leading '-' (formula injection)
    by = {(r["analysis"], r["method"].split(" (")[0]): r for r in rows}
    assert by[("MD 12 mo (primary)", "Henmi-Copas")]["result"] == "1.99 [-2.30, 6.29]"
    flagged = "SMD 12 mo, flagged rows included"
    assert by[(flagged, "3PSM selection model")]["result"] == "0.60 [-0.33, 1.53]"
    assert by[(flagged, "PET-PEESE")]["result"] == "-2.05 [-5.40, 1.30]"
    bayes = [r for r in rows if r["method"].startswith("Bayesian")]
    assert {r["analysis"] for r in bayes} >= {"SMD 12 mo", flagged}
    assert all(r["note"].startswith("P(effect > 0) = ") for r in bayes)
    assert by[("MD 12 mo (primary)", "Henmi-Copas")]["k"] == 3
    assert "1.99 [-2.30, 6.29]" in html
