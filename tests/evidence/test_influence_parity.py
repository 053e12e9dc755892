"""leave_one_out, cumulative and influence against metafor's leave1out, cumul, influence."""

import numpy as np
import pytest

from cpstem.evidence import EvidenceError, cumulative, influence, leave_one_out, rma
from tests.evidence.parity import close, load

CASES = load("influence")["cases"]
SEQ = {
    "estimate": "estimate",
    "se": "se",
    "pval": "pval",
    "ci_lower": "ci.lb",
    "ci_upper": "ci.ub",
    "q": "Q",
    "q_pval": "Qp",
    "tau2": "tau2",
    "i2": "I2",
    "h2": "H2",
}
INF = {
    "rstudent": "rstudent",
    "dffits": "dffits",
    "cook_d": "cook.d",
    "cov_r": "cov.r",
    "tau2_del": "tau2.del",
    "q_del": "QE.del",
    "hat": "hat",
    "weight": "weight",
}


def _fit(case):
    mods = None if case["mods"] is None else np.array(case["mods"], dtype=float)
    return rma(case["yi"], case["vi"], method=case["method"], test=case["test"], mods=mods)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_influence_matches_metafor(case):
    res = _fit(case)
    e = case["result"]
    inf = influence(res)
    for ours, theirs in INF.items():
        close(getattr(inf, ours), e["inf"][theirs], f"{case['id']} {theirs}", "influence")
    cols = e["dfbs"].values() if isinstance(e["dfbs"], dict) else e["dfbs"]
    for j, col in enumerate(cols):
        close(inf.dfbetas[:, j], col, f"{case['id']} dfbs[{j}]", "influence")
    assert list(inf.influential) == list(e["is.infl"])
    assert "rstudent" in inf.summary()


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["mods"] is None],
    ids=[c["id"] for c in CASES if c["mods"] is None],
)
def test_leave1out_cumul_match_metafor(case):
    res = _fit(case)
    e = case["result"]
    for fun, key in ((leave_one_out, "leave1out"), (cumulative, "cumul")):
        seq = fun(res)
        exp = e[key]
        stat = exp.get("zval", exp.get("tval"))
        if stat is not None:
            close(seq.stat, stat, f"{case['id']} {key} stat", "influence")
        for ours, theirs in SEQ.items():
            theirs = "pvals" if (theirs == "pval" and "pvals" in exp) else theirs
            if theirs in exp:
                close(getattr(seq, ours), exp[theirs], f"{case['id']} {key} {theirs}", "influence")
        assert seq.kind in seq.summary()


def test_cumulative_order_and_errors():
    res = rma([0.1, 0.5, 0.3], [0.01, 0.02, 0.03], method="DL")
    seq = cumulative(res, order=[2020, 2010, 2015])
    assert seq.labels == ("Study 2", "Study 3", "Study 1")
    assert seq.estimate[-1] == pytest.approx(res.estimate)
    meta = rma([0.1, 0.5, 0.3, 0.2], [0.01, 0.02, 0.03, 0.02], mods=[1, 2, 3, 4])
    with pytest.raises(EvidenceError, match="without moderators"):
        leave_one_out(meta)
