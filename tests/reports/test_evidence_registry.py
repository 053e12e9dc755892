"""``cpstem evidence run --with-registry``: the registry's comparison beside the bundled trials.

Hand-worked: ``hedges_from_md(3, 1, 0.5, 10, 12)``: df 20, J = 1 - 3/79 = 0.9620253, g = 0.5 J =
0.4810127, SD = 3 / 0.5 = 6, var = (J / 6)^2 = 0.0257081.
Fixed-effect pooling with the registry's variance times k: with the trials' inverse-variance
weight W (from their FE interval: W = 1 / SE^2) and estimate m, the pooled estimate is
(m W + g / (k v)) / (W + 1 / (k v)).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app
from cpstem.evidence.errors import EvidenceError
from cpstem.outcomes.ipd import simulate_cohort
from cpstem.reports.evidence.registry import (
    bias_factor_default,
    check_bias_factor,
    hedges_from_md,
)


def test_hedges_from_md_hand_worked():
    g, v = hedges_from_md(3.0, 1.0, 0.5, 10, 12)
    assert g == pytest.approx(0.4810127, abs=1e-7)
    assert v == pytest.approx(0.0257081, abs=1e-7)


def test_bias_factor_default_has_a_source():
    value, source = bias_factor_default()
    assert value == 2.0 and "10.1002/sim.7223" in source and "judgement" in source
    with pytest.raises(EvidenceError) as exc:
        check_bias_factor(0.5)
    assert exc.value.code == "out_of_range"


def test_with_registry_pools_three_ways(tmp_path):
    table = tmp_path / "analysis.csv"
    simulate_cohort(300, effect=3.0, seed=4).to_csv(table, index=False)
    out = tmp_path / "rep"
    args = ["evidence", "run", "--out", str(out), "--method", "FE", "--test", "z"]
    r = CliRunner().invoke(app, [*args, "--with-registry", str(table), "--bias-factor", "4"])
    assert r.exit_code == 0, r.output
    results = json.loads((out / "results.json").read_text())
    assert results["registry_bias_factor"]["value"] == 4.0
    for months in (6, 12):
        reg = results["registry"][f"motor_{months}mo"]
        trials, naive, inflated = reg["pooled"]
        assert [trials["analysis"], naive["analysis"]] == ["trials only", "trials + registry"]
        assert inflated["analysis"] == "trials + registry, variance x 4"
        assert naive["k"] == inflated["k"] == trials["k"] + 1
        se = (trials["ci_upper"] - trials["ci_lower"]) / (2 * 1.959963985)
        w, m = 1 / se**2, trials["estimate"]
        for row, k in ((naive, 1), (inflated, 4)):
            wr = 1 / (k * reg["vi"])
            assert row["estimate"] == pytest.approx((m * w + reg["yi"] * wr) / (w + wr), rel=1e-6)
            assert row["registry_weight_percent"] == pytest.approx(100 * wr / (w + wr), rel=1e-6)
        assert (
            "Registry cohort (observational)"
            in results["analyses"][f"motor_{months}mo_with_registry"]["studies"]
        )
    # the simulated truth: 3 points per 12 months for cells
    assert results["registry"]["motor_12mo"]["md"] == pytest.approx(3.0, abs=0.7)
    html = (out / "report.html").read_text()
    assert "Registry cohort (observational)" in html and "observational" in html


def test_with_registry_refuses_a_user_file(tmp_path):
    r = CliRunner().invoke(
        app, ["evidence", "run", str(tmp_path / "x.csv"), "--with-registry", "a.csv"]
    )
    assert r.exit_code == 1 and "--with-registry adds the registry" in r.output
    r = CliRunner().invoke(app, ["evidence", "run", "--bias-factor", "3"])
    assert r.exit_code == 1 and "goes with --with-registry" in r.output
