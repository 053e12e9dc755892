"""effect_sizes against metafor's escalc, every measure, including zero cells."""

import numpy as np
import pytest

from cpstem.evidence import EvidenceError, effect_sizes
from tests.evidence.parity import close, load

CASES = load("escalc")["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_escalc_matches_metafor(case):
    opts = case["options"] or {}
    if isinstance(opts, list):
        opts = {}
    es = effect_sizes(case["measure"], **case["input"], **opts)
    close(es.yi, case["yi"], f"{case['id']} yi", "escalc")
    close(es.vi, case["vi"], f"{case['id']} vi", "escalc")


def test_bad_input_is_named():
    with pytest.raises(EvidenceError, match=r"ai\[1\] = -1: a count cannot be negative"):
        effect_sizes("OR", ai=[1, -1], bi=[5, 5], ci=[2, 2], di=[3, 3])
    with pytest.raises(EvidenceError, match="needs column"):
        effect_sizes("SMD", m1i=[1], m2i=[2])
    with pytest.raises(EvidenceError, match="measure 'XX'"):
        effect_sizes("XX", ai=[1])
    with pytest.raises(EvidenceError, match="events cannot exceed"):
        effect_sizes("RR", ai=[12], n1i=[10], ci=[1], n2i=[10])


def test_hedges_g_exact_correction():
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)); m = 10: 0.922745608
    # (R: metafor:::.cmicalc(10))
    es = effect_sizes("SMD", m1i=[1.0], sd1i=[1.0], n1i=[6], m2i=[0.0], sd2i=[1.0], n2i=[6])
    assert es.yi[0] == pytest.approx(0.922745608, abs=1e-9)
    assert np.isclose(es.vi[0], 1 / 6 + 1 / 6 + es.yi[0] ** 2 / 24)
