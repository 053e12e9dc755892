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
    # bundled: 156 participants at 12 months, far below the information size
    assert tsa["status"] == "inconclusive"
    assert tsa["more_needed"] == pytest.approx(tsa["required"] - tsa["accrued"], abs=1)
    lo, hi = res["tsa"]["motor_6mo"]["tsa_ci"]
    assert np.isfinite([lo, hi]).all() and lo < hi


def test_tsa_plot_and_section_in_the_report(report):
    assert (report / "figures" / "motor_12mo_tsa.png").stat().st_size > 5000
    html = (report / "report.html").read_text()
    assert "Trial sequential analysis: GMFM change at 12 months" in html
    assert "Wetterslev" in html
