"""profile, baujat and gosh against metafor 3.8-1 (diagnostics.json, metafor/synthesis.R):
relative 1e-6 (absolute 1e-8 near 0)."""

from __future__ import annotations

import numpy as np
import pytest

from cpstem.evidence import rma
from cpstem.evidence.diagnostics import baujat, gosh, profile
from tests.evidence.parity import close, load, num

FIX = load("diagnostics")


@pytest.mark.parametrize("c", FIX["cases"], ids=lambda c: f"{c['data']}-{c['method']}")
def test_profile_and_baujat(c, tmp_path):
    d = FIX["datasets"][c["data"]]
    res = rma(d["yi"], d["vi"], method=c["method"])
    b = baujat(res)
    close(b.x, c["baujat"]["x"], "baujat x", "diagnostics")
    close(b.y, c["baujat"]["y"], "baujat y", "diagnostics")
    if "profile" in c:
        pr = profile(res, tau2=num(c["profile"]["tau2"]))
        close(pr.ll, c["profile"]["ll"], "profile ll", "diagnostics")
        assert pr.ll.max() <= pr.ll_max + 1e-9  # the estimate maximises the likelihood
        pr.plot(tmp_path / "profile.png")
        assert (tmp_path / "profile.png").stat().st_size > 1000


@pytest.mark.parametrize("c", FIX["gosh"], ids=lambda c: f"{c['data']}-{c['method']}")
def test_gosh(c, tmp_path):
    res = rma(c["yi"], c["vi"], method=c["method"])
    g = gosh(res)
    assert g.subset.size == 2 ** len(c["yi"]) - 1
    order = np.argsort(num(c["subset"]))
    assert np.array_equal(g.subset, num(c["subset"])[order].astype(np.int64))
    for name, ours in (
        ("estimate", g.estimate),
        ("tau2", g.tau2),
        ("I2", g.i2),
        ("H2", g.h2),
        ("QE", g.q),
    ):
        close(ours, num(c[name])[order], f"gosh {name}", "diagnostics")
    g.plot(tmp_path / "gosh.png")


def test_gosh_progress_reports_every_subset_and_changes_nothing():
    """``gosh(progress=...)`` is told how many subsets are done (monotone, ending at 2^k - 1)
    and gives the same fits as without it."""
    rng = np.random.default_rng(4)
    v = rng.uniform(0.01, 0.2, 13)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    fit = rma(y, v, method="REML")
    calls: list[tuple[int, int]] = []
    g = gosh(fit, progress=lambda done, total: calls.append((done, total)))
    plain = gosh(fit)
    assert calls[0] == (0, 2**13 - 1) and calls[-1] == (2**13 - 1, 2**13 - 1)
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert np.array_equal(g.subset, plain.subset)
    assert np.array_equal(g.tau2, plain.tau2) and np.array_equal(g.k, plain.k)
    # the subset with every study is the model itself
    full = int(np.flatnonzero(g.subset == 2**13 - 1)[0])
    assert g.estimate[full] == pytest.approx(fit.estimate, rel=1e-10)
    assert g.k[full] == 13
