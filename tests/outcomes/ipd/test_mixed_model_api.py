"""mixed_model: its result object, the contract columns and the coded errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.ipd import mixed_model

HERE = Path(__file__).parent / "lme4"


def cohort() -> pd.DataFrame:
    return pd.read_csv(HERE / "cohort.csv")


def test_default_formula_on_the_contract_columns_and_result_shape():
    res = mixed_model(cohort())  # months * group + age_baseline_years, (months | child), REML
    assert res.formula == ("gmfm66 ~ months * group + age_baseline_years + (months | child)")
    assert set(res.fixed_effects.term) == {
        "Intercept", "group[T.cells]", "months", "months:group[T.cells]", "age_baseline_years",
    }  # fmt: skip
    assert list(res.fixed_effects.columns) == [
        "term", "estimate", "se", "t", "ci_lower", "ci_upper",
    ]  # fmt: skip
    assert list(res.variance_components.group) == ["child", "child", "Residual"]
    assert res.n_groups == 240
    assert len(res.random_effects) == 240
    # Wald 95 % CI
    fe = res.fixed_effects
    np.testing.assert_allclose(fe.ci_upper - fe.estimate, 1.959963984540054 * fe.se)


def test_formula_with_response_and_ml_and_level():
    a = mixed_model(cohort(), fixed="gmfm66 ~ months", random="1", method="ML", level=0.9)
    b = mixed_model(cohort(), fixed="months", random="1", method="ML", level=0.9)
    assert a.log_likelihood == b.log_likelihood
    assert len(a.variance_components) == 2
    fe = a.fixed_effects
    np.testing.assert_allclose(fe.ci_upper - fe.estimate, 1.6448536269514722 * fe.se)


def test_result_is_immutable_and_serialises():
    res = mixed_model(cohort(), random="1")
    with pytest.raises(AttributeError):
        res.sigma = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.theta[0] = 0.0
    with pytest.raises(ValueError):
        res.fixed_effects["estimate"].to_numpy()[0] = 0.0
    data = json.loads(json.dumps(res.to_dict()))
    assert data["method"] == "REML"
    assert data["fixed_effects"][0]["term"] == "Intercept"
    assert res.to_frame().equals(res.fixed_effects)
    assert "Linear mixed model fit by REML" in res.summary()


def test_missing_rows_are_dropped_like_na_omit():
    data = cohort()
    data.loc[[0, 5], "gmfm66"] = np.nan
    res = mixed_model(data, random="1")
    assert res.n_obs == len(data) - 2


def test_errors_are_coded():
    with pytest.raises(OutcomeError) as err:
        mixed_model(cohort(), method="OLS")  # type: ignore[arg-type]
    assert (err.value.code, err.value.field) == ("invalid_choice", "method")
    with pytest.raises(OutcomeError) as err:
        mixed_model(cohort().drop(columns="age_baseline_years"))
    assert (err.value.code, err.value.field) == ("missing_column", "age_baseline_years")
    with pytest.raises(OutcomeError) as err:
        mixed_model(cohort(), groups="site")
    assert (err.value.code, err.value.field) == ("missing_column", "site")
    with pytest.raises(OutcomeError) as err:
        mixed_model(cohort().assign(gmfcs=7), fixed="months + gmfcs")
    assert (err.value.code, err.value.field) == ("out_of_range", "gmfcs")
    with pytest.raises(OutcomeError) as err:
        mixed_model(cohort().assign(m2=lambda f: 2 * f.months), fixed="months + m2")
    assert (err.value.code, err.value.field) == ("rank_deficient", "fixed")
    with pytest.raises(OutcomeError) as err:
        mixed_model(cohort(), fixed="months +")
    assert (err.value.code, err.value.field) == ("invalid_formula", "fixed")


def test_results_use_the_shared_result_base():
    from cpstem.results import Result

    res = mixed_model(cohort(), random="1")
    assert isinstance(res, Result)
    data = res.to_dict()
    assert data["n_groups"] == res.n_groups
    assert isinstance(data["theta"], list)
    assert isinstance(data["variance_components"], list)
