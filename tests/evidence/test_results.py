"""Evidence results serialise themselves (to_dict, to_frame) and are immutable; coded errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cpstem import evidence as ev
from cpstem.evidence import EvidenceError
from tests.evidence.parity import close, load

RMA = load("rma")
BCG = RMA["datasets"]["bcg"]
INFL = load("influence")["cases"]


def _case(data: str, method: str, test: str = "z") -> dict:
    return next(
        c for c in RMA["cases"] if c["data"] == data and c["method"] == method and c["test"] == test
    )


@pytest.fixture(scope="module")
def bcg():
    return ev.rma(BCG["yi"], BCG["vi"], method="REML")


def test_rma_frames_carry_metafors_numbers(bcg):
    e = _case("bcg", "REML")["result"]
    studies = bcg.to_frame()
    assert list(studies.columns) == ["study", "yi", "vi", "sei", "ci_lower", "ci_upper", "weight"]
    assert list(studies["study"][:2]) == ["Study 1", "Study 2"]
    close(studies["yi"].to_numpy(), np.array(BCG["yi"]), "frame yi")
    close(studies["weight"].to_numpy(), e["weights"], "frame weight")
    # the study's own 95% CI: yi -/+ 1.959964 sei
    z = 1.959963984540054
    close(studies["ci_lower"].to_numpy(), np.array(BCG["yi"]) - z * np.sqrt(BCG["vi"]), "ci.lb")
    coefs = bcg.coef_frame()
    assert list(coefs.columns) == ["estimate", "se", "stat", "pval", "ci_lower", "ci_upper"]
    assert list(coefs.index) == ["intrcpt"]
    close(coefs.loc["intrcpt", "estimate"], e["beta"], "coef estimate")
    close(coefs.loc["intrcpt", "se"], e["se"], "coef se")
    close(coefs.loc["intrcpt", "ci_upper"], e["ci.ub"], "coef ci.ub")


def test_effect_sizes_frame_with_a_level_adds_wald_intervals():
    # Gu 2020 fever 7/19 vs 4/20: log RR = log((7/19)/(4/20)), var = 1/7 - 1/19 + 1/4 - 1/20
    es = ev.effect_sizes("RR", ai=[7], n1i=[19], ci=[4], n2i=[20], labels=["fever"])
    assert list(es.to_frame().columns) == ["study", "yi", "vi", "sei", "ni"]
    frame = es.to_frame(level=90)
    assert list(frame.columns) == ["study", "yi", "vi", "sei", "ni", "ci_lower", "ci_upper"]
    y, se, z = (
        np.log((7 / 19) / (4 / 20)),
        np.sqrt(1 / 7 - 1 / 19 + 1 / 4 - 1 / 20),
        1.6448536269514722,
    )
    assert frame["ci_lower"][0] == pytest.approx(y - z * se, rel=1e-12)
    assert frame["ci_upper"][0] == pytest.approx(y + z * se, rel=1e-12)
    # by hand: exp(log RR -/+ qnorm(0.95) * se) = 0.7594, 4.4684
    assert (round(np.exp(frame["ci_lower"][0]), 2), round(np.exp(frame["ci_upper"][0]), 2)) == (
        0.76,
        4.47,
    )
    assert es.to_frame(level=0.9).equals(frame)


def test_meta_regression_has_one_coefficient_row_per_moderator():
    d = RMA["datasets"]["bcg_ablat"]
    e = _case("bcg_ablat", "REML")["result"]
    res = ev.rma(d["yi"], d["vi"], mods=np.array(d["mods"], dtype=float))
    coefs = res.coef_frame()
    assert list(coefs.index) == ["intrcpt", "mod1"]
    close(coefs["estimate"].to_numpy(), e["beta"], "beta")
    close(coefs["pval"].to_numpy(), e["pval"], "pval")
    assert "estimate" not in res.to_dict()  # one pooled estimate only without moderators


def test_to_dict_is_json_and_round_trips(bcg):
    e = _case("bcg", "REML")["result"]
    data = json.loads(json.dumps(bcg.to_dict(), allow_nan=False))
    assert data["method"] == "REML" and data["k"] == 13
    close(data["estimate"], e["beta"], "dict estimate")
    close(data["tau2"], e["tau2"], "dict tau2")
    close(np.array(data["weights"]), e["weights"], "dict weights")
    assert data["qm_df"][1] is None  # NaN (no F test with z) -> null
    assert data["control"]["maxiter"] == 100
    assert len(data["vb"]) == 1 and len(data["X"]) == 13


def test_results_are_immutable(bcg):
    with pytest.raises(ValueError, match="read-only"):
        bcg.vi[0] = 9.0
    with pytest.raises(ValueError, match="read-only"):
        bcg.yi[:] = 0.0
    with pytest.raises(TypeError):
        bcg.fit_stats["ll_ml"] = 0.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        bcg.tau2 = 0.0  # type: ignore[misc]
    w = bcg.weights
    w[0] = 99.0  # a computed array is the caller's own
    assert bcg.weights[0] == pytest.approx(_case("bcg", "REML")["result"]["weights"][0])


def test_the_callers_arrays_stay_the_callers():
    yi, vi = np.array(BCG["yi"]), np.array(BCG["vi"])
    res = ev.rma(yi, vi)
    es = ev.effect_sizes("MD", m1i=[5.0, 6.0], sd1i=[1, 2], n1i=[10, 12], m2i=[4.0, 4.5],
                         sd2i=[1, 2], n2i=[11, 13])  # fmt: skip
    yi[:] = 0.0
    vi[:] = 1.0
    assert res.yi[0] == BCG["yi"][0] and res.vi[0] == BCG["vi"][0]
    assert not np.shares_memory(res.yi, yi) and not np.shares_memory(res.vi, res.X)
    assert es.yi[0] == pytest.approx(1.0) and not es.yi.flags.writeable


def test_batch_frame_has_one_row_per_meta_analysis():
    Y = np.array([BCG["yi"], BCG["yi"][:6] + [np.nan] * 7])
    V = np.array([BCG["vi"], BCG["vi"][:6] + [np.nan] * 7])
    b = ev.rma_batch(Y, V)
    frame = b.to_frame()
    assert list(frame.columns[:5]) == ["k", "estimate", "se", "stat", "pval"]
    assert list(frame["k"]) == [13, 6]
    close(frame["estimate"][0], _case("bcg", "REML")["result"]["beta"], "batch estimate")
    row = b.row(1)
    assert list(row) == list(frame.columns)
    close(np.array(list(row.values())), frame.iloc[1].to_numpy(dtype=float), "batch row")
    with pytest.raises(ValueError, match="read-only"):
        b.tau2[0] = 0.0
    assert json.loads(json.dumps(b.to_dict()))["status"] == [0, 0]


def test_influence_and_sequence_frames_match_metafor():
    case = next(c for c in INFL if c["mods"] is None)
    e = case["result"]
    res = ev.rma(case["yi"], case["vi"], method=case["method"], test=case["test"])
    inf = ev.influence(res).to_frame()
    assert list(inf.columns) == [
        "study",
        "rstudent",
        "dffits",
        "cook_d",
        "cov_r",
        "tau2_del",
        "q_del",
        "hat",
        "weight",
        "dfbetas_intrcpt",
        "influential",
    ]
    close(inf["cook_d"].to_numpy(), e["inf"]["cook.d"], "frame cook.d", "influence")
    assert list(inf["influential"]) == list(e["is.infl"])
    loo = ev.leave_one_out(res).to_frame()
    assert list(loo.columns[:2]) == ["study", "estimate"] and len(loo) == res.k
    close(loo["estimate"].to_numpy(), e["leave1out"]["estimate"], "frame l1o", "influence")
    cum = ev.cumulative(res).to_frame()
    close(cum["tau2"].to_numpy(), e["cumul"]["tau2"], "frame cumul tau2", "influence")


def test_subgroup_frame_has_one_row_per_subgroup():
    case = load("subgroups")["cases"][0]
    sub = ev.subgroup(
        case["yi"], case["vi"], case["group"], method=case["method"], test=case["test"]
    )
    frame = sub.to_frame()
    assert list(frame["subgroup"]) == list(case["levels"])
    assert list(frame["k"]) == [g["k"] for g in case["groups"]]
    close(frame["estimate"].to_numpy(), [g["beta"] for g in case["groups"]], "sub beta")
    close(frame["tau2"].to_numpy(), [g["tau2"] for g in case["groups"]], "sub tau2")
    data = json.loads(json.dumps(sub.to_dict()))
    assert set(data["fits"]) == set(sub.levels)
    assert data["q_between"] == pytest.approx(sub.q_between)


def test_small_results_serialise():
    res = ev.rma(BCG["yi"], BCG["vi"])
    ci = res.confint()
    frame = ci.to_frame()
    assert list(frame.index) == ["tau2", "tau", "i2", "h2"]
    assert frame.loc["tau2", "ci_lower"] == ci.tau2[1]
    pred = res.predict().to_frame()
    assert pred["pred"][0] == res.estimate
    reg, rank, tf = ev.regtest(res), ev.ranktest(res), ev.trimfill(res)
    for r in (reg, rank, tf, ci, res.predict()):
        json.dumps(r.to_dict(), allow_nan=False)
    assert reg.to_frame()["pval"][0] == reg.pval
    assert rank.to_frame()["tau"][0] == rank.tau
    assert list(tf.to_frame()["filled"]) == list(tf.fill)
    mh = ev.rma_mh("OR", ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])
    assert mh.to_frame()["estimate"][0] == mh.estimate
    assert json.loads(json.dumps(mh.to_dict()))["tests"]["CMH"] == pytest.approx(mh.tests["CMH"])
    with pytest.raises(TypeError):
        mh.tests["CMH"] = 0.0  # type: ignore[index]


def test_str_of_a_result_is_its_summary(bcg):
    # the Result base gives every result with a summary() its str(); the printed rma text
    # starts as metafor's print.rma does
    assert str(bcg).startswith("Random-effects model (k = 13; tau^2 estimator: REML)")
    mh = ev.rma_mh("OR", ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])
    results = [
        bcg,
        mh,
        ev.regtest(bcg),
        ev.ranktest(bcg),
        ev.trimfill(bcg),
        ev.leave_one_out(bcg),
        ev.influence(bcg),
        ev.effect_sizes("RR", ai=[7], n1i=[19], ci=[4], n2i=[20]),
        ev.rma_batch(np.array([[0.1, 0.3, 0.5]]), np.array([[0.04, 0.02, 0.05]])),
    ]
    for r in results:
        assert str(r) == r.summary() and f"{r}" == r.summary()
    assert str(bcg.predict()).splitlines()[0].split() == [
        "pred",
        "se",
        "ci.lb",
        "ci.ub",
        "pi.lb",
        "pi.ub",
    ]


def test_metafor_style_p_values_in_the_summary(bcg):
    text = bcg.summary()
    assert "p < .0001" in text  # heterogeneity test
    assert "<.0001" in text.splitlines()[-2]  # coefficient table cell


@pytest.mark.parametrize(
    ("call", "code", "field"),
    [
        (lambda: ev.rma([0.1, 0.2], [0.01, 0.02], method="XX"), "invalid_choice", "method"),
        (lambda: ev.rma([0.1, 0.2], [0.01, 0.02], test="q"), "invalid_choice", "test"),
        (lambda: ev.rma([0.1, 0.2], [0.01, 0.02], mods=[1.0, 2.0]), "too_few_studies", "yi"),
        (lambda: ev.rma([0.1, 0.2], [0.01, -0.02]), "out_of_range", "vi"),
        (lambda: ev.rma([0.1, 0.2, 0.3], [0.01, 0.02]), "length_mismatch", "vi"),
        (lambda: ev.rma([0.1, "x"], [0.01, 0.02]), "not_a_number", "yi"),
        (lambda: ev.ranktest([0.1, 0.2], [0.01, 0.02]), "too_few_studies", None),
        (lambda: ev.effect_sizes("OR", ai=[5], bi=[2], ci=[3]), "required", "di"),
        (lambda: ev.rma([0.1, 0.2], [0.01, 0.02], level=150), "out_of_range", "level"),
    ],
)
def test_errors_carry_code_and_field(call, code, field):
    with pytest.raises(EvidenceError) as info:
        call()
    assert (info.value.code, info.value.field) == (code, field)
    assert json.dumps(info.value.to_dict())


def test_trimfill_that_does_not_converge_says_so(bcg):
    with pytest.raises(EvidenceError) as info:
        ev.trimfill(bcg, maxiter=0)
    assert info.value.code == "not_converged"
