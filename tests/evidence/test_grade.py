"""GRADE certainty and summary-of-findings rows, worked by hand."""

import pytest

from cpstem.design.tsa import required_information_size
from cpstem.evidence import EvidenceError
from cpstem.evidence.grade import grade_outcome, per_thousand


def row(**kw):
    base = dict(
        estimate=0.5,
        ci=(0.2, 0.8),
        k=3,
        participants=1000,
        weights=[40, 30, 30],
        rob=["low", "low", "low"],
        labels=["A", "B", "C"],
        i2=0.0,
        tau2=0.0,
        pi=(0.2, 0.8),
        ois=785,
    )
    return grade_outcome("o", "SMD", **(base | kw))


def test_high_when_nothing_is_wrong():
    r = row()
    assert r.certainty == "high" and all(d.levels == 0 for d in r.downgrades)
    assert "not assessable: 3 studies" in r.downgrades[4].reason


def test_each_domain_takes_its_levels():
    # RoB: 70 % of the weight at some concerns -> -1; high risk 70 % -> -2
    assert row(rob=["low", "some concerns", "high"]).downgrades[0].levels == 1
    assert row(rob=["low", "high", "high"]).downgrades[0].levels == 2
    # unjudged counts as some concerns: 30 + 30 = 60 % > 50 %
    d = row(rob=["low", None, None]).downgrades[0]
    assert d.levels == 1 and "not judged (counted as some concerns): B, C" in d.reason
    # inconsistency: I2 55 % -> -1; I2 80 % with a PI including 0 -> -2
    assert row(i2=55.0, tau2=0.1, pi=(-0.1, 1.1)).downgrades[1].levels == 1
    assert row(i2=80.0, tau2=0.3, pi=(-0.4, 1.4)).downgrades[1].levels == 2
    # a PI including 0 while the CI does not (tau2 > 0) -> -1 even at I2 30 %
    assert row(i2=30.0, tau2=0.05, pi=(-0.1, 1.1)).downgrades[1].levels == 1
    # imprecision: 225 < OIS 785 and a CI including 0 -> -2
    d = row(participants=225, ci=(-5.12, 9.83)).downgrades[3]
    assert d.levels == 2 and "below the OIS of 785" in d.reason
    # publication bias with 10 studies: Egger p 0.04 -> -1
    r = row(k=10, weights=[1] * 10, rob=["low"] * 10, labels=list("ABCDEFGHIJ"), egger_p=0.04)
    assert r.downgrades[4].levels == 1


def test_primary_analysis_is_very_low():
    # The bundled primary analysis: MD 2.36 (-5.12 to 9.83), 225 children, 3 trials; weights
    # 36 / 47 / 17 % with RoB some concerns / high / some concerns; I2 47 %, PI -7.92 to 12.64.
    # RoB -1 (100 % of weight not low, 47 % high), inconsistency 0 (I2 < 50 %, the CI includes
    # 0 as well), imprecision -2 -> high - 3 = very low.
    r = grade_outcome(
        "GMFM-66",
        "MD",
        estimate=2.36,
        ci=(-5.12, 9.83),
        k=3,
        participants=225,
        weights=[36, 47, 17],
        rob=["some concerns", "high", "some concerns"],
        labels=["S17", "S22", "A21"],
        i2=47.0,
        tau2=2.69,
        pi=(-7.92, 12.64),
        ois=required_information_size(delta=0.2, sd=1.0).ris,
    )
    assert [d.levels for d in r.downgrades] == [1, 0, 0, 2, 0]
    assert r.certainty == "very low"
    assert "OIS of 785" in r.downgrades[3].reason  # 4 (1.959964 + 0.841621)^2 / 0.04 = 784.9


def test_per_thousand():
    # control risk 6 / 150 = 40 per 1000; RR 0.97 (0.26 to 3.66) -> 39 (10 to 146) per 1000
    assert per_thousand(0.04, (0.97, 0.26, 3.66)) == (
        "control 40 per 1000; cells 39 per 1000 (10 to 146)"
    )


def test_bad_input():
    with pytest.raises(EvidenceError) as info:
        row(rob=["low"])
    assert (info.value.code, info.value.field) == ("inconsistent", "rob")
    with pytest.raises(EvidenceError) as info:
        row(start="medium")
    assert info.value.code == "invalid_choice"
