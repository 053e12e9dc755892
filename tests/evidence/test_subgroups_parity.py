"""subgroup against metafor's subgrouping recipe (separate fits + Wald test; mixed model)."""

import pytest

from cpstem.evidence import EvidenceError, subgroup
from tests.evidence.parity import close, load

CASES = load("subgroups")["cases"]


def _id(c):
    return f"{c['data']}-{c['method']}-{c['test']}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_subgroups_match_metafor(case):
    res = subgroup(case["yi"], case["vi"], case["group"], method=case["method"], test=case["test"])
    w = _id(case)
    assert list(res.levels) == list(case["levels"])
    for lv, e in zip(res.levels, case["groups"], strict=True):
        f = res.fits[lv]
        assert f.k == e["k"]
        for ours, theirs in (
            ("beta", "beta"),
            ("se", "se"),
            ("ci_lower", "ci.lb"),
            ("ci_upper", "ci.ub"),
            ("tau2", "tau2"),
            ("i2", "I2"),
            ("q", "QE"),
            ("pval", "pval"),
        ):
            close(getattr(f, ours), e[theirs], f"{w} {lv} {theirs}", "subgroups")
    close(res.q_between, case["Qb"], f"{w} Qb", "subgroups")
    close(res.q_between_pval, case["Qbp"], f"{w} Qbp", "subgroups")
    assert res.q_between_df == case["Qb.df"]
    m = case["mixed"]
    for ours, theirs in (
        ("qm", "QM"),
        ("qm_pval", "QMp"),
        ("tau2", "tau2"),
        ("q", "QE"),
        ("q_pval", "QEp"),
        ("beta", "beta"),
    ):
        close(getattr(res.mixed, ours), m[theirs], f"{w} mixed {theirs}", "subgroups")
    assert "Q_between" in res.summary()


def test_subgroup_needs_two_groups():
    with pytest.raises(EvidenceError, match="at least two subgroups"):
        subgroup([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], ["a", "a", "a"])
    with pytest.raises(EvidenceError, match="group labels"):
        subgroup([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], ["a", "b"])
