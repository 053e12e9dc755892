"""The profiled deviance at lme4's theta equals lme4's criterion; the exact gradient equals
central differences of the deviance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import patsy
import pytest

from cpstem.outcomes.ipd import profiled

HERE = Path(__file__).parent / "lme4"


def stats(case: str) -> tuple[dict, profiled.BlockStats]:
    ref = json.loads((HERE / f"{case}.json").read_text())
    data = pd.read_csv(HERE / ref["data"])
    if "group" in data:
        data["group"] = pd.Categorical(data["group"], categories=["control", "cells"])
    x = np.asarray(patsy.dmatrix(ref["fixed"], data))
    z = np.asarray(patsy.dmatrix(ref["random"], data))
    codes = pd.factorize(data[ref["groups"]])[0]
    return ref, profiled.block_stats(x, data[ref["response"]].to_numpy(float), z, codes)


@pytest.mark.parametrize("case", ["sleepstudy_reml", "sleepstudy_ml", "cohort_reml"])
def test_deviance_at_lme4_theta_is_lme4_criterion(case):
    ref, st = stats(case)
    reml = ref["method"] == "REML"
    dev = profiled.solve(st, np.array(ref["theta"]), reml).deviance
    assert dev == pytest.approx(-2 * ref["logLik"], rel=1e-12)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("theta", [[1.0, 0.0, 1.0], [2.5, 0.3, 0.2], [3.0, -0.01, 0.0]])
def test_exact_gradient_equals_central_differences(reml, theta):
    _, st = stats("cohort_reml")
    th = np.array(theta)
    dev, grad = profiled.deviance_gradient(st, th, reml)
    assert dev == pytest.approx(profiled.solve(st, th, reml).deviance, rel=1e-13)
    numeric = profiled._gradient(lambda v: profiled.solve(st, v, reml).deviance, th)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-5)
