"""rma as a user meets it: inputs, errors, moderators, summaries, fall-backs."""

import numpy as np
import pandas as pd
import pytest

from cpstem import evidence as ev
from cpstem.evidence import EvidenceError, rma
from tests.evidence.parity import close, load

YI = [0.1, 0.3, 0.35, 0.65, 0.45]
VI = [0.03, 0.02, 0.05, 0.04, 0.02]


def test_summary_reads_like_metafor():
    res = rma(YI, VI, test="knha")
    text = str(res)
    assert "Random-effects model (k = 5; tau^2 estimator: REML)" in text
    assert "tval" in text and "prediction interval" in text
    assert "Hartung-Knapp-Sidik-Jonkman" in text
    fe = rma(YI, VI, method="FE")
    assert "Fixed-effect model" in str(fe) and fe.tau2 == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "XYZ"}, "method 'XYZ': allowed FE, DL, REML"),
        ({"test": "t2"}, "test 't2': allowed 'z' or 'knha'"),
        ({"level": 0.3}, "level 0.3: give the confidence level in percent"),
        ({"vi": [0.1, -0.2, 0.1, 0.1, 0.1]}, r"vi\[1\] = -0.2: a sampling variance cannot"),
        ({"vi": [0.1, 0.2]}, "yi has 5 values but vi has 2"),
        ({"yi": [0.1, "abc", 0.2, 0.3, 0.1]}, r"yi\[1\] = 'abc': not a number"),
        ({"mods": [1, 2, 3, 4]}, "moderator mod1 has 4 values for 5 studies"),
        ({"mods": [2, 2, 2, 2, 2]}, "constant or a combination"),
        ({"tau2": -1}, "fixed tau"),
        ({"control": {"bogus": 1}}, "control"),
    ],
)
def test_bad_input_messages(kwargs, message):
    args = {"yi": YI, "vi": VI, **kwargs}
    with pytest.raises(EvidenceError, match=message):
        rma(**args)


def test_too_few_studies_for_moderators():
    with pytest.raises(EvidenceError, match="need at least 4"):
        rma(YI[:3], VI[:3], mods=np.array([[1, 2], [2, 1], [3, 5]]))


def test_missing_values_are_omitted_and_listed():
    res = rma([0.1, np.nan, 0.35, 0.65, 0.45], VI)
    assert res.k == 4 and res.omitted == (1,)
    assert "1 studies with missing values omitted" in res.summary()
    same = rma([0.1, 0.35, 0.65, 0.45], [0.03, 0.05, 0.04, 0.02])
    assert res.estimate == same.estimate


def test_dataframe_moderators_with_text_become_dummies():
    mods = pd.DataFrame(
        {"dose": [1.0, 2.0, 1.5, 3.0, 2.5], "route": ["iv", "it", "iv", "it", "iv"]}
    )
    res = rma(YI, VI, mods=mods)
    assert res.coef_names == ("intrcpt", "dose", "route=iv")
    assert res.beta.shape == (3,) and res.qm_df[0] == 2
    pred = res.predict(newmods=[[2.0, 1.0]])
    assert pred.pred[0] == pytest.approx(res.beta @ [1, 2.0, 1.0])
    with pytest.raises(EvidenceError, match=r"read \.beta"):
        _ = res.estimate


def test_fixed_tau2_k1_and_level():
    res = rma(YI, VI, tau2=0.05)
    assert res.tau2 == 0.05 and res.tau2_fixed
    # tau^2 fixed at 0.05: weights 1 / (vi + 0.05) = 1/0.08, 1/0.07, 1/0.10, 1/0.09, 1/0.07
    w = 1 / (np.array(VI) + 0.05)
    assert res.estimate == pytest.approx(np.sum(w * np.array(YI)) / np.sum(w), rel=1e-12)
    assert res.se == pytest.approx(np.sum(w) ** -0.5, rel=1e-12)
    one = rma([0.4], [0.02], test="knha")
    assert one.k == 1 and one.test == "z" and one.tau2 == 0.0
    assert (one.estimate, one.se) == pytest.approx((0.4, 0.02**0.5), rel=1e-12)
    r90, r95 = rma(YI, VI, level=90), rma(YI, VI)
    # z quantiles 1.6449 (90 %) and 1.9600 (95 %) around the same estimate and se
    assert r90.ci_upper - r90.ci_lower == pytest.approx(2 * 1.6448536269514722 * r95.se)
    assert r95.ci_upper - r95.ci_lower == pytest.approx(2 * 1.959963984540054 * r95.se)


