"""`cpstem evidence run`: the bundled report's numbers equal metafor's; user files; hostile text."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app
from cpstem.evidence import EvidenceError
from cpstem.reports.evidence_input import parse_study_table
from cpstem.reports.evidence_report import Settings, run_bundled, run_user
from tests.system import require_pango

# R metafor 3.8-1 on the bundled data, typed and derived independently in
# tests/evidence/metafor/bundled.R (regenerate with `make fixtures`).
METAFOR = json.loads(
    (Path(__file__).parents[1] / "evidence" / "metafor" / "bundled.json").read_text()
)
FIELDS = ["estimate", "ci_lower", "ci_upper", "tau2", "i2", "q", "pi_lower", "pi_upper"]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    out = run_bundled(folder)
    return folder, out, json.loads((folder / "results.json").read_text())


@pytest.mark.parametrize("key", ["motor_md_12mo", "motor_6mo", "motor_12mo"])
def test_bundled_motor_analyses_equal_metafor(bundled, key):
    got = bundled[2]["analyses"][key]
    for name in FIELDS:
        assert got[name] == pytest.approx(METAFOR[key][name], rel=1e-6, abs=1e-8), name
    assert got["method"] == "REML" and got["test"] == "knha"


def test_primary_analysis_is_the_md_on_gmfm66(bundled):
    primary = bundled[2]["analyses"]["motor_md_12mo"]
    assert primary["measure"] == "MD" and primary["primary"] is True
    assert primary["studies"] == ["Sun 2017", "Sun 2022", "Amanat 2021"]
    # metafor: MD 2.3576 [-5.1182, 9.8333] GMFM-66 points; IPD (Finch-Edmondson 2025): 1.42
    assert round(primary["estimate"], 2) == 2.36
    assert primary["compare"] == {
        "review": "Finch-Edmondson",
        "estimate": 1.42,
        "ci_lower": 0.31,
        "ci_upper": 2.52,
    }
    assert "motor_md_6mo" not in bundled[2]["analyses"]  # no GMFM-66 trial at 6 months


@pytest.mark.parametrize(
    "key",
    [
        "motor_6mo_sd_may_be_se_as_sd",
        "motor_6mo_sd_may_be_se_as_se",
        "motor_6mo_with_flagged",
        "motor_12mo_sd_may_be_se_as_sd",
        "motor_12mo_sd_may_be_se_as_se",
        "motor_12mo_with_flagged",
        "motor_md_12mo_with_flagged",
    ],
)
def test_sensitivity_analyses_equal_metafor(bundled, key):
    got = bundled[2]["sensitivity"][key]
    want = METAFOR["sensitivity"][key]
    # Gu 2020's SDs are stored rounded to 3 decimals (SEM x sqrt(n)); R derives them exactly
    for name in ("estimate", "ci_lower", "ci_upper", "tau2", "pi_lower", "pi_upper"):
        assert got[name] == pytest.approx(want[name], rel=2e-6, abs=1e-6), name


def test_huang_both_ways_and_the_old_analysis(bundled):
    sens = bundled[2]["sensitivity"]
    # as published the SDs give SMD 0.91 at 6 months; re-read as SEs 0.28
    assert round(sens["motor_6mo_sd_may_be_se_as_sd"]["estimate"], 2) == 0.91
    assert round(sens["motor_6mo_sd_may_be_se_as_se"]["estimate"], 2) == 0.28
    # every flagged row in = the analysis bundled before the audit (Huang, Kang, Min, Gu):
    # metafor 0.8622799124 [-0.6247048966, 2.3492647214]
    old = sens["motor_6mo_with_flagged"]
    assert old["studies"] == ["Huang 2018", "Kang 2015", "Min 2013", "Gu 2020"]
    assert old["estimate"] == pytest.approx(0.8622799124, rel=1e-6)
    # no trial is at low risk of bias overall: the low-risk-only analyses are empty
    assert "motor_md_12mo_low_rob" not in sens


def test_bundled_studies_and_time_points(bundled):
    analyses = bundled[2]["analyses"]
    assert analyses["motor_6mo"]["studies"] == ["Kang 2015", "Min 2013"]
    assert analyses["motor_12mo"]["studies"] == ["Sun 2017", "Sun 2022", "Amanat 2021"]
    # Sun 2017 (autologous) against allogeneic cells: origin now splits the 12-month trials
    assert set(analyses["motor_12mo"]["subgroups"]) == {
        "cell type",
        "cell source",
        "origin",
        "route",
    }


def test_bundled_safety_equals_metafor(bundled):
    # randomised controlled trials only (Huang, Kang, Liu, Min); Chen and Luan are not randomised
    safety, want = bundled[2]["safety"], METAFOR["safety"]
    for name, key in (
        ("MH risk ratio", "mh_rr"),
        ("MH risk difference", "mh_rd"),
        ("MH odds ratio", "mh_or"),
        ("Peto odds ratio", "peto"),
    ):
        got = safety[name]
        assert [got["estimate"], got["ci_lower"], got["ci_upper"]] == pytest.approx(
            [want[key]["estimate"], want[key]["ci_lower"], want[key]["ci_upper"]], rel=1e-7
        ), name
    assert safety["MH risk ratio"]["k_with_events"] == 1


def test_grade_summary_of_findings(bundled):
    grades = {g["outcome"]: g for g in bundled[2]["grade"]}
    primary = grades["GMFM-66 change, 12 months (primary)"]
    assert primary["certainty"] == "very low" and primary["participants"] == 225
    levels = {d["domain"]: d["levels"] for d in primary["downgrades"]}
    assert levels == {
        "risk_of_bias": 1,
        "inconsistency": 0,
        "indirectness": 0,
        "imprecision": 2,
        "publication_bias": 0,
    }
    sae = grades["serious adverse events"]
    assert sae["relative"].startswith("RR 0.97") and sae["studies"] == 4


def test_summary_and_prisma_open_the_report(bundled):
    folder, _, results = bundled
    md = (folder / "report.md").read_text()
    assert md.index("## Summary") < md.index("## Gross motor function")
    assert "In 3 randomised trials with 225 children" in results["summary"]
    assert "certainty of this evidence is VERY LOW" in results["summary"]
    prisma = results["prisma"]
    assert prisma["identified"] == 17
    assert prisma["included"] == 5 and prisma["sensitivity only"] == 3
    assert prisma["not poolable"] == 9


def test_eggenberger_reconstruction_matches_the_reference_diagnostic(bundled):
    # docs/evidence-dossier.md, Eggenberger 2019 reconstruction: pooled 0.786 (-0.142, 1.714);
    # tau2 0.806; Q 31.09; I2 90.4%
    rec = bundled[2]["eggenberger_reconstruction"]
    assert round(rec["estimate"], 3) == 0.786
    assert (round(rec["ci_lower"], 3), round(rec["ci_upper"], 3)) == (-0.142, 1.714)
    assert round(rec["tau2"], 3) == 0.806 and round(rec["q"], 2) == 31.09
    assert round(rec["i2"], 1) == 90.4
    assert rec["published"]["estimate"] == 0.95


def test_not_pooled_list_gives_reasons(bundled):
    rows = bundled[2]["not_pooled"]
    by_study = {(r["study"], r["time point"]): r["reason"] for r in rows}
    assert "no SD published" in by_study[("Liu 2017", "12 months")]
    assert "non-randomised" in by_study[("Chen 2013", "any")]
    assert "flagged (sd_may_be_se)" in by_study[("Huang 2018", "12 months")]
    assert "flagged (ci_not_centred)" in by_study[("Zarrabi 2022", "12 months")]


def test_bundled_report_files(bundled):
    require_pango()  # report.pdf: WeasyPrint needs the system's Pango
    folder, out, _ = bundled
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
    for name in (
        "report.html",
        "report.md",
        "results.json",
        "figures/motor_md_12mo_forest.png",
        "figures/motor_md_12mo_slide.png",
        "figures/motor_6mo_forest.png",
        "figures/rob_traffic_light.png",
        "figures/rob_summary.png",
        "figures/motor_12mo_forest_by_cells.png",
        "tables/not_pooled.csv",
        "tables/safety_sae_pooled.csv",
        "tables/grade_summary_of_findings.csv",
        "tables/checks.csv",
        "tables/sanity_warnings.csv",
        "tables/prisma_counts.csv",
    ):
        assert (folder / name).exists(), name
    html = (folder / "report.html").read_text()
    assert "What could not be pooled" in html and '<img src="figures/motor_12mo_forest.png"' in html
    assert "Pooled MD 2.36 [-5.12, 9.83]" in (folder / "report.md").read_text()
    assert "motor_md_12mo: MD 2.36" in out.summary()
    assert "(ci_not_centred)" in out.summary()  # sanity warnings reach the terminal


def test_bundled_rejects_other_measures(tmp_path):
    with pytest.raises(EvidenceError, match="only --measure SMD"):
        run_bundled(tmp_path, Settings(measure="MD"))


HOSTILE = """study,m1i,sd1i,n1i,m2i,sd2i,n2i,subgroup
<script>alert(1)</script>,7.6,2.4,27,3.0,1.7,27,=HYPERLINK("http://x")
"$\\frac{1}{0}$ study $",9.1,6.7,31,9.0,6.3,33,b
C,5.0,2.0,20,4.0,2.0,20,b
D,6.0,3.0,25,4.5,2.5,24,=cmd
"""


def test_user_file_report_escapes_hostile_text(tmp_path):
    table = parse_study_table(HOSTILE, "SMD", name="mine.csv")
    out = run_user(table, tmp_path, Settings(measure="SMD", method="DL", test="z"))
    html = (tmp_path / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    studies = (tmp_path / "tables" / "main_studies.csv").read_text()
    assert "'=HYPERLINK" in studies and "'=cmd" in studies
    assert out.results["analyses"]["main"]["k"] == 4
    assert (tmp_path / "figures" / "main_forest.png").stat().st_size > 10_000


def test_user_file_sanity_warnings_name_the_row(tmp_path):
    text = (
        "study,m1i,sd1i,n1i,m2i,sd2i,n2i\n"
        "Huang 2018,10.27,2.96,27,4.75,1.45,27\n"
        "Sun 2017,7.5,6.8,32,6.9,5.5,31\n"
        "Kang 2015,7.08,7.36,18,3.85,3.75,18\n"
    )
    out = run_user(parse_study_table(text, "SMD", name="mine.csv"), tmp_path)
    codes = {(w["code"], w["row"]) for w in out.results["sanity"]}
    assert ("sd_like_se", "mine.csv line 2 (Huang 2018)") in codes
    assert "mine.csv line 2 (Huang 2018), sd1i, sd2i: Cohen's d 2.37" in out.summary()
    assert "sanity_warnings.csv" in (tmp_path / "report.md").read_text()


BINARY = """study,ai,n1i,ci,n2i
A,1,45,0,49
B,3,36,6,70
C,0,30,0,30
D,2,40,5,41
"""


def test_user_binary_file_gets_mantel_haenszel(tmp_path):
    table = parse_study_table(BINARY, "OR", name="events.csv")
    out = run_user(table, tmp_path)
    sparse = (tmp_path / "tables" / "main_fixed_effect_sparse.csv").read_text()
    assert "Mantel-Haenszel OR" in sparse and "Peto" in sparse
    # metafor's escalc defaults (add 1/2 to tables with a zero, drop00=FALSE) keep the
    # double-zero study C in the inverse-variance model with log OR 0
    assert "not_pooled" not in out.results and out.results["analyses"]["main"]["k"] == 4


runner = CliRunner()


def test_cli_runs_the_bundled_report(tmp_path):
    r = runner.invoke(app, ["evidence", "run", "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    assert "motor_md_12mo: MD 2.36 [-5.12, 9.83], k = 3" in r.stdout


def test_cli_user_file_and_options(tmp_path):
    data = tmp_path / "mine.csv"
    data.write_text(HOSTILE, encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "evidence",
            "run",
            str(data),
            "--measure",
            "SMD",
            "--method",
            "PM",
            "--test",
            "z",
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    assert r.exit_code == 0, r.output
    results = json.loads((tmp_path / "rep" / "results.json").read_text())
    settings, main = results["settings"], results["analyses"]["main"]
    assert settings["method"] == "PM" and settings["test"] == "z"
    # By hand: Hedges' g = (1 - 3 / (4 (n1 + n2 - 2) - 1)) (m1 - m2) / sd_pooled and
    # vi = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)): g = 2.1798, 0.0152, 0.4901, 0.5335;
    # vi = 0.11807, 0.06256, 0.10300, 0.08457. Paule-Mandel: the tau^2 where
    # Q(tau^2) = k - 1 = 3 is 0.7922; weights 1 / (vi + tau^2) give 0.7884, se 0.4700, and
    # the z interval 0.7884 -/+ 1.96 * 0.4700 = [-0.1328, 1.7097]. (The approximate J
    # differs from the exact one by < 1e-4.)
    assert main["method"] == "PM" and main["test"] == "z" and main["k"] == 4
    assert main["tau2"] == pytest.approx(0.79217, abs=1e-4)
    assert main["estimate"] == pytest.approx(0.78840, abs=1e-4)
    assert [main["ci_lower"], main["ci_upper"]] == pytest.approx([-0.13285, 1.70966], abs=1e-4)
    assert "  main: SMD 0.79 [-0.13, 1.71], k = 4, I2 = 90%\n" in r.stdout
    assert f"Reportwrittento{tmp_path / 'rep'}" in "".join(r.stdout.split())  # a long path wraps


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            HOSTILE.replace("2.4,27", "x,27"),
            [],
            "error: mine.csv line 2, column sd1i: 'x' is not a number",
        ),
        (HOSTILE, ["--method", "XX"], "error: method 'XX': allowed"),
        (HOSTILE, ["--measure", "OR"], "error: mine.csv: measure OR needs the columns"),
        (HOSTILE, ["--level", "150"], "error: level 150.0: give the confidence level"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, content, args, message):
    data = tmp_path / "mine.csv"
    data.write_text(content, encoding="utf-8")
    r = runner.invoke(app, ["evidence", "run", str(data), "--out", str(tmp_path / "r"), *args])
    assert r.exit_code == 1
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_exports_the_bundled_data(tmp_path):
    r = runner.invoke(app, ["evidence", "data", "--out", str(tmp_path)])
    assert r.exit_code == 0
    assert (tmp_path / "motor_arms.csv").read_text().startswith("trial,outcome,scale")
    assert re.search(r"GEN .*precomputed", runner.invoke(app, ["evidence", "format"]).stdout)


def test_dollar_signs_in_labels_are_drawn_literally(tmp_path):
    from cpstem import evidence as ev

    res = ev.rma([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], labels=["$\\undefinedcmd$", "b", "c"])
    # as mathtext, \undefinedcmd and \alsobad would make saving fail (unknown symbol)
    forest = ev.forest(res, out=tmp_path / "f.png", title="$\\alsobad$")
    funnel = ev.funnel(res, out=tmp_path / "u.png", title="$\\alsobad$")
    for name in ("f.png", "u.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    forest_texts = [t.get_text() for t in forest.axes[0].texts + forest.texts]
    assert "$\\undefinedcmd$" in forest_texts and "$\\alsobad$" in forest_texts
    assert funnel.axes[0].get_title() == "$\\alsobad$"
