"""Power curve, justification paragraph, and the CLI commands simulate, randomise, report."""

import json

import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app
from cpstem.design import power_curve, sample_size_justification, sample_size_means

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["design", *args], prog_name="cpstem")


def test_power_curve_values_equal_r_pwr():
    # R pwr 1.3.0: pwr.t.test(n = 64, d = 0.5)$power = 0.8014596,
    # pwr.t.test(n = 20, d = 0.5)$power = 0.3379390
    res = sample_size_means(5, 10)
    curve = power_curve(res, n=[20, 64], deltas=[5])
    assert curve["power"][5.0] == pytest.approx([0.3379390, 0.8014596], abs=1e-6)


def test_justification_names_every_number_and_reference():
    res = sample_size_means(4, 8, analysis="ancova", correlation=0.7, dropout=0.1)
    text = sample_size_justification(res, delta_source="MCID, Oeffinger 2008", assurance=0.61)
    # noncentral t, df 2n − 3, sd² (1 − 0.49): 34 per arm (achieved 81.2%); 34/0.9 -> 38
    for piece in (
        "difference of 4 points",
        "(MCID, Oeffinger 2008)",
        "standard deviation of 8 points",
        "correlation of 0.7",
        "80% power",
        "two-sided significance level of 0.05",
        "34 participants are needed in each arm",
        "68 analysed in total",
        "10% loss to follow-up, 76 participants (38 + 38)",
        "Frison & Pocock, Stat Med 1992;11:1685–1704",
        "O'Hagan, Stevens & Campbell, Pharm Stat 2005;4:187–201) is 61.0%",
    ):
        assert piece in text, piece


def test_cli_size_justify_and_plot(tmp_path):
    plot = tmp_path / "curve.png"
    r = run("size", "--delta", "5", "--sd", "10", "--justify", "--plot", str(plot))
    assert r.exit_code == 0, r.output
    assert "64 participants are needed in each arm" in r.stdout
    assert plot.stat().st_size > 1000


def test_cli_simulate_json_agrees_with_closed_form():
    r = run("simulate", "--n", "30", "--delta", "0.8", "--correlation", "0.5",
            "--sims", "4000", "--seed", "1", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["n_sims"] == 4000
    assert abs(data["power"] - data["closed_form_power"]) < 4 * data["mc_se"] + 0.01


def test_cli_randomise_writes_list_and_hash(tmp_path):
    out = tmp_path / "list.csv"
    r = run("randomise", "--per-stratum", "8", "--stratum", "site=A,B", "--stratum",
            "gmfcs=I-II,III-V", "--seed", "5", "--out", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == "stratum,sequence,block,block_size,arm"
    assert len(lines) - 1 >= 32
    digest = (tmp_path / "list.csv.sha256").read_text().split()[0]
    assert len(digest) == 64 and digest in r.stdout


def test_cli_report_writes_html_and_pdf(tmp_path):
    r = run("report", str(tmp_path / "rep"), "--delta", "5", "--sd", "10", "--k", "3",
            "--prior-sd", "2")  # fmt: skip
    assert r.exit_code == 0, r.output
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "Sample size justification" in html and "Boundaries" in html
    assert (tmp_path / "rep" / "figures" / "power_curve.png").exists()
    assert (tmp_path / "rep" / "report.pdf").exists()
