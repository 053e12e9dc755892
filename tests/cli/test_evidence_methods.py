"""``cpstem evidence multilevel|selmodel|hc|pet-peese|profile|baujat|gosh|bayes``.

Reference values: R 4.2.2, metafor 3.8-1 (the script is in the comments). The bundled MD data
were derived in R from the arm data of motor_arms.csv / motor_effects.csv, independently of
cpstem:

    y1 <- 7.5 - 6.9; v1 <- 6.8^2/32 + 5.5^2/31                        # Sun 2017
    sdci <- function(n, lo, hi) sqrt(n) * (hi - lo) / (2 * qt(0.975, n - 1))
    # Sun 2022: AlloCB 31, 5.8 (3.4-8.2) + hCT-MSC 28, 4.3 (2.2-6.4) combined (Cochrane
    # 6.5.2.10) vs natural history 31, 3.1 (1.4-5.0)
    y3 <- 8.07; v3 <- ((14.52 - 1.62) / (2 * qt(0.975, 70)))^2        # Amanat 2021
    rma(yi, vi, method = "REML")            # 2.357577 [-0.368913, 5.084067], tau2 2.688675
    hc(rma(yi, vi, method = "REML"))        # 1.994734 [-2.297647, 6.287114], tau2 3.535211
    baujat(rma(yi, vi, method = "REML"))    # x 0.60457739 0.03343713 2.48199462
                                            # y 0.4268673 0.1516679 0.8687988
"""

import json

import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app

runner = CliRunner()

# SMD at 12 months with the flagged rows (Huang 2018, Gu 2020, Zarrabi 2022) as published:
# y, v as cpstem computes them (escalc parity is tested in tests/evidence); metafor on them:
#   selmodel(rma(y, v, method = "ML"), type = "stepfun", steps = 0.025)
#     0.600715 [-0.327585, 1.529016], tau2 0.403970, delta2 0.580360, LRT 0.151577, p 0.697033
#   lm(y ~ sqrt(v), weights = 1/v): PET -2.053043 [-5.403099, 1.297014], p 0.164064
#   lm(y ~ v, weights = 1/v): PEESE -0.645543 [-2.2047337, 0.9136483]
SMD_FLAGGED = ("--measure", "SMD", "--with-flagged")


def run(*args: str):
    return runner.invoke(app, ["evidence", *args], prog_name="cpstem")


def as_json(*args: str) -> dict:
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_hc_on_the_bundled_primary_data():
    d = as_json("hc")
    assert d["data"]["k"] == 3 and d["data"]["measure"] == "MD"
    assert [row["label"] for row in d["data"]["rows"]] == ["Sun 2017", "Sun 2022", "Amanat 2021"]
    assert [row["vi"] for row in d["data"]["rows"]] == pytest.approx(
        [2.4208064516, 1.3932232847, 10.4587248039], rel=1e-9
    )
    h = d["hc"]
    assert h["estimate"] == pytest.approx(1.994734, abs=1e-6)
    assert h["ci_lower"] == pytest.approx(-2.297647, abs=1e-6)
    assert h["ci_upper"] == pytest.approx(6.287114, abs=1e-6)
    assert h["tau2"] == pytest.approx(3.535211, abs=1e-6)
    assert h["estimate_rma"] == pytest.approx(2.357577, abs=1e-6)
    assert h["ci_lower_rma"] == pytest.approx(-0.368913, abs=1e-6)


def test_hc_table():
    r = run("hc")
    assert r.exit_code == 0, r.output
    assert "Henmi-Copas" in r.stdout and "1.995 [-2.298, 6.287]" in r.stdout
    assert "MD (GMFM-66 points, primary), 12 months; k = 3" in r.stdout


def test_baujat_values_and_plot(tmp_path):
    png = tmp_path / "baujat.png"
    d = as_json("baujat", "--plot", str(png))
    assert d["baujat"]["x"] == pytest.approx([0.60457739, 0.03343713, 2.48199462], abs=1e-7)
    assert d["baujat"]["y"] == pytest.approx([0.4268673, 0.1516679, 0.8687988], abs=1e-6)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run("baujat")
    assert "Amanat 2021" in r.stdout and "2.4820" in r.stdout


def test_selmodel_3psm():
    d = as_json("selmodel", *SMD_FLAGGED)
    assert d["data"]["k"] == 6
    s = d["selmodel"]
    assert s["beta"] == pytest.approx(0.600715, abs=2e-5)
    assert s["ci_lower"] == pytest.approx(-0.327585, abs=5e-5)
    assert s["ci_upper"] == pytest.approx(1.529016, abs=5e-5)
    assert s["tau2"] == pytest.approx(0.403970, abs=5e-5)
    assert s["delta"][1] == pytest.approx(0.580360, abs=5e-5)
    assert s["lrt"] == pytest.approx(0.151577, abs=5e-5)
    assert s["lrt_pval"] == pytest.approx(0.697033, abs=5e-5)
    r = run("selmodel", *SMD_FLAGGED)
    assert "LRT for selection" in r.stdout


