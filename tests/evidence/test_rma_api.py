"""rma as a user meets it: inputs, errors, moderators, summaries, fall-backs."""

import numpy as np
import pandas as pd
import pytest

from cpstem import evidence as ev
from cpstem.evidence import EvidenceError, rma
from tests.evidence.parity import load

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
    one = rma([0.4], [0.02], test="knha")
    assert one.k == 1 and one.test == "z" and one.tau2 == 0.0
    r90 = rma(YI, VI, level=90)
    assert r90.ci_upper - r90.ci_lower < rma(YI, VI).ci_upper - rma(YI, VI).ci_lower


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
    data = load("rma")["datasets"]
    ids = [k for k in data if k.startswith("nonconv_REML")]
    assert ids
    for i in ids:
        res = rma(data[i]["yi"], data[i]["vi"], method="REML")
        assert "safe optimizer" in res.status
        assert res.tau2 > 0 and np.isfinite(res.se)


def test_zero_variance_study():
    with pytest.raises(EvidenceError, match="needs every sampling variance > 0"):
        rma([0.1, 0.2, 0.5], [0.0, 0.02, 0.03], method="DL")
    res = rma([0.1, 0.2, 0.5], [0.0, 0.02, 0.03], method="HE")  # tau^2 > 0: defined
    assert res.tau2 > 0 and np.isnan(res.q)  # metafor: no Q with a zero variance
    with pytest.raises(EvidenceError, match="infinite weight"):
        rma([0.1, 0.1, 0.1], [0.0, 0.02, 0.03], method="REML")


def test_control_tightens_metafor_threshold():
    # metafor stops Fisher scoring when tau^2 changes by <= 1e-5: close to, not at, the optimum
    loose = rma(YI, VI)
    tight = rma(YI, VI, control={"threshold": 1e-12})
    assert tight.tau2 == pytest.approx(loose.tau2, rel=1e-3)
    assert tight.iterations > loose.iterations
    score = np.sum((np.array(YI) - tight.estimate) ** 2 / (np.array(VI) + tight.tau2) ** 2)
    assert np.isfinite(score)
