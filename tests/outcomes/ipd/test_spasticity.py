"""spasticity_change: hand-worked proportions, exact CIs, Wilcoxon, Tardieu; the ordinal model's
cluster-robust SEs against a hand-derived case and statsmodels' Logit; simulated effect."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd import simulate_spasticity, spasticity_change
from cpstem.outcomes.ipd.ordinal import fit_ordinal


def hand_table() -> pd.DataFrame:
    """Two children, hamstrings, both sides; MAS changes at 6 months -1, -2, -3, +4.

    Tardieu (R2 - R1) baseline 30 everywhere; at 6 months 20, 25, 30, 45 -> changes
    -10, -5, 0, +15 (mean 0, SD 10.80).
    """
    rows = []
    spec = [
        ("a", "left", 4, 3, 20),
        ("a", "right", 4, 2, 25),
        ("b", "left", 5, 2, 30),
        ("b", "right", 1, 5, 45),
    ]
    for child, side, mas0, mas6, dyn6 in spec:
        group = "cells" if child == "a" else "control"
        rows.append((child, group, "hamstrings", side, 0.0, mas0, 80.0, 110.0))
        rows.append((child, group, "hamstrings", side, 6.0, mas6, 110.0 - dyn6, 110.0))
    return pd.DataFrame(
        rows,
        columns=[
            "child",
            "group",
            "muscle",
            "side",
            "months",
            "mas",
            "tardieu_r1_deg",
            "tardieu_r2_deg",
        ],
    )


def test_hand_worked_proportions_median_wilcoxon_and_tardieu():
    res = spasticity_change(hand_table(), months=(6,))
    row = res.table.iloc[0]
    assert (row["n"], row["improved"], row["unchanged"], row["worse"]) == (4, 3, 0, 1)
    # Clopper-Pearson, 0 of 4: [0, 1 - 0.025^(1/4)]; 3 of 4 lower bound: Beta(0.025; 3, 2)
    assert row["unchanged_lower"] == 0.0
    assert row["unchanged_upper"] == pytest.approx(1 - 0.025**0.25, abs=1e-12)
    assert row["improved_lower"] == pytest.approx(0.19412044, abs=1e-7)
    assert row["median_change"] == -1.5  # median of -3, -2, -1, 4
    # signed ranks 1, 2, 3 negative, 4 positive: W+ = 4; exact two-sided
    # P = 2 * #{subsets of {1,2,3,4} with sum <= 4} / 16 = 2 * 7 / 16
    assert row["wilcoxon_statistic"] == 4
    assert row["wilcoxon_p"] == pytest.approx(0.875)
    # Tardieu: changes -10, -5, 0, 15 -> mean 0, t(3) CI +- 3.182446 * 10.8012 / 2
    sd = math.sqrt((100 + 25 + 0 + 225) / 3)
    assert row["tardieu_change"] == pytest.approx(0.0)
    assert row["tardieu_ci_upper"] == pytest.approx(3.182446305284263 * sd / 2, rel=1e-9)


def test_saturated_binary_model_hand_derived_sandwich():
    """Two categories, one binary covariate, one observation per cluster: the ordered logit is
    logistic regression, saturated, so the sandwich equals the model-based variance
    1/(n1 p1 q1) + 1/(n0 p0 q0) times G / (G - 1)."""
    y = np.array([1, 0, 0, 0, 1, 1, 0, 0])  # treated: 1 of 4 high; control: 2 of 4
    x = np.array([[1.0]] * 4 + [[0.0]] * 4)
    fit = fit_ordinal(y, x, np.arange(8))
    assert fit.beta[0] == pytest.approx(math.log(1 / 3) - 0.0, abs=1e-6)  # logit .25 - logit .5
    model_var = 1 / (4 * 0.25 * 0.75) + 1 / (4 * 0.5 * 0.5)
    assert fit.cov_model[0, 0] == pytest.approx(model_var, rel=1e-6)
    assert fit.cov_robust[0, 0] == pytest.approx(model_var * 8 / 7, rel=1e-6)


def test_cluster_sandwich_equals_statsmodels_logit_for_two_categories():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(60), 4)
    x = np.column_stack([np.repeat(rng.random(60) < 0.5, 4), rng.normal(size=240)]).astype(float)
    eta = 0.8 * x[:, 0] - 0.5 * x[:, 1] + np.repeat(rng.normal(size=60), 4)
    y = (eta + rng.logistic(size=240) > 0.3).astype(int)
    fit = fit_ordinal(y, x, g)
    ref = sm.Logit(y, sm.add_constant(x)).fit(
        disp=False, cov_type="cluster", cov_kwds={"groups": g, "use_correction": False}
    )
    np.testing.assert_allclose(fit.beta, ref.params[1:], rtol=1e-6)
    np.testing.assert_allclose(-fit.cuts[0], ref.params[0], rtol=1e-6)
    se = np.sqrt(np.diag(fit.cov_robust)[:2] * 59 / 60)  # without the G/(G-1) factor
    np.testing.assert_allclose(se, ref.bse[1:], rtol=1e-5)


def test_simulated_odds_ratio_is_recovered():
    table = simulate_spasticity(600, log_or=-1.0, seed=11)
    res = spasticity_change(table, months=(12,))
    comp = res.comparison.iloc[0]
    assert comp["n_children"] == 600
    assert comp["n_limbs"] == 600 * 3 * 2
    assert abs(comp["log_or"] - (-1.0)) < 3 * comp["se_robust"]
    assert comp["ci_lower"] < math.exp(-1.0) < comp["ci_upper"]
    # the simulated Tardieu dynamic component falls by 5 degrees in treated limbs only:
    # the all-limbs mean change is about -2.5 plus the MAS-driven part
    assert set(res.table["muscle"]) == {"gastrocnemius_soleus", "hamstrings", "hip_adductors"}


def test_clustering_widens_the_robust_se():
    table = simulate_spasticity(500, log_or=-1.0, seed=4, child_sd=1.5)
    comp = spasticity_change(table, months=(6,)).comparison.iloc[0]
    assert comp["se_robust"] > 1.2 * comp["se_model"]


def test_errors_are_coded():
    t = hand_table()
    with pytest.raises(OutcomeError) as err:
        spasticity_change(t.drop(columns="mas"))
    assert (err.value.code, err.value.field) == ("missing_column", "mas")
    bad = t.copy()
    bad.loc[0, "mas"] = 7
    with pytest.raises(OutcomeError) as err:
        spasticity_change(bad)
    assert (err.value.code, err.value.field) == ("out_of_range", "mas")
    bad = t.copy()
    bad["mas_label"] = ["3"] + [""] * (len(t) - 1)  # mas 4 is grade "3": right
    spasticity_change(bad, months=(6,))
    bad.loc[0, "mas_label"] = "2"
    with pytest.raises(OutcomeError) as err:
        spasticity_change(bad)
    assert (err.value.code, err.value.field) == ("inconsistent", "mas_label")
    bad = t.copy()
    bad.loc[0, "side"] = "both"
    with pytest.raises(OutcomeError) as err:
        spasticity_change(bad)
    assert (err.value.code, err.value.field) == ("invalid_choice", "side")


def test_newton_fit_equals_statsmodels_ordered_model():
    """Six categories, clustered limbs: the Newton-Raphson estimates and the model-based SEs
    are statsmodels' ``OrderedModel`` (BFGS to a 1e-10 gradient) to 1e-6."""
    import warnings

    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from cpstem.outcomes.ipd.spasticity import _pairs
    from cpstem.outcomes.ipd.table import validate_spasticity_table

    pairs, _ = _pairs(
        validate_spasticity_table(simulate_spasticity(400, seed=3, child_sd=1.0)), 12.0
    )
    muscles = pd.get_dummies(pairs["muscle"], drop_first=True, dtype=float).to_numpy()
    x = np.column_stack(
        [(pairs["group"] == "cells").to_numpy(float), pairs["mas_0"].to_numpy(float), muscles]
    )
    y = pairs["mas_1"].to_numpy(float)
    assert len(np.unique(y)) == 6
    fit = fit_ordinal(y, x, pairs["child"].to_numpy())
    codes = np.unique(y, return_inverse=True)[1]
    model = OrderedModel(codes, x, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-10)
    params = np.asarray(ref.params)
    np.testing.assert_allclose(fit.beta, params[: x.shape[1]], atol=1e-6)
    cuts = np.asarray(model.transform_threshold_params(params))[1:-1]
    np.testing.assert_allclose(fit.cuts, cuts, atol=1e-6)
    se = np.sqrt(np.diag(fit.cov_model))[: x.shape[1]]
    np.testing.assert_allclose(se, np.asarray(ref.bse)[: x.shape[1]], rtol=1e-5)
    assert fit.converged


