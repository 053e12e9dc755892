"""responders on the hand-worked table; exact CIs against scipy's binomtest."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.ipd import clopper_pearson, responders
from cpstem.outcomes.ipd.responders import bundled_mcid
from tests.outcomes.ipd.worked import worked_table

# change and SE of the change at 12 months (window 9-15):
#   a: 55 - 50 = 5,    sqrt(1.0^2 + 1.5^2) = 1.803  -> 5 > 3.53: improved
#   b: 43 - 40 = 3,    sqrt(2.0^2 + 1.0^2) = 2.236  -> 3 < 4.38: not beyond error
#   c: 30.5 - 30 = .5, sqrt(1 + 1)         = 1.414  -> no
#   d: 17 - 20 = -3,   sqrt(1.2^2 + 1.6^2) = 2.0    -> -3 < -3.92? no
CHANGES = {"a": 5.0, "b": 3.0, "c": 0.5, "d": -3.0}


def test_hand_worked_counts():
    t = responders(worked_table()).to_frame().set_index(["subgroup", "level", "criterion"])
    up = t.loc[("all", "all", "improved_beyond_error")]
    assert (up["n"], up["responders"]) == (4, 1)
    assert t.loc[("all", "all", "worse_beyond_error"), "responders"] == 0
    ci = binomtest(1, 4).proportion_ci(0.95, method="exact")
    assert up["ci_lower"] == pytest.approx(ci.low, rel=1e-10)
    assert up["ci_upper"] == pytest.approx(ci.high, rel=1e-10)


def test_user_mcid_number_and_per_gmfcs():
    t = responders(worked_table(), threshold=3.0, by="group").to_frame()
    t = t.set_index(["subgroup", "level", "criterion"])
    assert t.loc[("all", "all", "beyond_mcid"), "responders"] == 2  # a (5) and b (3)
    assert t.loc[("group", "control", "beyond_mcid"), "responders"] == 0
    per = responders(worked_table(), threshold={1: 4.0, 3: 0.5}).to_frame()
    row = per[per.criterion == "beyond_mcid"].iloc[0]
    assert (row["n"], row["responders"]) == (4, 2)  # a (5 >= 4) and c (0.5 >= 0.5)


def test_no_verified_mcid_bundled_so_no_mcid_rows():
    assert bundled_mcid() == {}
    res = responders(worked_table())
    assert res.mcid_source is None
    assert "beyond_mcid" not in set(res.to_frame().criterion)


def test_clopper_pearson_matches_scipy_and_edges():
    for k, n in [(0, 10), (3, 10), (10, 10), (17, 40)]:
        ci = binomtest(k, n).proportion_ci(0.9, method="exact")
        lo, hi = clopper_pearson(k, n, 0.9)
        assert lo == pytest.approx(ci.low, abs=1e-12)
        assert hi == pytest.approx(ci.high, abs=1e-12)
    # 0/10: upper limit 1 - 0.025^(1/10)
    assert clopper_pearson(0, 10)[1] == pytest.approx(1 - 0.025 ** (1 / 10))
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))


def test_bad_threshold():
    with pytest.raises(OutcomeError) as err:
        responders(worked_table(), threshold=-1)
    assert (err.value.code, err.value.field) == ("out_of_range", "threshold")
