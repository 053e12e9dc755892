"""``cpstem design``: sample size, power, sequential designs and TSA on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app

runner = CliRunner()
PWR = Path(__file__).parent / "rpact" / "pwr.json"


def run(*args: str):
    return runner.invoke(app, ["design", *args], prog_name="cpstem")


def test_size_prints_arms_and_recruitment():
    r = run("size", "--delta", "5", "--sd", "10", "--dropout", "0.1")
    assert r.exit_code == 0, r.output
    # pwr.t.test(d = 0.5, power = 0.8)$n = 63.77 -> 64 per arm; 64 / 0.9 -> 72
    assert "analysed: 64 + 64 = 128" in r.stdout
    assert "recruited: 72 + 72 = 144" in r.stdout
    assert "Participants per arm" in r.stdout


def test_size_json_ancova():
    r = run(
        "size",
        "--delta",
        "5",
        "--sd",
        "10",
        "--analysis",
        "ancova",
        "--correlation",
        "0.6",
        "--json",
    )
    data = json.loads(r.stdout)
    assert data["variance_factor"] == pytest.approx(0.64)
    assert data["n1"] == data["n2"] and data["n1"] < 64


def test_power_command():
    # pwr.t2n.test(n1 = 20, n2 = 40, d = 0.5)
    ref = next(
        c
        for c in json.loads(PWR.read_text())
        if c["fun"] == "pwr.t2n.test" and c["n1"] == 20 and c["d"] == 0.5
    )
    r = run("power", "--n", "20", "--n2", "40", "--delta", "0.5", "--sd", "1", "--json")
    assert json.loads(r.stdout)["power"] == pytest.approx(ref["power"], abs=1e-10)
    r = run("power", "--n", "20", "--n2", "40", "--delta", "0.5", "--sd", "1")
    assert f"Power {ref['power']:.4f}" in r.stdout


def test_sequential_table():
    r = run("sequential", "--k", "5")
    assert r.exit_code == 0, r.output
    # rpact getDesignGroupSequential(kMax = 5, typeOfDesign = "asOF")
    for value in ("4.8769", "3.3570", "2.6803", "2.2898", "2.0310"):
        assert value in r.stdout
    assert "Inflation factor 1.0247" in r.stdout


def test_sequential_timing_and_json():
    r = run(
        "sequential",
        "--timing",
        "0.5,1",
        "--spending",
        "pocock",
        "--classic",
        "--sided",
        "2",
        "--alpha",
        "0.05",
        "--json",
    )
    data = json.loads(r.stdout)
    # Jennison & Turnbull Table 2.1: C_P(2, 0.05) = 2.178
    assert data["critical"][0] == pytest.approx(2.178, abs=5e-4)
    assert data["critical"][0] == pytest.approx(data["critical"][1], abs=1e-12)


def test_tsa_command(tmp_path):
    csv = tmp_path / "trials.csv"
    csv.write_text("label,year,yi,vi,n\nC,2019,2.0,6,60\nA,2014,3.5,5,80\nD,2022,2.5,4,120\n")
    png = tmp_path / "tsa.png"
    r = run("tsa", str(csv), "--delta", "2.5", "--sd", "8", "--plot", str(png))
    assert r.exit_code == 0, r.output
    assert png.stat().st_size > 10_000
    lines = r.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if f" {x} " in line) for x in ("A", "C", "D")]
    assert order == sorted(order)
    # RIS = 4 (1.96 + 0.8416)^2 8^2 / 2.5^2 = 321.5 -> 322; accrued 260
    assert "62 more participants are needed" in r.stdout
    data = json.loads(run("tsa", str(csv), "--delta", "2.5", "--sd", "8", "--json").stdout)
    assert data["labels"] == ["A", "C", "D"] and data["status"] == "inconclusive"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("size", "--delta", "0", "--sd", "1"), "error: delta 0: the difference to detect"),
        (("sequential", "--timing", "0.5,0.4,1"), "error: timing: information fractions"),
        (("sequential", "--timing", "a,b"), "error: timing 'a,b': give numbers"),
        (("sequential", "--k", "3", "--spending", "hsd"), "error: spending 'hsd' needs gamma"),
        (("tsa", "missing.csv", "--delta", "1", "--sd", "1"), "error: "),
    ],
)
def test_user_errors_are_one_line(args, message):
    r = run(*args)
    assert r.exit_code == 1
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_tsa_file_without_columns(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("study,effect\nA,1\n")
    r = run("tsa", str(csv), "--delta", "1", "--sd", "1")
    assert r.exit_code == 1
    assert "bad.csv: columns must include yi, vi (or sei) and n" in r.stderr
