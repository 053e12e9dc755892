"""The outcomes report folder: its numbers (checked against pandas arithmetic on the table),
headings, methods text, the observational warning, and every file written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd import simulate_cohort, treatment_effect
from cpstem.reports.outcomes import OutcomesSettings, read_analysis_table, write_outcomes_report


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    # visits 0, 3, 6, 12, 24 with +-0.5 months jitter: each child's only visit in the
    # 12-month window (9-15) is its 12-month visit
    return simulate_cohort(150, seed=9)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, cohort):
    out = tmp_path_factory.mktemp("outcomes") / "report"
    cohort.to_csv(out.parent / "analysis.csv", index=False)
    table = read_analysis_table(out.parent / "analysis.csv")
    write_outcomes_report(table, out, OutcomesSettings(months=12, mcid=2.0))
    return out


def at_12(cohort: pd.DataFrame) -> pd.DataFrame:
    rows = cohort[(cohort.months >= 9) & (cohort.months <= 15)]
    assert rows.child.is_unique
    return rows


def test_files(folder):
    for name in ("report.html", "report.md", "report.pdf", "results.json"):
        assert (folder / name).is_file()
    assert (folder / "report.pdf").read_bytes()[:4] == b"%PDF"
    for name in ("excess_by_group", "responders", "trajectories", "dose_response", "love_plot"):
        assert (folder / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    for name in ("excess_change", "responders", "mixed_fixed_effects", "treatment_effect"):
        assert (folder / "tables" / f"{name}.csv").is_file()


def test_numbers_equal_hand_arithmetic_on_the_table(folder, cohort):
    res = json.loads((folder / "results.json").read_text())
    children = cohort.drop_duplicates("child")
    assert res["cohort"] == {
        "children": 150,
        "cells": int((children.group == "cells").sum()),
        "control": int((children.group == "control").sum()),
        "assessments": len(cohort),
    }
    rows = at_12(cohort)
    overall = res["analyses"]["excess_change"]["table"][0]
    assert (overall["subgroup"], overall["n"]) == ("all", 150)
    assert overall["mean"] == pytest.approx(rows.excess_anchored.mean(), rel=1e-12)
    assert overall["sd"] == pytest.approx(rows.excess_anchored.std(ddof=1), rel=1e-12)
    csv = pd.read_csv(folder / "tables" / "excess_change.csv")
    assert csv.loc[0, "mean"] == pytest.approx(rows.excess_anchored.mean(), abs=5e-4)
    # responders beyond an MCID of 2 points: change = GMFM-66 at 12 months - baseline
    change = rows.gmfm66 - rows.gmfm66_baseline
    mcid = next(
        r
        for r in res["analyses"]["responders"]["table"]
        if r["criterion"] == "beyond_mcid" and r["level"] == "all"
    )
    assert mcid["responders"] == int((change >= 2).sum())
    assert mcid["n"] == 150


def test_treatment_effect_rows_are_the_analyses(folder, cohort):
    res = json.loads((folder / "results.json").read_text())
    effects = {e["method"]: e for e in res["analyses"]["treatment_effect"]}
    for method in ("ancova", "iptw"):
        direct = treatment_effect(cohort, months=12, method=method)
        assert effects[method]["estimate"] == pytest.approx(direct.estimate, rel=1e-12)
        assert effects[method]["ci_upper"] == pytest.approx(direct.ci_upper, rel=1e-12)
    # ANCOVA by hand: OLS of change on [1, cells, baseline, age, gmfcs]
    rows = at_12(cohort)
    x = np.column_stack(
        [
            np.ones(len(rows)),
            (rows.group == "cells").to_numpy(float),
            rows.gmfm66_baseline,
            rows.age_baseline_years,
            rows.gmfcs,
        ]
    )
    beta = np.linalg.lstsq(x, (rows.gmfm66 - rows.gmfm66_baseline).to_numpy(), rcond=None)[0]
    assert effects["ancova"]["estimate"] == pytest.approx(beta[1], rel=1e-9)


def test_headings_methods_and_warning(folder):
    html = (folder / "report.html").read_text()
    for heading in (
        "Excess change at 12 months",
        "Responders",
        "Mean trajectories",
        "Linear mixed model",
        "Treated vs concurrent controls",
        "Dose-response",
        "Methods",
    ):
        assert f">{heading}</h2>" in html
    assert html.count("A registry cohort is observational evidence.") >= 3
    for phrase in (
        "restricted maximum likelihood",
        "random slope",
        "Clopper–Pearson",
        "stabilised weights",
        "no unmeasured confounding",
        "restricted cubic spline",
        "percentile bootstrap",
        "E-value",
    ):
        assert phrase in html
    md = (folder / "report.md").read_text()
    assert "# Registry cohort outcomes" in md


def test_unreadable_inputs_are_coded(tmp_path):
    with pytest.raises(OutcomeError) as err:
        read_analysis_table(tmp_path / "missing.csv")
    assert (err.value.code, err.value.field) == ("not_found", "path")


def test_spasticity_and_lab_sections(tmp_path, cohort):
    from cpstem.outcomes.ipd import simulate_spasticity, spasticity_change

    spasticity = simulate_spasticity(80, seed=6)
    labs = pd.DataFrame(
        {
            "child": ["a", "a", "b", "b", "c", "c"],
            "analyte": ["CRP"] * 6,
            "unit": ["mg/L"] * 6,
            "months": [0, 6, 0, 6, 0, 6],
            "value": [1.0, 3.0, 2.0, 2.0, 3.0, 7.0],
        }
    )
    out = tmp_path / "rep"
    write_outcomes_report(cohort, out, spasticity=spasticity, labs=labs)
    html = (out / "report.html").read_text()
    assert ">Spasticity</h2>" in html and ">Laboratory markers</h2>" in html
    assert "proportional-odds (ordered logit)" in html
    res = json.loads((out / "results.json").read_text())
    direct = spasticity_change(spasticity).comparison
    got = res["analyses"]["spasticity"]["comparison"]
    assert [r["odds_ratio"] for r in got] == pytest.approx(list(direct.odds_ratio), rel=1e-9)
    crp = next(r for r in res["analyses"]["labs"] if r["months"] == 6)
    # 1, 3, 2, 2, 3, 7: all > 0, skewness 1.76 > 1 -> log; ratio 7^(1/3)
    assert crp["scale"] == "log"
    assert crp["ratio"] == pytest.approx(7 ** (1 / 3), rel=1e-12)