def test_pet_peese():
    d = as_json("pet-peese", *SMD_FLAGGED)
    p = d["pet_peese"]
    assert p["pet"]["coef"][0] == pytest.approx(-2.053043, abs=1e-6)
    assert p["pet"]["ci_lower"][0] == pytest.approx(-5.403099, abs=1e-6)
    assert p["peese"]["coef"][0] == pytest.approx(-0.645543, abs=1e-6)
    assert p["pet_test_pval"] == pytest.approx(0.164064, abs=1e-6)
    assert p["chosen"] == "PET"  # PET intercept p >= 0.05
    r = run("pet-peese", *SMD_FLAGGED)
    assert "unreliable below about 10" in r.stdout


def test_multilevel_with_robust_cr2():
    d = as_json("multilevel")
    # one row per trial: the model is the REML random-effects model (sigma^2 sum = tau^2; to
    # the convergence tolerance of metafor's Fisher scoring, 1e-5 on tau^2 changes)
    assert sum(d["rma_mv"]["sigma2"]) == pytest.approx(2.688675, rel=1e-4)
    assert d["rma_mv"]["beta"] == pytest.approx(2.357577, abs=1e-5)
    assert d["robust"]["vcov_type"] == "CR2"
    r = run("multilevel")
    assert r.exit_code == 0, r.output
    assert "not" in r.stdout and "separately identified" in r.stdout


def test_multilevel_on_a_users_file_with_clusters(tmp_path):
    f = tmp_path / "ml.csv"
    f.write_text(
        "study,trial,yi,vi\n"
        "A 6 mo,A,0.30,0.04\nA 12 mo,A,0.40,0.05\nB 6 mo,B,0.10,0.03\nB 12 mo,B,0.05,0.04\n"
        "C 12 mo,C,0.60,0.06\nD 6 mo,D,0.20,0.02\n"
    )
    d = as_json("multilevel", str(f), "--measure", "GEN", "--cluster", "trial", "--rho", "0.6")
    assert d["data"]["clusters"] == 4 and d["robust"]["n_clusters"] == 4
    assert [r["cluster"] for r in d["data"]["rows"]] == ["A", "A", "B", "B", "C", "D"]


def test_multilevel_missing_cluster_names_the_line(tmp_path):
    f = tmp_path / "ml.csv"
    f.write_text("study,trial,yi,vi\nA,A,0.3,0.04\nB,,0.1,0.03\nC,C,0.6,0.06\n")
    r = run("multilevel", str(f), "--measure", "GEN", "--cluster", "trial")
    assert r.exit_code == 1
    assert "line 3, column trial" in r.output and "Traceback" not in r.output


def test_bad_number_names_line_and_column(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("study,yi,vi\nA,0.3,0.04\nB,abc,0.03\nC,0.6,0.06\n")
    r = run("hc", str(f), "--measure", "GEN")
    assert r.exit_code == 1
    assert "line 3, column yi" in r.output and "'abc'" in r.output


def test_profile_plot(tmp_path):
    png = tmp_path / "profile.png"
    d = as_json("profile", "--plot", str(png))
    assert d["profile"]["tau2_hat"] == pytest.approx(2.688675, abs=1e-5)
    assert png.stat().st_size > 1000


def test_gosh_with_plot(tmp_path):
    png = tmp_path / "gosh.png"
    d = as_json("gosh", *SMD_FLAGGED, "--plot", str(png))
    assert d["gosh"]["subsets"] == 2**6 - 1
    # the single-study subsets: the estimates range over the studies' own effects
    assert d["gosh"]["estimate_range"] == pytest.approx([0.09565821172, 2.33405914247], abs=1e-9)
    assert png.stat().st_size > 1000
    r = run("gosh", *SMD_FLAGGED)
    assert "63" in r.stdout


def test_bayes_prior_choice_and_mcid():
    d = as_json("bayes", "--tau-scale", "5", "--mcid", "2")
    b = d["bayes"]
    assert b["tau_prior"] == "halfnormal"
    assert set(b["prob_mu_above"]) == {"0.0", "2.0"}
    assert 0 < b["prob_mu_above"]["2.0"] < b["prob_mu_above"]["0.0"] < 1
    r = run("bayes")  # MD without a scale: no invented default
    assert r.exit_code == 1 and "--tau-scale" in r.output
    r = run("bayes", "--measure", "SMD", "--prior", "rhodes")
    assert r.exit_code == 0, r.output
    assert "P(mu > 0 | data)" in r.stdout
    r = run("bayes", "--prior", "flat")
    assert r.exit_code == 1 and "allowed halfnormal, halfcauchy, rhodes" in r.output


def test_bundled_options_errors():
    r = run("hc", "--months", "9")
    assert r.exit_code == 1 and "6, 12" in r.output
    r = run("hc", "--measure", "OR")
    assert r.exit_code == 1 and "MD" in r.output