def test_effect_sizes_object_feeds_rma():
    es = ev.effect_sizes(
        "SMD",
        m1i=[10, 12, 9],
        sd1i=[2, 3, 2],
        n1i=[10, 20, 15],
        m2i=[9, 10, 9.5],
        sd2i=[2, 2.5, 2.2],
        n2i=[11, 19, 14],
        labels=["A", "B", "C"],
    )
    res = rma(es, method="DL")
    assert res.labels == ("A", "B", "C") and res.measure == "SMD"
    assert "SMD" in str(es)


def test_fallback_when_fisher_scoring_fails():
    # metafor's default Fisher scoring diverges on these data; metafor converges only with
    # control=list(stepadj=0.5, maxiter=10000, threshold=1e-13), which the fixture used.
    # Without any control, cpstem falls back to a safe optimizer and reaches the same optimum.
    data = load("rma")["datasets"]
    cases = {
        c["data"]: c["result"]
        for c in load("rma")["cases"]
        if c["data"].startswith("nonconv_REML") and (c["method"], c["test"]) == ("REML", "z")
    }
    assert sorted(cases) == [f"nonconv_REML_0{i}" for i in (2, 3, 4, 5)]
    for name, want in cases.items():
        assert want["tau2"] > 0
        res = rma(data[name]["yi"], data[name]["vi"], method="REML")
        assert "safe optimizer" in res.status
        close(res.tau2, want["tau2"], f"{name} tau2")
        close(res.estimate, want["beta"], f"{name} beta")
        close(res.se, want["se"], f"{name} se")


def test_zero_variance_study():
    with pytest.raises(EvidenceError, match="needs every sampling variance > 0"):
        rma([0.1, 0.2, 0.5], [0.0, 0.02, 0.03], method="DL")
    res = rma([0.1, 0.2, 0.5], [0.0, 0.02, 0.03], method="HE")  # tau^2 > 0: defined
    assert res.tau2 > 0 and np.isnan(res.q)  # metafor: no Q with a zero variance
    with pytest.raises(EvidenceError, match="infinite weight"):
        rma([0.1, 0.1, 0.1], [0.0, 0.02, 0.03], method="REML")


def reml_score(yi, vi, tau2: float) -> float:
    """Derivative of the REML log-likelihood in tau^2 (times 2), by hand: with
    w = 1 / (vi + tau2) and mu the w-weighted mean,
    sum w^2 (yi - mu)^2 - sum w + sum w^2 / sum w."""
    y, w = np.asarray(yi), 1 / (np.asarray(vi) + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w**2 * (y - mu) ** 2) - np.sum(w) + np.sum(w**2) / np.sum(w))


def test_control_tightens_metafor_threshold():
    # metafor stops Fisher scoring when tau^2 changes by <= 1e-5: close to, not at, the optimum
    loose = rma(YI, VI)
    tight = rma(YI, VI, control={"threshold": 1e-12})
    assert tight.tau2 == pytest.approx(loose.tau2, rel=1e-3)
    assert tight.iterations > loose.iterations
    # at the REML optimum the score is zero; the default threshold stops measurably short
    assert reml_score(YI, VI, tight.tau2) == pytest.approx(0.0, abs=1e-8)
    assert abs(reml_score(YI, VI, loose.tau2)) > 1e-8
    # and the estimate is the weighted mean with the optimum's weights
    w = 1 / (np.array(VI) + tight.tau2)
    assert tight.estimate == pytest.approx(np.sum(w * np.array(YI)) / np.sum(w), rel=1e-12)
