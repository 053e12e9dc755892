"""rma_batch gives rma's numbers row by row, including missing studies and fall-backs."""

import numpy as np
import pytest

from cpstem.evidence import EvidenceError, rma, rma_batch
from cpstem.evidence.estimators import METHODS
from tests.evidence.parity import load

FIELDS = (
    "estimate",
    "se",
    "stat",
    "pval",
    "ci_lower",
    "ci_upper",
    "tau2",
    "se_tau2",
    "i2",
    "h2",
    "q",
    "q_pval",
    "qm",
    "qm_pval",
    "pi_lower",
    "pi_upper",
)


def _random_rows(n=60, k=12, seed=3):
    rng = np.random.default_rng(seed)
    V = rng.exponential(rng.uniform(0.01, 0.5, (n, 1)), (n, k))
    tau2 = rng.choice([0.0, 0.05, 0.5], (n, 1))
    Y = rng.normal(rng.uniform(-1, 1, (n, 1)), np.sqrt(V + tau2))
    Y[rng.random((n, k)) < 0.15] = np.nan  # missing studies
    Y[0, 1:] = np.nan  # k = 1
    Y[1, 2:] = np.nan  # k = 2
    Y[2] = 0.3  # all equal
    return Y, V


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_batch_equals_rma_row_by_row(method, test):
    Y, V = _random_rows()
    b = rma_batch(Y, V, method=method, test=test)
    assert b.ok.all()
    for i in range(Y.shape[0]):
        keep = ~np.isnan(Y[i])
        r = rma(Y[i][keep], V[i][keep], method=method, test=test)
        assert b.k[i] == r.k
        for f in FIELDS:
            ours = getattr(b, f)[i]
            theirs = getattr(r, f)
            if theirs is None or (isinstance(theirs, float) and np.isnan(theirs)):
                assert np.isnan(ours), (i, f)
            else:
                assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-12), (i, f)


def test_batch_on_nonconvergent_fixtures():
    data = load("rma")["datasets"]
    ids = [k for k in data if k.startswith("nonconv") or k.startswith("random_k")]
    width = max(len(data[i]["yi"]) for i in ids)
    Y = np.full((len(ids), width), np.nan)
    V = np.full((len(ids), width), np.nan)
    for r, i in enumerate(ids):
        Y[r, : len(data[i]["yi"])] = data[i]["yi"]
        V[r, : len(data[i]["vi"])] = data[i]["vi"]
    for method in ("REML", "ML", "EB", "PM"):
        b = rma_batch(Y, V, method=method)
        for r, i in enumerate(ids):
            single = rma(data[i]["yi"], data[i]["vi"], method=method)
            assert b.tau2[r] == pytest.approx(single.tau2, rel=1e-12, abs=1e-15)
            assert b.estimate[r] == pytest.approx(single.estimate, rel=1e-12)
        assert (b.status == 1).sum() >= (1 if method in ("REML", "EB") else 0)


def test_batch_status_and_errors():
    Y = np.array([[0.1, 0.2, np.nan], [np.nan] * 3, [0.1, 0.5, 0.3]])
    V = np.array([[0.01, 0.02, 0.03], [0.1] * 3, [0.0, 0.02, 0.03]])
    b = rma_batch(Y, V, method="DL")
    assert list(b.status) == [0, 2, 3]
    assert np.isnan(b.estimate[1]) and np.isnan(b.estimate[2])
    assert "no studies" in b.messages()[1]
    assert "fitted: 1" in b.summary()
    with pytest.raises(EvidenceError, match="same shape"):
        rma_batch(np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.raises(EvidenceError, match="cannot be negative"):
        rma_batch(np.zeros((1, 2)), [[0.1, -0.1]])
