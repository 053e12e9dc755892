"""The trial sequential analysis section of the bundled evidence report."""

import json

import numpy as np
import pytest
from scipy.stats import norm

from cpstem.reports.evidence import Settings, run_bundled


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ev")
    run_bundled(folder, Settings(tsa_delta=0.5))
    return folder


def test_tsa_section_numbers(report):
    res = json.loads((report / "results.json").read_text())
    tsa = res["tsa"]["motor_12mo"]
    # SMD 0.5, SD 1, alpha 0.05 two-sided, power 0.8: RIS = 4 (z_.975 + z_.8)^2 / 0.5^2 = 125.6;
    # the diversity-adjusted size is RIS / (1 - D^2) >= RIS
    ris = 4 * (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 / 0.25
    assert ris == pytest.approx(125.58, abs=0.01)
    assert tsa["delta"] == 0.5 and tsa["sd"] == 1.0 and tsa["delta_source"] == "given"
    assert tsa["required"] >= ris
    # bundled after the audit (issue 12): three randomised trials, 225 participants at 12 months
    # (Sun 2017 63, Sun 2022 90, Amanat 2021 72), beyond the information size for SMD 0.5, and
    # the Z-curve (Wald z, as the Copenhagen TSA program) above the boundary
    assert tsa["accrued"] == 63 + 90 + 72
    assert tsa["accrued"] >= tsa["required"]
    assert tsa["status"] == "benefit" and tsa["more_needed"] == 0
    lo, hi = res["tsa"]["motor_6mo"]["tsa_ci"]
    assert np.isfinite([lo, hi]).all() and lo < hi


def test_tsa_plot_and_section_in_the_report(report):
    assert (report / "figures" / "motor_12mo_tsa.png").stat().st_size > 5000
    html = (report / "report.html").read_text()
    assert "Trial sequential analysis: GMFM change at 12 months" in html
    assert "Wetterslev" in html


def test_user_md_tsa_with_mcid(tmp_path):
    from cpstem.reports.evidence import run_user
    from cpstem.reports.evidence_input import read_study_table

    csv = tmp_path / "md.csv"
    csv.write_text(
        "study,m1i,sd1i,n1i,m2i,sd2i,n2i\n"
        "A 2015,5.0,6.0,20,2.0,6.5,20\n"
        "B 2017,4.0,5.5,30,2.5,6.0,30\n"
        "C 2020,6.0,7.0,25,2.0,6.0,25\n"
    )
    table = read_study_table(csv, "MD")
    run_user(table, tmp_path / "out", Settings(measure="MD", mcid=4.0))
    tsa = json.loads((tmp_path / "out" / "results.json").read_text())["tsa"]["main"]
    # pooled SD^2 = (19·36 + 29·30.25 + 24·49 + 19·42.25 + 29·36 + 24·36) / 144 = 5448/144
    assert tsa["sd"] == pytest.approx(np.sqrt(5448 / 144))
    # I^2 = 0 here (D^2 = 0): required = 4 (z_.975 + z_.8)^2 sd^2 / 4^2 = 74.24
    ris = 4 * (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 * (5448 / 144) / 16
    assert tsa["required"] == pytest.approx(ris, rel=1e-6)
    assert ris == pytest.approx(74.24, abs=0.01)
    assert tsa["accrued"] == 150


def test_user_md_without_mcid_says_so(tmp_path):
    from cpstem.reports.evidence import run_user
    from cpstem.reports.evidence_input import read_study_table

    csv = tmp_path / "md.csv"
    csv.write_text("study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,5,6,20,2,6.5,20\nB,4,5.5,30,2.5,6,30\n")
    run_user(read_study_table(csv, "MD"), tmp_path / "out", Settings(measure="MD"))
    assert "needs the MCID (--mcid)" in (tmp_path / "out" / "report.html").read_text()
