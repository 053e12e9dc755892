"""Parity of ``mixed_model`` with R lme4 1.1-31 (Debian r-cran-lme4).

The reference fits are made by ``lme4/generate.R`` (``make fixtures``) on the CSV files next to
them: lme4's sleepstudy (REML, ML, intercept only), a boundary case whose slope SD is estimated
at 0 (singular fit), and an unbalanced CP-like cohort (months x group + age + GMFCS).
Tolerances: 1e-6 relative on fixed effects and SEs, 1e-9 on logLik / criteria, 1e-5 on
variance components (achieved: about 1e-6 on the cohort ML intercept variance, < 1e-7
elsewhere), 1e-4 absolute on theta and the conditional modes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpstem.outcomes.ipd import mixed_model

HERE = Path(__file__).parent / "lme4"
CASES = sorted(p.stem for p in HERE.glob("*.json"))
REL = 1e-6
REL_VAR = 1e-5  # variances: flat directions of the likelihood; both optima agree to ~1e-6


def lme4_name(term: str) -> str:
    """patsy's term name in lme4's spelling: Intercept -> (Intercept), group[T.cells] -> groupcells."""
    if term == "Intercept":
        return "(Intercept)"
    return re.sub(r"\[T\.([^\]]+)\]", r"\1", term)


def fit(case: str):
    ref = json.loads((HERE / f"{case}.json").read_text())
    data = pd.read_csv(HERE / ref["data"])
    res = mixed_model(
        data,
        fixed=ref["fixed"],
        random=ref["random"],
        groups=ref["groups"],
        method=ref["method"],
        response=ref["response"],
    )
    return ref, res


def test_all_cases_present():
    assert len(CASES) == 7


@pytest.mark.parametrize("case", CASES)
def test_fixed_effects_equal_lme4(case):
    ref, res = fit(case)
    fe = res.fixed_effects.assign(term=res.fixed_effects.term.map(lme4_name)).set_index("term")
    fe = fe.loc[ref["terms"]]
    np.testing.assert_allclose(fe.estimate, ref["estimate"], rtol=REL, atol=1e-9)
    np.testing.assert_allclose(fe.se, ref["se"], rtol=REL)
    np.testing.assert_allclose(fe.t, ref["t"], rtol=REL, atol=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_likelihood_and_information_criteria_equal_lme4(case):
    ref, res = fit(case)
    assert res.log_likelihood == pytest.approx(ref["logLik"], rel=1e-9)
    assert res.aic == pytest.approx(ref["AIC"], rel=1e-9)
    assert res.bic == pytest.approx(ref["BIC"], rel=1e-9)
    crit = ref["REMLcrit"] if ref["method"] == "REML" else ref["deviance_ML"]
    assert res.criterion == pytest.approx(crit, rel=1e-9)
    assert res.n_obs == ref["nobs"]
    assert res.n_groups == ref["ngroups"]
    assert res.singular == ref["singular"]
    assert res.converged


@pytest.mark.parametrize("case", CASES)
def test_variance_components_equal_lme4(case):
    ref, res = fit(case)
    vc = ref["varcor"]
    np.testing.assert_allclose(res.theta, ref["theta"], atol=1e-4, rtol=0)
    assert res.sigma == pytest.approx(ref["sigma"], rel=REL_VAR)
    ours = res.variance_components
    variances = [v for v, v2 in zip(vc["vcov"], vc["var2"], strict=True) if v2 is None]
    np.testing.assert_allclose(ours.variance, variances, rtol=REL_VAR, atol=1e-10)
    corr = [s for s, v2 in zip(vc["sdcor"], vc["var2"], strict=True) if v2 is not None]
    if corr:
        # a zero slope SD leaves the correlation undefined (lme4 prints NaN)
        got = ours.correlation.dropna().to_numpy()
        want = [c for c in corr if c is not None and not np.isnan(c)]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_conditional_modes_equal_lme4(case):
    ref, res = fit(case)
    ours = res.random_effects.drop(columns=[ref["groups"]]).to_numpy()
    want = np.array(ref["ranef"], dtype=float).reshape(ours.shape[0], -1, order="C")
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
