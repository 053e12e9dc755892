"""rma_mh and rma_peto against metafor's rma.mh and rma.peto (sparse tables included)."""

import pytest

from cpstem.evidence import EvidenceError, rma_mh, rma_peto
from tests.evidence.parity import close, load, num

CASES = load("mh")["cases"]
TESTS = {
    "CO": None,
    "MH": "CMH",
    "MHp": "CMH p",
    "BD": "Breslow-Day",
    "BDp": "Breslow-Day p",
    "TA": "Tarone",
    "TAp": "Tarone p",
}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_mh_peto_match_metafor(case):
    cols = {key: num(val) for key, val in case["input"].items()}
    res = rma_mh(case["measure"], **cols) if case["fun"] == "mh" else rma_peto(**cols)
    e = case["result"]
    w = case["id"]
    close(res.estimate, e["beta"], f"{w} beta", "mh")
    close(res.se, e["se"], f"{w} se", "mh")
    close(res.stat, e["zval"], f"{w} zval", "mh")
    close(res.pval, e["pval"], f"{w} pval", "mh")
    close(res.ci_lower, e["ci.lb"], f"{w} ci.lb", "mh")
    close(res.ci_upper, e["ci.ub"], f"{w} ci.ub", "mh")
    close(res.q, e["QE"], f"{w} QE", "mh")
    close(res.q_pval, e["QEp"], f"{w} QEp", "mh")
    close(res.i2, e["I2"], f"{w} I2", "mh")
    close(res.h2, e["H2"], f"{w} H2", "mh")
    assert res.k == e["k"] and res.k_yi == e["k.yi"]
    for theirs, ours in TESTS.items():
        if ours and theirs in e:
            close(res.tests.get(ours, float("nan")), e[theirs], f"{w} {theirs}", "mh")
    assert "method" in res.summary()


def test_peto_impossible():
    with pytest.raises(EvidenceError, match="Peto's method cannot be used"):
        rma_peto(ai=[0, 0], bi=[10, 12], ci=[0, 0], di=[11, 9])
    with pytest.raises(EvidenceError, match="Mantel-Haenszel pools"):
        rma_mh("SMD", ai=[1], bi=[2], ci=[3], di=[4])
