"""Group-sequential designs against R rpact 3.3.4 (fixtures made by rpact/generate.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cpstem.design import group_sequential

HERE = Path(__file__).parent / "rpact"
CASES = json.loads((HERE / "designs.json").read_text())
TOL = 1e-6
SPENDING = {
    "asOF": "obf",
    "asP": "pocock",
    "asHSD": "hsd",
    "asKD": "kd",
    "OF": "obf",
    "P": "pocock",
}
BETA = {"none": None, "bsOF": "obf", "bsP": "pocock", "bsHSD": "hsd", "bsKD": "kd"}


def _num(values) -> np.ndarray:
    return np.array(
        [
            np.inf if v == "Inf" else np.nan if v in ("NA", None) else v
            for v in np.atleast_1d(values)
        ],
        dtype=float,
    )


def _design(case):
    i = case["input"]
    return group_sequential(
        timing=i["timing"],
        alpha=i["alpha"],
        beta=i["beta"],
        sided=i["sided"],
        spending=SPENDING[i["type"]],
        gamma=i["gamma"],
        classic=i["type"] in ("OF", "P"),
        futility=BETA[i["beta_spending"]],
        gamma_futility=i["gamma_beta"],
        binding=i["binding"],
    )


def test_fixture_covers_the_reference_designs():
    ids = {c["id"] for c in CASES}
    assert len(CASES) == 198
    assert {c["input"]["k"] for c in CASES} == {2, 3, 4, 5}
    assert {c["input"]["sided"] for c in CASES} == {1, 2}
    assert {c["input"]["gamma"] for c in CASES if c["input"]["type"] == "asHSD"} == {-4, -2, 1}
    assert "k5_unequal_s1_asHSD-4_bsHSD-2_binding" in ids
    assert "k3_equal_s1_asOF_bsOF_nonbinding" in ids
    assert "k4_unequal_s2_asP_bsP_binding" in ids


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_rpact(case):
    d = _design(case)
    np.testing.assert_allclose(d.critical, _num(case["critical_values"]), rtol=0, atol=TOL)
    np.testing.assert_allclose(d.alpha_spent, _num(case["alpha_spent"]), rtol=0, atol=TOL)
    np.testing.assert_allclose(d.stage_levels, _num(case["stage_levels"]), rtol=0, atol=TOL)
    assert d.n_fixed_z == pytest.approx(case["n_fixed"], abs=1e-12)
    assert d.drift == pytest.approx(case["shift"], abs=TOL)
    assert d.inflation_factor == pytest.approx(case["inflation_factor"], abs=TOL)
    assert d.asn_h1 == pytest.approx(case["asn_h1"], abs=TOL)
    assert d.asn_h01 == pytest.approx(case["asn_h01"], abs=TOL)
    assert d.asn_h0 == pytest.approx(case["asn_h0"], abs=TOL)
    np.testing.assert_allclose(d.power, _num(case["power"]), rtol=0, atol=TOL)
    np.testing.assert_allclose(
        d.rejection_h1, _num(case["rejection_probabilities"]), rtol=0, atol=TOL
    )
    np.testing.assert_allclose(
        d.futility_h1, _num(case["futility_probabilities"]), rtol=0, atol=TOL
    )
    if case["futility_bounds"] is not None:
        np.testing.assert_allclose(
            d.futility_bounds, _num(case["futility_bounds"]), rtol=0, atol=TOL
        )
        np.testing.assert_allclose(d.beta_spent, _num(case["beta_spent"]), rtol=0, atol=TOL)
    else:
        assert np.all(np.isnan(d.futility_bounds))
        assert d.beta_spent is None
