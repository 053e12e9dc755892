"""The exported analysis tables feed every ``cpstem.outcomes.ipd`` analysis and every
``cpstem outcomes`` command, with the same numbers as the registry's own tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app
from cpstem.outcomes import ipd
from cpstem.registry import demo, exporter
from cpstem.registry.services import analysis
from cpstem.reports.outcomes import read_analysis_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(tmp_path):
    demo.load(12)
    paths = {k: p for k, (p, _) in exporter.write_analysis(tmp_path / "a.csv").items()}
    return analysis.build(), paths


def test_exported_tables_feed_every_analysis(exported):
    built, paths = exported
    table = read_analysis_table(paths["analysis"])
    own = built.table.drop(columns=["patient_id"])
    assert set(table["group"]) == {"cells", "control"} and table["child"].nunique() == 24
    pd.testing.assert_frame_equal(
        ipd.excess_change(table, by=["group", "product"]).table,
        ipd.excess_change(own, by=["group", "product"]).table,
    )
    pd.testing.assert_frame_equal(ipd.responders(table).table, ipd.responders(own).table)
    a, b = ipd.mixed_model(table), ipd.mixed_model(own)
    pd.testing.assert_frame_equal(a.fixed_effects, b.fixed_effects, atol=1e-6)
    for method in ("ancova", "iptw"):
        x, y = ipd.treatment_effect(table, method=method), ipd.treatment_effect(own, method=method)
        assert (x.estimate, x.se) == pytest.approx((y.estimate, y.se), abs=1e-9)
    pd.testing.assert_frame_equal(ipd.dose_response(table).slopes, ipd.dose_response(own).slopes)
    sp = pd.read_csv(paths["spasticity"])
    pd.testing.assert_frame_equal(
        ipd.spasticity_change(sp).comparison,
        ipd.spasticity_change(built.spasticity.drop(columns=["patient_id"])).comparison,
    )
    labs = pd.read_csv(paths["labs"])
    result = ipd.lab_change(labs).table
    assert set(result["analyte"]) == {"IL-6", "CRP"}


def test_exported_tables_feed_the_cli(exported, tmp_path):
    built, paths = exported
    runner = CliRunner()
    a = str(paths["analysis"])
    effect = ipd.treatment_effect(built.table)
    for args in (
        ["excess", a, "--by", "group"],
        ["responders", a],
        ["model", a],
        ["effect", a],
        ["dose", a],
        ["spasticity", str(paths["spasticity"])],
        ["labs", str(paths["labs"])],
    ):
        r = runner.invoke(app, ["outcomes", *args])
        assert r.exit_code == 0, (args, r.output)
        if args[0] == "effect":
            assert f"difference {effect.estimate:.2f}" in r.output
    out = tmp_path / "report"
    r = runner.invoke(
        app,
        [
            "outcomes",
            "report",
            a,
            "--out",
            str(out),
            "--spasticity",
            str(paths["spasticity"]),
            "--labs",
            str(paths["labs"]),
        ],
    )
    assert r.exit_code == 0, r.output
    results = json.loads((out / "results.json").read_text())
    ancova = results["analyses"]["treatment_effect"][0]
    assert ancova["estimate"] == pytest.approx(effect.estimate, abs=1e-9)
