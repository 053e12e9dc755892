"""rma_mv and robust against metafor 3.8-1 / clubSandwich 0.5.8 (multilevel.json, made by
metafor/synthesis.R). Tolerance: relative 1e-5 (absolute 1e-8 near 0): metafor's rma.mv
stops nlminb at its default relative tolerance, cpstem iterates to the exact optimum; the
largest difference seen is 2.5e-6 (a p value), variance components at the boundary are
1e-11 in metafor and 0 here."""

from __future__ import annotations

import numpy as np
import pytest

from cpstem.evidence import rma
from cpstem.evidence.multilevel import rma_mv, vcalc
from cpstem.evidence.robust import robust
from tests.evidence.parity import load, num

FIX = load("multilevel")
REL = 1e-5


def _close(a, e, what):
    a = np.atleast_1d(np.asarray(a, dtype=float)).ravel()
    e = num(e) if not isinstance(e, np.ndarray) else e
    assert a.shape == e.shape, what
    assert np.all(np.abs(a - e) <= np.maximum(REL * np.abs(e), 1e-8)), f"{what}: {a} vs {e}"


def _id(c):
    return f"{c['data']}-{c['method']}-{c['mods']}-{c.get('test')}-{c.get('rho')}"


def _fit(c):
    d = FIX["datasets"][c["data"]]
    return d, rma_mv(
        d["yi"],
        d["vi"],
        cluster=d["cluster"],
        es=d["es"],
        method=c["method"],
        test=c["test"],
        mods=np.array(d["x"]) if c["mods"] else None,
        rho=c.get("rho"),
    )


CASES = FIX["mv"]


@pytest.mark.parametrize("c", CASES, ids=_id)
def test_rma_mv(c):
    _, r = _fit(c)
    e = c["result"]
    for name, val in (
        ("beta", r.beta),
        ("se", r.se),
        ("zval", r.stat),
        ("pval", r.pval),
        ("ci.lb", r.ci_lower),
        ("ci.ub", r.ci_upper),
        ("sigma2", r.sigma2),
        ("QE", r.q),
        ("QEp", r.q_pval),
        ("QM", r.qm),
        ("QMp", r.qm_pval),
        ("vb", r.vb),
    ):
        _close(val, e[name], f"{name}")
    for stat in ("ll", "dev", "AIC", "BIC", "AICc"):
        for m in ("ML", "REML"):
            _close(r.fit_stats[f"{stat.lower()}_{m.lower()}"], e[f"{stat}.{m}"], f"{stat}.{m}")


@pytest.mark.parametrize(
    "c",
    [c for c in CASES if "robust_cr2" in c],
    ids=_id,
)
@pytest.mark.parametrize("kind", ["CR2", "CR1"])
def test_robust_mv(c, kind):
    d, r = _fit(c)
    _check_robust(robust(r, d["cluster"], vcov=kind), c[f"robust_{kind.lower()}"])


@pytest.mark.parametrize("c", FIX["uni"], ids=_id)
@pytest.mark.parametrize("kind", ["CR2", "CR1"])
def test_robust_uni(c, kind):
    d = FIX["datasets"][c["data"]]
    r = rma(d["yi"], d["vi"], method=c["method"], mods=np.array(d["x"]) if c["mods"] else None)
    _close(r.tau2, c["tau2"], "tau2")
    _check_robust(robust(r, d["cluster"], vcov=kind), c[f"robust_{kind.lower()}"])


def _check_robust(rb, e):
    for name, val in (
        ("se", rb.se),
        ("tval", rb.stat),
        ("pval", rb.pval),
        ("ci.lb", rb.ci_lower),
        ("ci.ub", rb.ci_upper),
        ("vb", rb.vb),
        ("QM", rb.qm),
        ("QMp", rb.qm_pval),
        ("QMdf", rb.qm_df),
    ):
        _close(val, e[name], name)
    df = num(e["df"])
    _close(rb.df[: df.size], df, "df")


def test_vcalc_hand_worked():
    V = vcalc([0.04, 0.09, 0.01], ["a", "a", "b"], rho=0.5)
    assert V[0, 1] == pytest.approx(0.5 * 0.2 * 0.3)
    assert V[0, 2] == 0.0
    assert V[2, 2] == pytest.approx(0.01)


def test_result_serialises():
    c = CASES[0]
    _, r = _fit(c)
    d = r.to_dict()
    assert d["sigma2"] == pytest.approx(num(c["result"]["sigma2"]).tolist(), rel=REL)
    assert "Multilevel" in str(r)
    assert list(r.coef_frame().columns)[:2] == ["estimate", "se"]
