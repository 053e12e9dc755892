"""`Settings.level`: every interval, label and figure of the report at a level other than 95 %.

Expected values are worked by hand from R metafor 3.8-1's output at level 95
(tests/evidence/metafor/bundled.R -> bundled.json): the standard error is
recovered from the 95 % interval and the interval rebuilt with the 90 % quantile,
``est +/- q(0.95) * se`` (t with k - 1 df for Hartung-Knapp, z otherwise), and the prediction
interval ``est +/- t(0.95, k - 1) * sqrt(se^2 + tau^2)`` (metafor's predict() with knha).
"""

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from cpstem.evidence import EvidenceError
from cpstem.reports.evidence_report import Settings, run_bundled

# metafor 3.8-1 at level 95 (tests/evidence/metafor/bundled.R)
R = json.loads((Path(__file__).parents[1] / "evidence" / "metafor" / "bundled.json").read_text())
METAFOR_95 = {
    key: tuple(R[key][f] for f in ("estimate", "ci_lower", "ci_upper", "tau2", "k"))
    for key in ("motor_md_12mo", "motor_6mo", "motor_12mo")
}


def _knha_90(est, lo95, hi95, tau2, k):
    t95, t90 = stats.t.ppf(0.975, k - 1), stats.t.ppf(0.95, k - 1)
    se = (hi95 - lo95) / (2 * t95)
    spi = math.sqrt(se**2 + tau2)
    return est - t90 * se, est + t90 * se, est - t90 * spi, est + t90 * spi


