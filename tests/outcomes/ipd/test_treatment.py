"""treatment_effect: closed-form checks, the E-value, and a coverage simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.ipd import (
    OBSERVATIONAL_WARNING,
    e_value_rr,
    e_value_smd,
    love_plot,
    simulate_cohort,
    treatment_effect,
)
from tests.outcomes.ipd.worked import worked_table


def two_group_table() -> pd.DataFrame:
    """Six children at baseline and 12 months; changes 4, 6, 8 (cells) and 1, 2, 6 (control)."""
    changes = {"t1": 4, "t2": 6, "t3": 8, "c1": 1, "c2": 2, "c3": 6}
    rows = []
    for child, ch in changes.items():
        group = "cells" if child.startswith("t") else "control"
        for months, score in ((0, 40.0), (12, 40.0 + ch)):
            rows.append((child, group, months, score, 40.0, 3, 5.0))
    return pd.DataFrame(
        rows,
        columns=[
            "child", "group", "months", "gmfm66", "gmfm66_baseline", "gmfcs",
            "age_baseline_years",
        ],
    )  # fmt: skip


def test_unadjusted_ancova_is_the_difference_in_means_with_welch_se():
    res = treatment_effect(two_group_table(), adjust=(), cov_type="HC2")
    assert res.estimate == pytest.approx(6 - 3)
    # HC2 SE of a two-group OLS contrast = sqrt(s1^2/n1 + s0^2/n0): variances 4 and 7
    assert res.se == pytest.approx(math.sqrt(4 / 3 + 7 / 3))
    assert (res.n_treated, res.n_control) == (3, 3)
    assert res.ci_lower == pytest.approx(3 - 1.959963984540054 * res.se)
    assert res.warning == OBSERVATIONAL_WARNING
    assert "Observational evidence" in res.summary()


def test_iptw_without_covariates_is_the_difference_in_means():
    res = treatment_effect(two_group_table(), adjust=(), method="iptw")
    assert res.estimate == pytest.approx(3.0)
    np.testing.assert_allclose(res.weights, 1.0)
    # HC0 SE of the contrast = sqrt(sum of squared deviations / n^2 per group)
    assert res.se == pytest.approx(math.sqrt(8 / 9 + 14 / 9))


def test_e_value_published_example_and_smd():
    # VanderWeele & Ding 2017: RR 3.9 -> E-value 3.9 + sqrt(3.9 x 2.9) = 7.26
    assert e_value_rr(3.9) == pytest.approx(3.9 + math.sqrt(3.9 * 2.9))
    assert e_value_rr(1 / 3.9) == pytest.approx(e_value_rr(3.9))
    assert e_value_rr(1.0) == 1.0
    rr = math.exp(0.91 * 0.5)
    assert e_value_smd(0.5) == pytest.approx(rr + math.sqrt(rr * (rr - 1)))


def test_e_value_of_ci_is_one_when_ci_covers_zero():
    res = treatment_effect(two_group_table(), adjust=())
    assert res.ci_lower < 0 < res.ci_upper
    assert res.e_value_ci == 1.0


def test_iptw_balances_the_covariates_and_plots():
    cohort = simulate_cohort(400, visits=(0, 12), seed=3)
    res = treatment_effect(cohort, method="iptw")
    bal = res.balance.set_index("covariate")
    assert (bal.smd_before.abs() > 0.2).all()  # the simulator confounds on all three
    assert (bal.smd_after.abs() < 0.1).all()
    fig = love_plot(res.balance)
    assert len(fig.axes[0].get_yticklabels()) == 3


def test_errors():
    with pytest.raises(OutcomeError) as err:
        treatment_effect(two_group_table(), method="matching")  # type: ignore[arg-type]
    assert (err.value.code, err.value.field) == ("invalid_choice", "method")
    with pytest.raises(OutcomeError) as err:
        treatment_effect(worked_table().assign(group="cells"), adjust=())
    assert (err.value.code, err.value.field) == ("too_few_children", "group")
    with pytest.raises(OutcomeError) as err:
        treatment_effect(two_group_table(), outcome="gmfm88")
    assert (err.value.code, err.value.field) == ("invalid_choice", "outcome")


def test_unbiased_and_95_percent_coverage_over_200_simulated_cohorts():
    """200 confounded cohorts of 200 children (true effect 3 GMFM-66 points at 12 months):
    the naive difference is biased, ANCOVA and IPTW are not, and their 95 % CIs cover 3 in
    ~95 % (IPTW's sandwich SE treats the weights as known: conservative, so up to 100 %)."""
    truth, n_sim = 3.0, 200
    est = {"ancova": [], "iptw": []}
    cover = {"ancova": 0, "iptw": 0}
    naive = []
    for i in range(n_sim):
        cohort = simulate_cohort(
            200, visits=(0, 12), effect=truth, seed=10_000 + i, confounding=0.5
        )
        for method in est:
            r = treatment_effect(cohort, method=method)
            est[method].append(r.estimate)
            cover[method] += r.ci_lower <= truth <= r.ci_upper
        at12 = cohort[cohort.months > 0]
        change = at12.gmfm66 - at12.gmfm66_baseline
        naive.append(change[at12.group == "cells"].mean() - change[at12.group == "control"].mean())
    # the naive difference is confounded by severity, age and baseline
    assert abs(np.mean(naive) - truth) > 0.3
    for method in est:
        values = np.asarray(est[method])
        mc_se = values.std(ddof=1) / math.sqrt(n_sim)
        assert abs(values.mean() - truth) < 3 * mc_se, method
        # binomial(200, 0.95): 99.9 % of runs between 181 and 197
        upper = 197 if method == "ancova" else 200
        assert 181 <= cover[method] <= upper, (method, cover[method])


def test_text_covariate_enters_as_indicators():
    cohort = simulate_cohort(300, visits=(0, 12), seed=8)
    res = treatment_effect(cohort, adjust=("gmfm66_baseline", "site"))
    assert list(res.balance.covariate) == [
        "gmfm66_baseline", "site[site B]", "site[site C]", "site[site D]",
    ]  # fmt: skip
    # the same model written out by hand with statsmodels' formula interface
    import statsmodels.formula.api as smf

    at12 = cohort[cohort.months > 0].assign(
        change=lambda f: f.gmfm66 - f.gmfm66_baseline, cells=lambda f: f.group == "cells"
    )
    fit = smf.ols("change ~ cells + gmfm66_baseline + C(site)", at12).fit(cov_type="HC3")
    assert res.estimate == pytest.approx(fit.params["cells[T.True]"], rel=1e-10)
    assert res.se == pytest.approx(fit.bse["cells[T.True]"], rel=1e-10)


def test_e_value_of_a_non_positive_risk_ratio_is_a_coded_error() -> None:
    from cpstem.outcomes import OutcomeError
    from cpstem.outcomes.ipd.evalue import e_value_rr

    with pytest.raises(OutcomeError) as exc:
        e_value_rr(0.0)
    assert (exc.value.code, exc.value.field) == ("out_of_range", "rr")
    # VanderWeele & Ding 2017: RR 3.9 -> E = 3.9 + sqrt(3.9 * 2.9) = 7.26
    assert e_value_rr(3.9) == pytest.approx(7.263, abs=1e-3)


def test_a_constant_or_redundant_covariate_is_left_out_and_named():
    """GMFCS when one level is selected (a dashboard filter): constant, so collinear with the
    intercept; before, OLS fell back to a pseudo-inverse and warned, and the propensity model
    could not be fitted. Checked against statsmodels' formula fit without the column."""
    import warnings

    import statsmodels.formula.api as smf

    cohort = simulate_cohort(300, visits=(0, 12), seed=8)
    one_level = cohort[cohort.gmfcs == 2]
    at12 = one_level[one_level.months > 0].assign(
        change=lambda f: f.gmfm66 - f.gmfm66_baseline, cells=lambda f: f.group == "cells"
    )
    fit = smf.ols("change ~ cells + gmfm66_baseline + age_baseline_years", at12).fit(cov_type="HC3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rank-deficiency warning any more
        res = treatment_effect(one_level)
        iptw = treatment_effect(one_level, method="iptw")
    assert res.dropped == iptw.dropped == ("gmfcs",)
    assert res.estimate == pytest.approx(fit.params["cells[T.True]"], rel=1e-10)
    assert res.se == pytest.approx(fit.bse["cells[T.True]"], rel=1e-10)
    assert list(res.balance.covariate) == ["gmfm66_baseline", "age_baseline_years"]
    assert "not adjusted for gmfcs" in res.summary()
    # a site that is the group (all treated in one site, controls in another): not an
    # adjustment the data allow; left out and named rather than split by a pseudo-inverse
    table = two_group_table().assign(
        site=lambda f: np.where(f.group == "cells", "site A", "site B")
    )
    res = treatment_effect(table, adjust=("site",), cov_type="HC2")
    assert res.dropped == ("site[site B]",)
    assert res.estimate == pytest.approx(3.0)
    assert treatment_effect(two_group_table(), adjust=()).dropped == ()
