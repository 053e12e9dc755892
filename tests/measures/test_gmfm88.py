"""GMFM-88 scoring: worked examples computed by hand, NT handling, invalid input, batch."""

import math
import re

import numpy as np
import pytest

from cpstem.measures import MeasureError, gmfm


def sheet(**by_dim):
    """A sheet giving every item of a dimension the same score, e.g. sheet(A=3, B=2)."""
    out = {}
    for code, score in by_dim.items():
        for n in gmfm.DIMENSIONS[code].item_numbers:
            out[n] = score
    return out


def test_full_marks_is_100_everywhere():
    r = gmfm.score_gmfm88(sheet(A=3, B=3, C=3, D=3, E=3))
    assert dict(r.dimension_percent) == dict.fromkeys("ABCDE", 100.0)
    assert r.total == 100.0
    assert r.not_tested == ()
    assert r.goal_total is None


def test_worked_example_by_hand():
    # A all 3 -> 51/51 = 100 %; B all 2 -> 40/60 = 66.67 %; C all 1 -> 14/42 = 33.33 %;
    # D all 0 -> 0 %; E: 12 items 3, 12 items 0 -> 36/72 = 50 %.
    items = sheet(A=3, B=2, C=1, D=0)
    items |= {n: (3 if n < 77 else 0) for n in range(65, 89)}
    r = gmfm.score_gmfm88(items)
    assert dict(r.dimension_raw) == {"A": 51, "B": 40, "C": 14, "D": 0, "E": 36}
    assert r.dimension_percent["B"] == pytest.approx(200 / 3, abs=1e-12)
    assert r.dimension_percent["C"] == pytest.approx(100 / 3, abs=1e-12)
    assert r.dimension_percent["E"] == 50.0
    # total = mean of the five percents (not 141/264 = 53.4 %)
    assert r.total == pytest.approx(50.0, abs=1e-12)
    assert r.total != pytest.approx(141 / 264 * 100)


def test_not_tested_items_count_as_zero_but_are_listed():
    items = sheet(A=3, B=3, C=3, D=3, E=3)
    for n in (1, 2, 3):
        items[n] = None  # NT
    items[4] = 9  # 9 = NT on the CanChild sheet
    items[5] = "NT"
    del items[6]  # missing = NT
    items[7] = ""
    r = gmfm.score_gmfm88(items)
    assert r.not_tested == (1, 2, 3, 4, 5, 6, 7)
    assert r.dimension_raw["A"] == 30  # 10 tested items x 3
    assert r.dimension_percent["A"] == pytest.approx(30 / 51 * 100, abs=1e-12)
    assert r.total == pytest.approx((30 / 51 * 100 + 400) / 5, abs=1e-12)
    # a true 0 is not the same as NT
    zeros = gmfm.score_gmfm88({**items, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0})
    assert zeros.dimension_percent["A"] == r.dimension_percent["A"]
    assert zeros.not_tested == ()
    assert r.n_tested == 81


def test_goal_total_is_the_mean_of_goal_dimensions():
    items = sheet(A=3, B=3, C=2, D=1, E=0)
    r = gmfm.score_gmfm88(items, goal_dimensions="D,E")
    assert r.goal_dimensions == ("D", "E")
    assert r.goal_total == pytest.approx((13 / 39 * 100 + 0.0) / 2, abs=1e-12)
    assert gmfm.score_gmfm88(items, ["e", "d", "D"]).goal_total == r.goal_total
    assert gmfm.score_gmfm88(items, "C").goal_total == pytest.approx(200 / 3, abs=1e-12)


def test_string_keys_and_scores_are_accepted():
    r = gmfm.score_gmfm88({"1": "3", " 2 ": 2.0, 3: np.int64(1)})
    assert r.dimension_raw["A"] == 6
    assert len(r.not_tested) == 85


