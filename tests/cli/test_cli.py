"""The command line: scoring, curves, plots, the tour, and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cpstem.cli.main import app
from cpstem.examples import path as example
from tests.factories import CURVE_SET_CSV, item_map_text

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), prog_name="cpstem")


def test_help_lists_the_command_groups():
    r = run("--help")
    assert r.exit_code == 0
    for word in ("gmfm", "curves", "tour"):
        assert word in r.stdout


def test_gmfm_score_table():
    r = run("gmfm", "score", str(example("gmfm88_example.csv")), "--goal", "D,E")
    assert r.exit_code == 0, r.output
    assert "61.0" in r.stdout and "25.2" in r.stdout and "60, 61, 88" in r.stdout


def test_gmfm_score_json():
    r = run("gmfm", "score", str(example("gmfm88_example.csv")), "--goal", "D,E", "--json")
    data = json.loads(r.stdout)
    assert data["dimension_raw"] == {"A": 49, "B": 55, "C": 28, "D": 11, "E": 16}
    # total = (49/51 + 55/60 + 28/42 + 11/39 + 16/72) * 100 / 5
    assert data["total"] == pytest.approx(
        (49 / 51 + 55 / 60 + 28 / 42 + 11 / 39 + 16 / 72) * 100 / 5, rel=1e-12
    )
    assert data["goal_total"] == pytest.approx((11 / 39 + 16 / 72) * 100 / 2, rel=1e-12)
    assert data["not_tested"] == [60, 61, 88]


def test_gmfm_score_with_item_map(tmp_path):
    item_map = tmp_path / "map.csv"
    item_map.write_text(item_map_text(), encoding="utf-8")
    r = run(
        "gmfm", "score", str(example("gmfm88_example.csv")), "--item-map", str(item_map), "--json"
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["gmfm66"]["item_map"] == "synthetic-test-map"
    # two GMFM-66 items scored 1 and 2 on the symmetric map (thresholds -1, 0, 1): raw 3 of 6,
    # theta 0 by symmetry -> GMFM-66 = intercept 50. Item variance at theta 0 by hand:
    # (5e + 9) / (2 + 2e) - 2.25 = 0.78788, so SE = 10 / sqrt(2 * 0.78788) = 7.966 and the
    # 95% CI 50 -/+ 1.96 * 7.966 = 34.4 to 65.6.
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("item,score\n2,1\n6,2\n", encoding="utf-8")
    r = run("gmfm", "score", str(sheet), "--item-map", str(item_map), "--json")
    g66 = json.loads(r.stdout)["gmfm66"]
    assert g66["estimate"] == pytest.approx(50.0, abs=1e-9)
    assert g66["se"] == pytest.approx(7.96625, abs=1e-5)
    assert (g66["n_items"], g66["raw_score"], g66["max_raw"]) == (2, 3, 6)
    text = run("gmfm", "score", str(sheet), "--item-map", str(item_map)).stdout
    assert "GMFM-66 50.0 (SE 7.97; 95% CI 34.4 to 65.6) from 2 items" in text
    assert "Total score" in text and "3/51" in text and "5.9" in text  # 3/51 = 5.9 % of A


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("item,score\n1,3\n5,4\n", "error: GMFM item 5 score 4: allowed 0, 1, 2, 3 or NT"),
        ("item,score\n1,3\n1,2\n", "error: sheet.csv line 3: item 1 is given twice"),
        ("item,score\n89,3\n", "error: sheet.csv line 2: GMFM item 89 does not exist"),
        ("number,value\n1,3\n", "error: sheet.csv: columns must include item,score"),
        ("", "error: sheet.csv: no header line"),
    ],
)
def test_bad_sheets_give_one_clear_line(tmp_path, content, message):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(content, encoding="utf-8")
    r = run("gmfm", "score", str(sheet))
    assert r.exit_code == 1
    assert r.stderr.strip().startswith(message)
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.output


def test_missing_file(tmp_path):
    r = run("gmfm", "score", str(tmp_path / "none.csv"))
    assert r.exit_code == 1 and "does not exist" in r.stderr


def test_curves_expected_population_and_child_anchored():
    r = run(
        "curves",
        "expected",
        "--set",
        "rosenbaum2002",
        "--gmfcs",
        "III",
        "--age",
        "3.7",
        "--baseline",
        "38",
        "--to",
        "7.4",
        "--json",
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["expected"] == pytest.approx(48.87, abs=1e-12)
    assert data["population_change"] == pytest.approx(0.09 * 54.3, abs=1e-12)
    assert data["child_anchored_change"] == pytest.approx(3.8, abs=1e-12)
    text = run(
        "curves", "expected", "--gmfcs", "III", "--age", "3.7", "--baseline", "38", "--to", "7.4"
    )
    assert "Child-anchored" in text.stdout and "+3.80" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gmfcs", "VI", "--age", "3"], "error: GMFCS level 'VI' is not valid"),
        (["--gmfcs", "II", "--age", "-3"], "error: age -3.0 years is not valid"),
        (["--gmfcs", "II", "--age", "3", "--baseline", "30"], "error: --baseline needs --to"),
        (["--gmfcs", "II", "--age", "3", "--set", "nope"], "error: unknown curve set 'nope'"),
    ],
)
def test_curves_errors(args, message):
    r = run("curves", "expected", *args)
    assert r.exit_code == 1 and r.stderr.startswith(message), r.output


def test_curves_with_a_user_file(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(CURVE_SET_CSV, encoding="utf-8")
    r = run("curves", "expected", "--set", str(path), "--gmfcs", "I", "--age", "4.5", "--json")
    assert json.loads(r.stdout)["expected"] == pytest.approx(76.5)
    assert "myregistry" in run("curves", "show", str(path)).stdout


def test_curves_list_and_show():
    assert "shi2012" in run("curves", "list").stdout
    shown = run("curves", "show", "rosenbaum2002").stdout
    assert "87.7" in shown and "Verification" in shown


def test_curves_plot_with_child(tmp_path):
    out = tmp_path / "curves.png"
    r = run(
        "curves",
        "plot",
        "--out",
        str(out),
        "--child",
        str(example("child_gmfm66.csv")),
        "--gmfcs",
        "III",
    )
    assert r.exit_code == 0, r.output
    assert "".join(r.stdout.split()) == f"Wrote{out}"  # (a long path may wrap)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_curves_plot_bad_child_file(tmp_path):
    bad = tmp_path / "child.csv"
    bad.write_text("age_years,gmfm66\n3,abc\n", encoding="utf-8")
    r = run("curves", "plot", "--out", str(tmp_path / "c.png"), "--child", str(bad))
    assert r.exit_code == 1 and "child.csv line 2: age_years and gmfm66 must be numbers" in r.stderr


def test_tour(tmp_path):
    r = run("tour", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    lines = [" ".join(line.split()) for line in r.stdout.splitlines()]
    # 1. the example sheet: A 49/51 = 96.1 %, ..., total 61.0, goal total (D, E) 25.2
    assert "│ A Lying & rolling │ 49/51 │ 96.1 │" in lines
    assert "│ Total score │ │ 61.0 │" in lines and "│ Goal total (D, E) │ │ 25.2 │" in lines
    # 2. GMFCS III (54.3, age-90 3.7 y): 10 ** (-4.5 / 3.7) = 0.060783, 10 ** (-5.5 / 3.7)
    # = 0.032622 -> expected 54.3 * 0.939217 = 51.0; population change 54.3 * 0.028161
    # = +1.53; child-anchored 38 / 0.939217 * 0.967378 - 38 = +1.14; the example child goes
    # 38.0 -> 43.5: +5.50, 5.50 - 1.14 = 4.36 beyond
    text = " ".join(lines)
    assert "Expected GMFM-66 at 4.5 y, GMFCS III: 51.0" in text
    assert "population +1.53, child-anchored (baseline 38) +1.14" in text
    assert "Observed change: +5.50 (+4.36 beyond the child-anchored expectation)" in text
    # 3. the plot
    assert f"Wrote{tmp_path / 'curves.png'}" in "".join(r.stdout.split())  # (a long path may wrap)
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_installed_console_script():
    exe = Path(sys.executable).parent / "cpstem"
    done = subprocess.run(
        [str(exe), "curves", "expected", "--gmfcs", "2", "--age", "4.4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "61.6" in done.stdout  # 0.9 * 68.4 = 61.56
    bad = subprocess.run(
        [str(exe), "gmfm", "score", "/nonexistent.csv"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error:") and not bad.stdout


def test_every_layer_error_is_a_one_line_user_error():
    from cpstem.cli.errors import USER_ERRORS
    from cpstem.evidence import EvidenceError
    from cpstem.measures import MeasureError
    from cpstem.outcomes import OutcomeError
    from cpstem.reference import CurveError
    from cpstem.registry.errors import RegistryError

    for cls in (MeasureError, CurveError, EvidenceError, OutcomeError, RegistryError):
        assert issubclass(cls, USER_ERRORS) and issubclass(cls, ValueError)


def test_help_starts_without_the_heavy_libraries():
    code = (
        "import sys, cpstem.cli.main; "
        "print(sorted({'scipy', 'matplotlib', 'django', 'pandas'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
