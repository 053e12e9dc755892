"""GMFM-66 maximum-likelihood scoring from a partial-credit item map (synthetic parameters)."""

import math
import re

import numpy as np
import pytest

from cpstem.measures import MeasureError, gmfm
from cpstem.measures.gmfm66 import MIN_ITEMS_RECOMMENDED, parse_item_map
from tests.factories import item_map_text

E = math.e
# Item variance at theta = 0 for thresholds (-1, 0, 1), by hand: P ~ (1, e, e, 1),
# mean 1.5, E[X^2] = (e + 4e + 9) / (2 + 2e).
VAR0 = (5 * E + 9) / (2 + 2 * E) - 2.25


@pytest.fixture
def symmetric_map():
    return parse_item_map(item_map_text())


def test_symmetric_pattern_gives_theta_zero_and_hand_computed_se(symmetric_map):
    # Two tested GMFM-66 items scored 1 and 2: raw 3 of 6 -> theta 0 by symmetry.
    r = gmfm.score_gmfm66({2: 1, 6: 2}, symmetric_map)
    assert r.logit == pytest.approx(0.0, abs=1e-10)
    assert r.estimate == pytest.approx(50.0, abs=1e-9)
    assert r.logit_se == pytest.approx(1 / math.sqrt(2 * VAR0), rel=1e-10)
    assert r.se == pytest.approx(10 / math.sqrt(2 * VAR0), rel=1e-10)
    assert r.ci_lower == pytest.approx(50 - 1.959963984540054 * r.se, rel=1e-12)
    assert r.ci_upper == pytest.approx(50 + 1.959963984540054 * r.se, rel=1e-12)
    assert (r.n_items, r.raw_score, r.max_raw, r.extreme) == (2, 3, 6, None)
    assert any("13" in w for w in r.warnings)


def test_equal_thresholds_solve_the_likelihood_equation():
    # One item, thresholds (0, 0, 0), score 1: with x = exp(theta), 2x^3 + x^2 - 1 = 0.
    m = parse_item_map(item_map_text(steps=(0.0, 0.0, 0.0), intercept=0.0, slope=1.0))
    r = gmfm.score_gmfm66({69: 1}, m)
    roots = [z.real for z in np.roots([2, 1, 0, -1]) if abs(z.imag) < 1e-12 and z.real > 0]
    assert r.logit == pytest.approx(math.log(roots[0]), abs=1e-10)


def test_items_outside_gmfm66_and_not_tested_items_are_ignored(symmetric_map):
    base = gmfm.score_gmfm66({2: 1, 6: 2}, symmetric_map)
    more = gmfm.score_gmfm66({1: 3, 3: 0, 2: 1, 6: 2, 7: None, 10: 9, 11: 2}, symmetric_map)
    assert more.estimate == base.estimate and more.n_items == 2


def test_higher_raw_score_gives_higher_estimate(symmetric_map):
    tested = list(gmfm.GMFM66_ITEMS[:20])
    estimates = [
        gmfm.score_gmfm66(
            {n: (2 if i < k else 1) for i, n in enumerate(tested)}, symmetric_map
        ).estimate
        for k in range(0, 21, 5)
    ]
    assert estimates == sorted(estimates) and len(set(estimates)) == len(estimates)
    r = gmfm.score_gmfm66({n: 2 for n in tested}, symmetric_map)
    assert r.warnings == ()  # 20 items >= the recommended minimum
    assert MIN_ITEMS_RECOMMENDED == 13


@pytest.mark.parametrize(("score", "kind"), [(0, "minimum"), (3, "maximum")])
def test_extreme_patterns_are_flagged_not_crashed(symmetric_map, score, kind):
    r = gmfm.score_gmfm66(dict.fromkeys(gmfm.GMFM66_ITEMS[:15], score), symmetric_map)
    assert r.extreme == kind and r.estimate is None and r.se is None
    assert "no finite estimate" in r.summary()


def test_no_tested_item_is_an_error(symmetric_map):
    with pytest.raises(MeasureError, match="no GMFM-66 item was tested"):
        gmfm.score_gmfm66({1: 3, 3: 2}, symmetric_map)


def test_summary_reads_like_the_gmae(symmetric_map):
    text = str(gmfm.score_gmfm66({2: 1, 6: 2}, symmetric_map))
    assert re.match(r"GMFM-66 50\.0 \(SE \d+\.\d\d; 95% CI \d+\.\d to \d+\.\d\) from 2 items", text)


def test_load_item_map_from_file(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(item_map_text(), encoding="utf-8")
    m = gmfm.load_item_map(path)
    assert m.name == "synthetic-test-map" and m.slope == 10.0 and len(m.thresholds) == 66


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (item_map_text(items=gmfm.GMFM66_ITEMS[:-1]), "lacks GMFM-66 item(s) 88"),
        (item_map_text() + "1,0,0,0\n", "not GMFM-66 items"),
        (item_map_text() + "2,0,0,0\n", "item 2 is listed twice"),
        (item_map_text().replace("# slope: 10.0\n", ""), "'# slope: <number>' is missing"),
        (item_map_text(slope=-1.0), "slope must be a positive number"),
        (item_map_text().replace("2,-1.0,0.0,1.0", "2,-1.0,abc,1.0"), "'abc' is not a number"),
        (item_map_text().replace("step3_logit", "tau3"), "columns must be"),
        (item_map_text().replace("\n2,", "\n2x,"), "'2x' is not a GMFM item number"),
        ("", "the file is empty"),
    ],
)
def test_bad_item_maps_are_rejected(text, message):
    with pytest.raises(MeasureError, match=re.escape(message)):
        parse_item_map(text)


def test_missing_item_map_file(tmp_path):
    with pytest.raises(MeasureError, match="does not exist"):
        gmfm.load_item_map(tmp_path / "nope.csv")