def test_with_aids_is_flagged_and_scored_the_same():
    items = sheet(A=3, D=2)
    plain, aided = gmfm.score_gmfm88(items), gmfm.score_gmfm88(items, with_aids=True)
    assert aided.with_aids and not plain.with_aids
    assert aided.total == plain.total
    assert "aids/orthoses" in aided.summary()


def test_result_is_immutable_and_serialisable():
    r = gmfm.score_gmfm88(sheet(A=3))
    with pytest.raises(AttributeError):
        r.total = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.dimension_percent["A"] = 0.0  # type: ignore[index]
    d = r.to_dict()
    assert d["dimension_percent"]["A"] == 100.0 and len(d["not_tested"]) == 71
    assert "Total score" in str(r)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({0: 1}, "GMFM item 0 does not exist: items are numbered 1 to 88"),
        ({89: 1}, "GMFM item 89 does not exist"),
        ({"abc": 1}, "is not an item number"),
        ({True: 1}, "is not an item number"),
        ({23: 4}, "GMFM item 23 score 4: allowed 0, 1, 2, 3 or NT"),
        ({23: 2.5}, "GMFM item 23 score 2.5: allowed 0, 1, 2, 3 or NT"),
        ({23: "x"}, "GMFM item 23 score 'x': allowed"),
        ({23: -1}, "GMFM item 23 score -1"),
        ({23: True}, "GMFM item 23 score True"),
        ({23: [1]}, "GMFM item 23 score [1]"),
        ({1: 1, "1": 2}, "GMFM item 1 is given twice"),
    ],
)
def test_invalid_sheets_raise_measure_error(items, message):
    with pytest.raises(MeasureError, match=re.escape(message)):
        gmfm.score_gmfm88(items)


def test_invalid_goal_dimension():
    with pytest.raises(MeasureError, match="goal dimension 'F' is not a GMFM dimension"):
        gmfm.score_gmfm88({}, "D,F")


def test_measure_error_is_a_value_error():
    assert issubclass(MeasureError, ValueError)


def random_sheets(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.integers(0, 4, size=(n, 88)).astype(float)
    m[rng.random((n, 88)) < 0.15] = np.nan
    m[rng.random((n, 88)) < 0.02] = 9
    return m


def as_items(row: np.ndarray) -> dict[int, float]:
    return {i + 1: v for i, v in enumerate(row)}


def test_batch_agrees_exactly_with_the_single_scorer():
    m = random_sheets(400)
    batch = gmfm.score_gmfm88_batch(m, goal_dimensions="B,D,E")
    assert len(batch) == 400
    for i, row in enumerate(m):
        single = gmfm.score_gmfm88(as_items(row), "B,D,E")
        assert batch.total[i] == single.total  # exact, not approximate
        assert batch.goal_total[i] == single.goal_total
        for c in "ABCDE":
            assert batch.dimension_percent[c][i] == single.dimension_percent[c]
            assert batch.dimension_raw[c][i] == single.dimension_raw[c]
        assert tuple(np.flatnonzero(batch.not_tested[i]) + 1) == single.not_tested
        assert batch.n_not_tested[i] == len(single.not_tested)


def test_batch_without_goals_and_single_row():
    m = random_sheets(3)
    batch = gmfm.score_gmfm88_batch(m)
    assert batch.goal_total is None
    one = gmfm.score_gmfm88_batch(m[1])
    assert one.total[0] == batch.total[1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (4, "sheet 2: GMFM item 5 score 4"),
        (2.5, "sheet 2: GMFM item 5 score 2.5"),
        (-1, "score -1"),
        (math.inf, "score inf"),
    ],
)
def test_batch_rejects_invalid_scores_naming_sheet_and_item(value, message):
    m = random_sheets(3)
    m[1, 4] = value
    with pytest.raises(MeasureError, match=message):
        gmfm.score_gmfm88_batch(m)


def test_batch_rejects_wrong_shape():
    with pytest.raises(MeasureError, match="88 columns"):
        gmfm.score_gmfm88_batch(np.zeros((2, 66)))
