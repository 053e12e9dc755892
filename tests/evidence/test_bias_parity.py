"""regtest, ranktest and trimfill against metafor."""

import numpy as np
import pytest

from cpstem.evidence import EvidenceError, ranktest, regtest, rma, trimfill
from tests.evidence.parity import close, load

FIX = load("bias")
CASES = FIX["cases"]


def _id(c):
    return f"{c['data']}-{c['method']}-{c['test']}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_regtest_trimfill_match_metafor(case):
    fit = rma(case["yi"], case["vi"], method=case["method"], test=case["test"])
    e = case["result"]
    w = _id(case)
    for model, key in (("rma", "regtest"), ("lm", "regtest_lm")):
        rt = regtest(fit, model=model)
        close(rt.stat, e[key]["zval"], f"{w} {key} zval", "bias")
        close(rt.pval, e[key]["pval"], f"{w} {key} pval", "bias")
        close(rt.df, e[key]["ddf"], f"{w} {key} ddf", "bias")
        close(rt.estimate, e[key]["est"], f"{w} {key} est", "bias")
        close(rt.ci_lower, e[key]["ci.lb"], f"{w} {key} ci.lb", "bias")
        close(rt.ci_upper, e[key]["ci.ub"], f"{w} {key} ci.ub", "bias")
    tf = trimfill(fit)
    t = e["trimfill"]
    assert tf.k0 == t["k0"] and tf.side == t["side"]
    close(tf.se_k0, t["se.k0"], f"{w} se.k0", "bias")
    for ours, theirs in (
        ("beta", "beta"),
        ("se", "se"),
        ("ci_lower", "ci.lb"),
        ("ci_upper", "ci.ub"),
        ("tau2", "tau2"),
        ("pval", "pval"),
    ):
        close(getattr(tf.fit, ours), t[theirs], f"{w} trimfill {theirs}", "bias")
    close(tf.yi, t["yi"], f"{w} filled yi", "bias")
    close(tf.vi, t["vi"], f"{w} filled vi", "bias")
    assert list(tf.fill) == list(t["fill"])


@pytest.mark.parametrize("name", list(FIX["ranktest"]))
def test_ranktest_matches_metafor(name):
    e = FIX["ranktest"][name]
    rk = ranktest(e["yi"], e["vi"])
    close(rk.tau, e["tau"], f"{name} tau", "bias")
    close(rk.pval, e["pval"], f"{name} pval", "bias")


def test_bias_errors():
    with pytest.raises(EvidenceError, match="at least 3"):
        ranktest([0.1, 0.2], [0.01, 0.02])
    fit = rma([0.1, 0.2, 0.3, 0.4], [0.01, 0.02, 0.03, 0.04], mods=[1, 2, 3, 5])
    with pytest.raises(EvidenceError, match="without moderators"):
        trimfill(fit)
    with pytest.raises(EvidenceError, match="constant"):
        regtest(np.array([0.1, 0.2, 0.3]), np.array([0.01, 0.01, 0.01]))
