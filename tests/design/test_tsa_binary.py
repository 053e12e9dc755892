"""Binary-outcome TSA (risk ratio, risk difference, zero events), the serious-adverse-event
TSA section of the evidence report, and `cpstem design tsa` on binary and bundled data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from cpstem.cli.main import app
from cpstem.design import DesignError, binary_effects, required_information_size, tsa_binary

ZZ = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["design", *args], prog_name="cpstem")


def test_zero_cell_and_double_zero_by_hand():
    # trial 1: 0/30 vs 1/30 -> 0.5 added to events, 1 to each arm; trial 2: 0/20 vs 0/20
    yi, vi, keep, notes = binary_effects([0, 0, 4], [30, 20, 50], [1, 0, 8], [30, 20, 50])
    assert keep.tolist() == [True, False, True]
    assert yi[0] == pytest.approx(math.log((0.5 / 31) / (1.5 / 31)), rel=1e-12)
    assert vi[0] == pytest.approx(1 / 0.5 - 1 / 31 + 1 / 1.5 - 1 / 31, rel=1e-12)
    assert yi[1] == pytest.approx(math.log(0.5), rel=1e-12)
    assert vi[1] == pytest.approx(1 / 4 - 1 / 50 + 1 / 8 - 1 / 50, rel=1e-12)
    assert "left out" in notes[0] and "0.5 added" in notes[1]
    yi, vi, keep, notes = binary_effects([0], [20], [0], [20], double_zero="include")
    assert keep.tolist() == [True] and yi[0] == 0.0
    assert vi[0] == pytest.approx(2 * (1 / 0.5 - 1 / 21), rel=1e-12)


def test_risk_difference_by_hand():
    yi, vi, _, _ = binary_effects([3], [36], [6], [70], measure="RD")
    p1, p2 = 3 / 36, 6 / 70
    assert yi[0] == pytest.approx(p1 - p2, rel=1e-12)
    assert vi[0] == pytest.approx(p1 * (1 - p1) / 36 + p2 * (1 - p2) / 70, rel=1e-12)


def test_tsa_binary_control_risk_from_the_control_arms():
    res = tsa_binary([2, 5, 0], [40, 60, 30], [4, 9, 0], [40, 60, 30], [2010, 2012, 2015], rrr=0.3)
    pc = 13 / 100  # control arms of the two trials with events
    assert res.information.control_risk == pytest.approx(pc)
    pe = pc * 0.7
    pbar = (pc + pe) / 2
    assert res.information.ris == pytest.approx(4 * ZZ * pbar * (1 - pbar) / (pc - pe) ** 2)
    assert res.accrued[-1] == 200  # the double-zero trial's 60 participants are not counted
    assert res.measure == "RR" and any("13/100" in n for n in res.notes)
    # fewer events with the intervention: z > 0 is benefit (benefit="negative" on log RR)
    assert res.z[-1] > 0
    assert "risk ratio" in res.summary()


def test_tsa_binary_errors():
    with pytest.raises(DesignError) as e:
        tsa_binary([0, 0], [10, 10], [0, 0], [10, 10])
    assert e.value.field == "ai"
    with pytest.raises(DesignError) as e:
        tsa_binary([1], [10], [12], [10])
    assert e.value.field == "n1i"
    with pytest.raises(DesignError) as e:
        tsa_binary([1], [10], [2], [10], measure="OR")
    assert e.value.field == "measure"
    with pytest.raises(DesignError) as e:
        tsa_binary([1], [10], [2], [10], weights="peto")
    assert e.value.field == "weights"


def _bundled_sae_rows():
    from cpstem.evidence.bundled import load_bundle

    b = load_bundle()
    ev = b.safety
    rows = ev[(ev["event"] == "serious adverse event") & ev["n_control"].notna()]
    rows = rows[b.randomised(rows["trial"])].reset_index(drop=True)
    years = b.trials.set_index("trial").loc[list(rows["trial"]), "year"].to_numpy(float)
    return rows, years


def test_sae_tsa_section_on_the_bundled_evidence(tmp_path):
    from cpstem.reports.evidence.tsa_section import sae_tsa_section
    from cpstem.reports.evidence.writer import ReportWriter

    rows, years = _bundled_sae_rows()
    w = ReportWriter(tmp_path, "t")
    out = sae_tsa_section(w, rows, years, labels=list(rows["trial"]))
    with_events = rows[(rows["events_cells"] + rows["events_control"]) > 0]
    assert list(out.labels) == list(with_events["trial"])
    # safety.csv: min2013 3/36 vs 6/70 is the only randomised trial with a serious adverse event
    assert list(out.labels) == ["min2013"]
    pc = 6 / 70
    pe = pc * 0.75
    pbar = (pc + pe) / 2
    ris = 4 * ZZ * pbar * (1 - pbar) / (pc - pe) ** 2
    assert out.information.ris == pytest.approx(ris, rel=1e-12)
    log_rr = math.log((3 / 36) / (6 / 70))
    assert out.z[-1] == pytest.approx(-log_rr / math.sqrt(1 / 3 - 1 / 36 + 1 / 6 - 1 / 70))
    assert out.more_needed == math.ceil(ris) - 106
    data = w.results["tsa"]["sae"]
    assert data["status"] == "inconclusive" and data["more_needed"] == out.more_needed
    assert f"{out.more_needed} more participants are needed" in data["verdict"]
    assert any(p.name.startswith("sae_tsa") for p in (tmp_path / "figures").iterdir())


def test_sae_section_without_events(tmp_path):
    from cpstem.reports.evidence.tsa_section import sae_tsa_section
    from cpstem.reports.evidence.writer import ReportWriter

    rows = pd.DataFrame(
        {
            "events_cells": [0, 0],
            "n_cells": [20, 30],
            "events_control": [0, 0],
            "n_control": [20, 30],
        }
    )
    w = ReportWriter(tmp_path, "t")
    assert sae_tsa_section(w, rows, [2010, 2012]) is None
    assert "tsa" not in w.results


# ---------------------------------------------------------------- CLI


def test_cli_binary_user_csv(tmp_path):
    csv = tmp_path / "sae.csv"
    csv.write_text(
        "study,year,ai,n1i,ci,n2i\nB,2016,2,40,4,40\nA,2012,5,60,9,60\nZ,2020,0,30,0,30\n"
    )
    png = tmp_path / "tsa.png"
    r = run("tsa", str(csv), "--rrr", "0.3", "--plot", str(png))
    assert r.exit_code == 0, r.output
    assert png.stat().st_size > 10_000
    pc = 13 / 100
    ris = required_information_size(control_risk=pc, rrr=0.3).ris
    assert "1 trial(s) with no event in either arm left out" in r.stdout
    # D2 of two trials: read it from the JSON and check the participants still needed
    data = json.loads(run("tsa", str(csv), "--rrr", "0.3", "--json").stdout)
    required = ris / (1 - data["heterogeneity"]["d2"])
    assert data["more_needed"] == math.ceil(required - 200)
    assert f"{data['more_needed']} more participants are needed" in r.stdout
    assert data["labels"] == ["A", "B"] and data["measure"] == "RR"


def test_cli_binary_safety_csv_layout_and_rd(tmp_path):
    csv = tmp_path / "safety.csv"
    csv.write_text(
        "trial,events_cells,n_cells,events_control,n_control\na,3,36,6,70\nb,1,45,0,49\nc,0,57,,\n"
    )
    data = json.loads(run("tsa", str(csv), "--measure", "RD", "--json").stdout)
    assert data["labels"] == ["a", "b"]  # the row without a control arm is skipped
    assert data["measure"] == "RD"
    assert data["estimates"][0] == pytest.approx(3 / 36 - 6 / 70)


def test_cli_continuous_per_side(tmp_path):
    csv = tmp_path / "trials.csv"
    csv.write_text("label,year,yi,vi,n\nC,2019,2.0,6,60\nA,2014,3.5,5,80\nD,2022,2.5,4,120\n")
    total = json.loads(run("tsa", str(csv), "--delta", "2.5", "--sd", "8", "--json").stdout)
    side = json.loads(
        run(
            "tsa", str(csv), "--delta", "2.5", "--sd", "8", "--alpha-spending", "per_side",
            "--json",
        ).stdout
    )  # fmt: skip
    assert side["upper"][-1] > total["upper"][-1]


def test_cli_bundled_sae_and_smd(tmp_path):
    png = tmp_path / "sae.png"
    r = run("tsa", "--bundled", "sae", "--plot", str(png))
    assert r.exit_code == 0, r.output
    assert "more participants are needed" in r.stdout and png.exists()
    r = run("tsa", "--bundled", "smd", "--months", "12")
    assert r.exit_code == 0, r.output
    assert "Anticipated SMD: the pooled random-effects estimate" in r.stdout
    r = run("tsa", "--bundled", "md", "--months", "12", "--delta", "3", "--sd", "6")
    assert r.exit_code == 0, r.output
    assert "mean difference 3 (sd 6)" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tsa", "--bundled", "md"), "error: --bundled md needs --delta (the GMFM-66 MCID"),
        (("tsa", "--bundled", "gmfm"), "error: --bundled 'gmfm': allowed sae, md, smd"),
        (("tsa",), "error: give a FILE or --bundled"),
        (("tsa", "--bundled", "smd", "--months", "7"), "error: --months 7"),
    ],
)
def test_cli_tsa_errors(args, message):
    r = run(*args)
    assert r.exit_code == 1
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_binary_with_delta_is_an_error(tmp_path):
    csv = tmp_path / "b.csv"
    csv.write_text("ai,n1i,ci,n2i\n1,10,2,10\n")
    r = run("tsa", str(csv), "--delta", "1")
    assert r.exit_code == 1 and "takes --control-risk and --rrr" in r.stderr


def test_monitoring_boundaries_errors():
    from cpstem.design import monitoring_boundaries

    with pytest.raises(DesignError) as e:
        monitoring_boundaries([0.5, 0.4])
    assert e.value.field == "fraction"
    with pytest.raises(DesignError) as e:
        monitoring_boundaries([0.5, 1], alpha_spending="both")
    assert e.value.field == "alpha_spending"
    assert np.isinf(monitoring_boundaries([0.001, 1.0])[0])


def test_implied_sd_by_hand():
    from cpstem.design import implied_sd

    # trial 1: sd 8, 30 + 30 -> vi = 64 (2/30); trial 2: sd 10, 20 + 40 -> vi = 100 (1/20 + 1/40)
    vi = [64 * (2 / 30), 100 * (1 / 20 + 1 / 40)]
    got = implied_sd(vi, [30, 20], [30, 40])
    assert got == pytest.approx(math.sqrt((58 * 64 + 58 * 100) / 116), rel=1e-12)
    with pytest.raises(DesignError):
        implied_sd([0.0], [10], [10])


def test_md_tsa_section(tmp_path):
    from cpstem.design import implied_sd
    from cpstem.evidence import rma
    from cpstem.reports.evidence.tsa_section import md_tsa_section
    from cpstem.reports.evidence.writer import ReportWriter

    rows = pd.DataFrame({"vi_md": [2.4, 1.4, 10.5], "n1i": [32, 59, 36], "n2i": [31, 31, 36]})
    fit = rma([0.6, 2.0, 8.1], rows["vi_md"].tolist(), method="DL")
    w = ReportWriter(tmp_path, "t")
    assert (
        md_tsa_section(w, "md12", "GMFM-66 at 12 months", fit, rows, [2017, 2022, 2021], None)
        is None
    )
    assert "tsa" not in w.results
    out = md_tsa_section(w, "md12", "GMFM-66 at 12 months", fit, rows, [2017, 2022, 2021], 3.0)
    sd = implied_sd(rows["vi_md"], rows["n1i"], rows["n2i"])
    assert w.results["tsa"]["md12"]["sd"] == pytest.approx(sd)
    assert out.information.ris == pytest.approx(4 * ZZ * sd**2 / 9, rel=1e-12)


def test_cli_bundled_md_implied_sd():
    r = run("tsa", "--bundled", "md", "--months", "12", "--delta", "3")
    assert r.exit_code == 0, r.output
    assert "implied by the trials' variances" in r.stdout
    assert "more participants are needed" in r.stdout or "established" in r.stdout


def test_binary_tsa_section_risk_difference(tmp_path):
    from cpstem.reports.evidence.tsa_section import binary_tsa_section
    from cpstem.reports.evidence.writer import ReportWriter

    w = ReportWriter(tmp_path, "t")
    out = binary_tsa_section(
        w, [3, 1], [36, 45], [6, 0], [70, 49], [2013, 2012], key="rd", measure="RD"
    )
    data = w.results["tsa"]["rd"]
    assert data["measure"] == "RD" and data["control_risk"] == pytest.approx(6 / 119)
    assert out.labels == ("trial 2", "trial 1")  # sorted by year
    assert out.estimates[-1] != 0 and data["tsa_ci"][0] <= out.estimate <= data["tsa_ci"][1]
