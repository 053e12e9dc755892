"""``cpstem outcomes``: the printed tables carry the analysis numbers; errors are one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app
from cpstem.outcomes.ipd import simulate_cohort

runner = CliRunner()


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    table = simulate_cohort(120, seed=21)
    path = tmp_path_factory.mktemp("cli") / "analysis.csv"
    table.to_csv(path, index=False)
    return path, table


@pytest.fixture(autouse=True)
def wide_console():
    """Tables printed at 200 columns (the shared console was sized when first imported)."""
    from cpstem.cli.console import console

    width = console.width
    console.width = 200
    yield
    console.width = width


def run(*args: str):
    return runner.invoke(app, list(args), prog_name="cpstem")


def test_excess_prints_the_mean(analysis):
    path, table = analysis
    rows = table[(table.months >= 9) & (table.months <= 15)]
    result = run("outcomes", "excess", str(path), "--by", "group")
    assert result.exit_code == 0, result.output
    assert "Excess change (anchored) at 12 months (window 9-15)" in result.output
    assert f"{rows.excess_anchored.mean():.3f}" in result.output
    cells = rows[rows.group == "cells"].excess_anchored.mean()
    assert f"{cells:.3f}" in result.output


def test_responders_with_mcid(analysis):
    path, table = analysis
    rows = table[(table.months >= 9) & (table.months <= 15)]
    k = int(((rows.gmfm66 - rows.gmfm66_baseline) >= 2).sum())
    result = run("outcomes", "responders", str(path), "--mcid", "2")
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "beyond_mcid" in ln)
    assert f" {k} " in line and " 120 " in line


def test_effect_model_dose(analysis):
    path, _ = analysis
    result = run("outcomes", "effect", str(path), "--method", "iptw")
    assert result.exit_code == 0, result.output
    assert "IPTW (stabilised weights)" in result.output
    assert "Observational evidence" in result.output
    result = run("outcomes", "model", str(path), "--random", "1")
    assert result.exit_code == 0, result.output
    assert "Linear mixed model fit by REML" in result.output
    assert "months:group[T.cells]" in result.output
    result = run("outcomes", "dose", str(path))
    assert result.exit_code == 0, result.output
    assert "Dose-response at 12 months" in result.output


def test_report_command(analysis, tmp_path):
    path, _ = analysis
    out = tmp_path / "rep"
    result = run("outcomes", "report", str(path), "--out", str(out), "--mcid", "2")
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    overall = data["analyses"]["excess_change"]["table"][0]
    assert f"{overall['mean']:.2f} [{overall['ci_lower']:.2f}, {overall['ci_upper']:.2f}]" in (
        result.output
    )
    assert (out / "report.pdf").is_file()


def test_missing_file_is_one_line(tmp_path):
    result = run("outcomes", "excess", str(tmp_path / "none.csv"))
    assert result.exit_code == 1
    assert "error:" in result.output and "no such file" in result.output
    assert "Traceback" not in result.output


def test_spasticity_and_labs(tmp_path):
    from cpstem.outcomes.ipd import simulate_spasticity

    path = tmp_path / "spasticity.csv"
    simulate_spasticity(60, seed=2).to_csv(path, index=False)
    result = run("outcomes", "spasticity", str(path), "--months", "12")
    assert result.exit_code == 0, result.output
    assert "hamstrings" in result.output
    assert "proportional-odds" in result.output
    labs = tmp_path / "labs.csv"
    labs.write_text(
        "child,analyte,unit,months,value\n"
        "a,CRP,mg/L,0,1\na,CRP,mg/L,6,3\nb,CRP,mg/L,0,2\nb,CRP,mg/L,6,2\n"
        "c,CRP,mg/L,0,3\nc,CRP,mg/L,6,7\n"
    )
    result = run("outcomes", "labs", str(labs), "--months", "6")
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "CRP" in ln)
    # values 1, 3, 2, 2, 3, 7 are all > 0 with skewness 1.76 > 1: log scale; log differences
    # ln 3, 0, ln(7/3) -> geometric mean ratio exp(ln 7 / 3) = 7^(1/3) = 1.913
    assert " log " in line and f"{7 ** (1 / 3):.3f}" in line
