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


def _batch_cases() -> list[dict]:
    """metafor's cases without moderators: one row of ``rma_batch`` each."""
    data = load("rma")["datasets"]
    return [c for c in load("rma")["cases"] if data[c["data"]]["mods"] is None]


@pytest.mark.parametrize(
    "case", _batch_cases(), ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}"
)
def test_batch_row_matches_metafor(case):
    """One dataset as a batch of one row (complete rows with positive variances take the
    blocked closed-form path for FE/DL/HS/HE): metafor's figures."""
    from tests.evidence.parity import close

    d = load("rma")["datasets"][case["data"]]
    b = rma_batch([d["yi"]], [d["vi"]], method=case["method"], test=case["test"])
    e = case["result"]
    w = f"{case['data']} {case['method']} {case['test']}"
    if b.status[0] > 1:  # metafor fits it; the batch reports a status (e.g. vi = 0 for DL)
        pytest.fail(f"{w}: status {b.messages()}")
    for ours, theirs in (
        ("estimate", "beta"),
        ("se", "se"),
        ("stat", "zval"),
        ("pval", "pval"),
        ("ci_lower", "ci.lb"),
        ("ci_upper", "ci.ub"),
        ("tau2", "tau2"),
        ("se_tau2", "se.tau2"),
        ("i2", "I2"),
        ("h2", "H2"),
        ("q", "QE"),
        ("q_pval", "QEp"),
        ("qm", "QM"),
        ("qm_pval", "QMp"),
    ):
        close(getattr(b, ours)[0], e[theirs], f"{w} {theirs}")


@pytest.mark.parametrize("method", ["FE", "DL", "HS", "HE"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_closed_form_blocks_equal_rma(method, test):
    """Complete rows over several blocks (k = 12: 2,730 rows a block): every row equals
    ``rma`` on it, at the block edges too."""
    rng = np.random.default_rng(11)
    n, k = 5600, 12
    V = rng.exponential(rng.uniform(0.01, 0.5, (n, 1)), (n, k)) + 1e-4
    Y = rng.normal(rng.uniform(-1, 1, (n, 1)), np.sqrt(V + rng.choice([0, 0.05, 0.5], (n, 1))))
    Y[5] = 0.3  # all equal: Q = 0
    b = rma_batch(Y, V, method=method, test=test)
    assert b.ok.all()
    for i in [0, 5, 2729, 2730, 2731, 5459, 5460, n - 1]:
        r = rma(Y[i], V[i], method=method, test=test)
        for f in FIELDS:
            theirs = getattr(r, f)
            if theirs is None or np.isnan(theirs):
                assert np.isnan(getattr(b, f)[i]), (i, f)
            else:
                assert getattr(b, f)[i] == pytest.approx(theirs, rel=1e-10, abs=1e-12), (i, f)


def test_chisq_series_equals_chdtrc():
    """The finite-series chi-square tail used for many Q tests on one df equals scipy's
    ``chdtrc`` (R's pchisq) to rounding, odd and even df, near 0 and in the far tail."""
    from scipy import special

    from cpstem.evidence.dist import chisq_sf

    rng = np.random.default_rng(5)
    for df in (1, 2, 3, 4, 19, 20, 59, 60):
        x = np.concatenate([rng.uniform(0, 4 * df + 60, 400), [0.0, 1e-12, 599.0, 700.0]])
        ours, ref = chisq_sf(x, float(df)), special.chdtrc(df, x)
        assert np.allclose(ours, ref, rtol=1e-12, atol=0), df
    # R 4.2.2: pchisq(30, 19, lower.tail = FALSE) = 0.05179845889
    assert chisq_sf(np.full(100, 30.0), 19.0)[0] == pytest.approx(0.05179845889, rel=1e-9)


def test_t_test_p_values_on_first_use():
    """With the knha test the p values are computed when first read, and are then the same
    arrays (read-only) in the attributes, ``row``, ``to_frame`` and ``to_dict``."""
    from scipy import stats

    rng = np.random.default_rng(2)
    V = rng.uniform(0.01, 0.2, (50, 8))
    Y = rng.normal(0.3, np.sqrt(V + 0.05))
    b = rma_batch(Y, V, method="DL", test="knha")
    assert b._pvalues.values is None  # nothing computed yet
    # two-sided t test on k - 1 = 7 df: 2 * pt(-|t|, 7) (R), here via scipy's t distribution
    expected = 2 * stats.t.sf(np.abs(b.stat), 7)
    assert b.pval == pytest.approx(expected, rel=1e-12)
    assert b.pval is b.pval and not b.pval.flags.writeable
    assert np.array_equal(b.qm_pval, b.pval)
    assert b.to_frame()["pval"].to_numpy() == pytest.approx(expected, rel=1e-12)
    d = b.to_dict()
    assert d["pval"] == pytest.approx(list(expected), rel=1e-12) and "_pvalues" not in d
    assert b.row(3)["pval"] == pytest.approx(expected[3], rel=1e-12)
    z = rma_batch(Y, V, method="DL")
    assert z._pvalues.values is not None  # z tests: computed with the fit (cheap)
    assert z.pval == pytest.approx(2 * stats.norm.sf(np.abs(z.stat)), rel=1e-12)