def test_pairs_take_the_latest_baseline_and_the_nearest_follow_up():
    """Ties and gaps: two baselines (months -1 and 0: the later), follow-ups at 5 and 7 months
    (equally near 6: the earlier), a limb without a follow-up, a missing grade."""
    from cpstem.outcomes.ipd.spasticity import _pairs
    from cpstem.outcomes.ipd.table import validate_spasticity_table

    rows = [
        ("a", "cells", "hamstrings", "left", -1.0, 1),
        ("a", "cells", "hamstrings", "left", 0.0, 3),
        ("a", "cells", "hamstrings", "left", 7.0, 1),
        ("a", "cells", "hamstrings", "left", 5.0, 2),
        ("a", "cells", "hamstrings", "right", 0.0, 2),
        ("b", "control", "hip_adductors", "left", 0.0, 4),
        ("b", "control", "hip_adductors", "left", 6.0, np.nan),
        ("b", "control", "gastrocnemius_soleus", "left", 0.0, 4),
        ("b", "control", "gastrocnemius_soleus", "left", 6.5, 5),
    ]
    t = pd.DataFrame(rows, columns=["child", "group", "muscle", "side", "months", "mas"])
    pairs, _ = _pairs(validate_spasticity_table(t), 6.0)
    assert pairs[["child", "muscle", "side", "mas_0", "mas_1"]].values.tolist() == [
        ["a", "hamstrings", "left", 3, 2],
        ["b", "gastrocnemius_soleus", "left", 4, 5],
    ]