@pytest.fixture(scope="module")
def at90(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report90")
    run_bundled(folder, Settings(level=0.90))  # a fraction is read as 90 %
    return folder, json.loads((folder / "results.json").read_text())


def test_settings_level_in_percent():
    assert Settings(level=0.9).level == 90.0 and Settings(level=90).level == 90.0
    assert Settings().level_text == "95%" and Settings(level=0.9).level_text == "90%"
    with pytest.raises(EvidenceError, match="level 150") as info:
        Settings(level=150)
    assert (info.value.code, info.value.field) == ("out_of_range", "level")


@pytest.mark.parametrize("key", ["motor_md_12mo", "motor_6mo", "motor_12mo"])
def test_intervals_at_90_equal_metafor_rebuilt_by_hand(at90, key):
    est, lo95, hi95, tau2, k = METAFOR_95[key]
    ci_lo, ci_hi, pi_lo, pi_hi = _knha_90(est, lo95, hi95, tau2, k)
    got = at90[1]["analyses"][key]
    assert got["level"] == 90.0 and got["estimate"] == pytest.approx(est, rel=1e-6)
    assert [got["ci_lower"], got["ci_upper"]] == pytest.approx([ci_lo, ci_hi], rel=1e-6)
    assert [got["pi_lower"], got["pi_upper"]] == pytest.approx([pi_lo, pi_hi], rel=1e-6)
    # 12-month MD: se = (9.8333 + 5.1182) / (2 x 4.3027) = 1.73748; 2.3576 -/+ 2.9200 x 1.73748
    if key == "motor_md_12mo":
        assert (round(ci_lo, 3), round(ci_hi, 3)) == (-2.716, 7.431)


def test_safety_at_90_equals_metafor_rebuilt_by_hand(at90):
    safety = at90[1]["safety"]
    z95, z90 = stats.norm.ppf(0.975), stats.norm.ppf(0.95)
    want = R["safety"]
    # MH risk ratio at 95 % (randomised trials): symmetric on the log scale
    est, lo, hi = (want["mh_rr"][f] for f in ("estimate", "ci_lower", "ci_upper"))
    se = (math.log(hi) - math.log(lo)) / (2 * z95)
    rr = safety["MH risk ratio"]
    assert [rr["ci_lower"], rr["ci_upper"]] == pytest.approx(
        [math.exp(math.log(est) + s * z90 * se) for s in (-1, 1)], rel=1e-8
    )
    # MH risk difference: symmetric
    est, lo, hi = (want["mh_rd"][f] for f in ("estimate", "ci_lower", "ci_upper"))
    se = (hi - lo) / (2 * z95)
    rd = safety["MH risk difference"]
    assert [rd["ci_lower"], rd["ci_upper"]] == pytest.approx(
        [est - z90 * se, est + z90 * se], rel=1e-6
    )
    assert rr["level"] == 90.0


def test_report_labels_say_90(at90):
    md = (at90[0] / "report.md").read_text()
    # "95% CI" only where the report quotes a published interval or a derivation from one
    quoted = (
        "(95% CI, as in the review)",
        "its 95% CI",
        "the 95% CIs of the arm means",
        "the 95% CI of the arm mean",
        "(95% CI 1.62 to 14.52)",
    )
    for text in quoted:
        md = md.replace(text, "")
    assert "95% CI" not in md
    est, lo95, hi95, tau2, k = METAFOR_95["motor_md_12mo"]
    _, _, pi_lo, pi_hi = _knha_90(est, lo95, hi95, tau2, k)
    p = R["motor_md_12mo"]["pval"]  # the p-value does not depend on the level
    assert f"(90% CI; p = {p:.4f}; k = 3, 225 participants)" in md
    assert f"90% prediction interval {pi_lo:.2f} to {pi_hi:.2f}" in md
    assert "| method | estimate [90% CI] | p | studies informing |" in md
    assert "exact 90% CI" in md and "risk ratio [90% CI]" in md
    assert "90% confidence and prediction intervals" in md
    assert at90[1]["settings"]["level"] == 90.0


def test_single_arm_exact_interval_at_90(at90):
    # Rah 2017: 0 serious events in 57; the exact upper limit is 1 - (0.10 / 2) ** (1 / 57)
    single = (at90[0] / "tables" / "safety_sae_single_arm.csv").read_text()
    upper = 1 - 0.05 ** (1 / 57)
    assert round(upper, 3) == 0.051
    assert f'Rah 2017,serious adverse event,0/57,"0.000 [0.000, {upper:.3f}]"' in single


def test_reconstruction_stays_at_the_reviews_level(at90):
    # stem-cell-evidence.md section 4: pooled 0.786 (-0.142, 1.714), a 95 % interval like the
    # published one it is compared with
    rec = at90[1]["eggenberger_reconstruction"]
    assert rec["level"] == 95.0
    assert (round(rec["ci_lower"], 3), round(rec["ci_upper"], 3)) == (-0.142, 1.714)


def test_cli_level_reaches_a_user_report(tmp_path):
    from typer.testing import CliRunner

    from cpstem.cli.main import app

    # Two studies, fixed effect: pooled yi = sum(w y) / sum(w), w = 1 / vi, z-interval at 90 %
    data = tmp_path / "gen.csv"
    data.write_text("study,yi,vi\nA,0.2,0.04\nB,0.6,0.01\n", encoding="utf-8")
    out = tmp_path / "rep"
    args = ["evidence", "run", str(data), "--measure", "GEN", "--method", "FE", "--test", "z"]
    r = CliRunner().invoke(app, [*args, "--level", "90", "--out", str(out)])
    assert r.exit_code == 0, r.output
    est, se = (0.2 / 0.04 + 0.6 / 0.01) / (1 / 0.04 + 1 / 0.01), (1 / (1 / 0.04 + 1 / 0.01)) ** 0.5
    z = stats.norm.ppf(0.95)
    main = json.loads((out / "results.json").read_text())["analyses"]["main"]
    assert [main["estimate"], main["ci_lower"], main["ci_upper"]] == pytest.approx(
        [est, est - z * se, est + z * se], rel=1e-12
    )
    assert (
        f"Pooled GEN {est:.2f} [{est - z * se:.2f}, {est + z * se:.2f}] (90% CI;"
        in (out / "report.md").read_text()
    )
