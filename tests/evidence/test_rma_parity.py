"""rma against metafor: every method x test on classic, random and boundary datasets."""

from __future__ import annotations

import numpy as np
import pytest

from cpstem.evidence import rma
from tests.evidence.parity import close, load

CASES = load("rma")["cases"]
DATA = load("rma")["datasets"]


def _id(case: dict) -> str:
    return f"{case['data']}-{case['method']}-{case['test']}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rma_matches_metafor(case):
    d = DATA[case["data"]]
    mods = None if d["mods"] is None else np.array(d["mods"], dtype=float)
    res = rma(d["yi"], d["vi"], method=case["method"], test=case["test"], mods=mods)
    e = case["result"]
    w = _id(case)
    close(res.beta, e["beta"], f"{w} beta")
    close(res.se, e["se"], f"{w} se")
    close(res.stat, e["zval"], f"{w} stat")
    close(res.pval, e["pval"], f"{w} pval")
    close(res.ci_lower, e["ci.lb"], f"{w} ci.lb")
    close(res.ci_upper, e["ci.ub"], f"{w} ci.ub")
    close(res.tau2, e["tau2"], f"{w} tau2")
    close(res.se_tau2, e["se.tau2"], f"{w} se.tau2")
    close(res.i2, e["I2"], f"{w} I2")
    close(res.h2, e["H2"], f"{w} H2")
    close(res.q, e["QE"], f"{w} QE")
    close(res.q_pval, e["QEp"], f"{w} QEp")
    close(res.qm, e["QM"], f"{w} QM")
    close(res.qm_pval, e["QMp"], f"{w} QMp")
    close(res.s2w, e["s2w"], f"{w} s2w")
    assert res.k == e["k"] and res.p == e["p"]
    if "R2" in e and e["R2"] is not None:
        close(res.r2, e["R2"], f"{w} R2")
    else:
        assert res.r2 is None
    fs = res.fit_stats
    for ours, theirs in (
        ("ll_ml", "ll.ML"),
        ("ll_reml", "ll.REML"),
        ("dev_ml", "dev.ML"),
        ("aic_ml", "AIC.ML"),
        ("bic_ml", "BIC.ML"),
        ("aicc_ml", "AICc.ML"),
        ("aic_reml", "AIC.REML"),
        ("bic_reml", "BIC.REML"),
        ("aicc_reml", "AICc.REML"),
    ):
        close(fs[ours], e[theirs], f"{w} {theirs}")
    close(res.weights, e["weights"], f"{w} weights")
    if "confint" in e:
        ci = res.confint()
        for ours, theirs in (("tau2", "tau2"), ("tau", "tau"), ("i2", "I2"), ("h2", "H2")):
            close(getattr(ci, ours), e["confint"][theirs], f"{w} confint {theirs}")
    pr = res.predict()
    close(pr.pred, e["pred"], f"{w} pred")
    close(pr.se, e["pred.se"], f"{w} pred.se")
    close(pr.ci_lower, e["pred.ci.lb"], f"{w} pred.ci.lb")
    close(pr.ci_upper, e["pred.ci.ub"], f"{w} pred.ci.ub")
    # metafor's predict gives no prediction interval for FE models: it equals the CI
    pi_lb = e.get("pi.lb", e["pred.ci.lb"])
    pi_ub = e.get("pi.ub", e["pred.ci.ub"])
    close(pr.pi_lower, pi_lb, f"{w} pi.lb")
    close(pr.pi_upper, pi_ub, f"{w} pi.ub")
    if res.int_only:
        close(res.pi_lower, pi_lb, f"{w} pi_lower")
        close(res.pi_upper, pi_ub, f"{w} pi_upper")
        close(res.estimate, e["beta"], f"{w} estimate")
