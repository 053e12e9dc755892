"""Trial sequential analysis: published information sizes, hand computation, rpact boundaries."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.stats import norm

from cpstem.design import DesignError, diversity, required_information_size, tsa
from cpstem.design.tsa import TSAResult

BOUNDS = json.loads((Path(__file__).parent / "rpact" / "tsa_boundaries.json").read_text())
Z = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2


def test_continuous_ris_by_hand():
    # 4 (z_{1-a/2} + z_{1-b})^2 sd^2 / delta^2 (Wetterslev 2008)
    r = required_information_size(delta=3.0, sd=8.0)
    assert r.ris == pytest.approx(4 * Z * 64 / 9, rel=1e-12)
    assert r.required == r.ris and r.adjustment == "none"


def test_binary_ris_by_hand():
    pc, pe = 0.2, 0.2 * 0.75
    pbar = (pc + pe) / 2
    r = required_information_size(control_risk=0.2, rrr=0.25)
    assert r.ris == pytest.approx(4 * Z * pbar * (1 - pbar) / (pc - pe) ** 2, rel=1e-12)


def test_published_daris_vitamin_a():
    # PLoS One 2013;8:e74558 (PMC3765487), Figure 4 (vitamin A <= 800 ug vs placebo):
    # "DARIS = 48,417 participants ... proportion of deaths of 10% in the placebo group; a
    # relative risk reduction of 15%; an alpha of 5%; a beta of 20%; and a diversity of 76%".
    # The diversity is printed rounded, so DARIS must lie within D2 in [75.5%, 76.5%).
    lo = required_information_size(control_risk=0.10, rrr=0.15, diversity=0.755).required
    hi = required_information_size(control_risk=0.10, rrr=0.15, diversity=0.765).required
    assert lo <= 48417 < hi
    ris = required_information_size(control_risk=0.10, rrr=0.15).ris
    assert round(100 * (1 - ris / 48417)) == 76


def test_published_information_size_with_heterogeneity_correction():
    # Clin Epidemiol 2010;2:57 (PMC2943189), Figure 4: information size 19,920 patients for
    # 5% control incidence, 25% RRR, alpha 1%, beta 10%; reproduced by a 20% heterogeneity
    # correction (RIS / (1 - 0.2)).
    r = required_information_size(control_risk=0.05, rrr=0.25, alpha=0.01, beta=0.1, i2=0.2)
    assert math.ceil(r.required) == 19920
    assert r.adjustment == "i2"


def test_diversity_by_hand():
    yi = np.array([0.1, 0.5, 0.9])
    vi = np.array([0.04, 0.09, 0.05])
    w = 1 / vi
    fixed = (w * yi).sum() / w.sum()
    q = (w * (yi - fixed) ** 2).sum()
    tau2 = max(0, (q - 2) / (w.sum() - (w**2).sum() / w.sum()))
    vf, vr = 1 / w.sum(), 1 / (1 / (vi + tau2)).sum()
    h = diversity(yi, vi)
    assert h.tau2 == pytest.approx(tau2, rel=1e-12)
    assert h.d2 == pytest.approx(1 - vf / vr, rel=1e-12)
    assert h.i2 == pytest.approx((q - 2) / q, rel=1e-12)
    # Wetterslev 2009: D2 >= I2
    assert h.d2 >= h.i2


@pytest.mark.parametrize("case", BOUNDS, ids=[c["id"] for c in BOUNDS])
def test_monitoring_boundaries_equal_rpact_user_spending(case):
    # rpact getDesignGroupSequential(typeOfDesign = "asUser", sided = 2,
    # userAlphaSpending = 2 - 2 pnorm(qnorm(1 - alpha/2) / sqrt(t)))
    info = np.asarray(case["info"])
    required = 1000.0
    n = np.diff(np.concatenate([[0.0], info * required]))
    k = len(n)
    res = tsa(np.full(k, 0.1), np.full(k, 1.0), n=n, information=required, alpha=case["alpha"])
    ref = np.array([np.inf if v == "Inf" else v for v in case["critical_values"]], dtype=float)
    got = np.asarray(res.upper)
    np.testing.assert_allclose(got[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=0, atol=1e-6)
    assert np.all(np.isinf(got[~np.isfinite(ref)]))
    np.testing.assert_allclose(res.lower, -got)


def _three_trials(**kw) -> TSAResult:
    return tsa(
        [2.0, 3.5, 2.5],
        [6.0, 5.0, 4.0],
        n=[60, 80, 120],
        years=[2019, 2014, 2022],
        labels=["C", "A", "D"],
        delta=2.5,
        sd=8.0,
        **kw,
    )


def test_chronological_cumulative_z_curve_by_hand():
    res = _three_trials(model="fixed", adjustment="none")
    assert res.labels == ("A", "C", "D")
    np.testing.assert_allclose(res.accrued, [80, 140, 260])
    y, v = np.array([3.5, 2.0, 2.5]), np.array([5.0, 6.0, 4.0])
    for j in range(3):
        w = 1 / v[: j + 1]
        est = (w * y[: j + 1]).sum() / w.sum()
        assert res.z[j] == pytest.approx(est * math.sqrt(w.sum()), rel=1e-12)
    assert res.information.ris == pytest.approx(4 * Z * 64 / 6.25, rel=1e-12)
    np.testing.assert_allclose(res.fraction, res.accrued / res.information.ris)


def test_tsa_adjusted_ci_and_verdict():
    res = _three_trials(model="fixed", adjustment="none")
    c = res.upper[-1]
    assert res.tsa_ci_lower == pytest.approx(res.estimate - c * res.se, rel=1e-12)
    assert res.tsa_ci_upper == pytest.approx(res.estimate + c * res.se, rel=1e-12)
    assert res.ci_lower == pytest.approx(res.estimate - norm.ppf(0.975) * res.se, rel=1e-12)
    assert res.fraction[-1] < 1 and res.z[-1] > norm.ppf(0.975) and res.z[-1] < c
    assert res.status == "inconclusive"
    assert res.more_needed == math.ceil(res.information.ris - 260)
    assert f"{res.more_needed} more participants are needed" in res.verdict
    assert "conventional boundary" in res.verdict


def test_benefit_harm_and_ris_reached():
    big = tsa([0.8, 0.9], [0.01, 0.01], n=[400, 400], delta=0.5, sd=2, adjustment="none")
    assert big.status == "benefit" and big.verdict.startswith("Benefit established")
    harm = tsa([0.8, 0.9], [0.01, 0.01], n=[400, 400], delta=0.5, sd=2, benefit="negative")
    assert harm.status == "harm" and harm.z[-1] < 0
    null = tsa([0.01, -0.02], [0.01, 0.01], n=[400, 400], delta=0.5, sd=2)
    assert null.fraction[-1] > 1
    assert null.status == "ris_reached"


def test_futility_wedge():
    res = tsa(
        [0.05, -0.05, 0.02],
        [0.02, 0.02, 0.02],
        n=[150, 150, 150],
        delta=0.5,
        sd=2,
        futility=True,
        adjustment="none",
    )
    assert np.isfinite(res.futility[-1]) and 0 < res.futility[-1] < res.upper[-1]
    assert res.status == "futility"


def test_takes_an_evidence_fit():
    from cpstem.evidence import rma

    fit = rma([0.2, 0.6, 0.4], [0.05, 0.04, 0.03], method="DL", labels=["a", "b", "c"])
    res = tsa(fit, n=[50, 60, 70], delta=0.5, sd=1.5)
    assert res.labels == ("a", "b", "c")
    assert res.estimate == pytest.approx(fit.estimate, rel=1e-10)
    assert res.heterogeneity.tau2 == pytest.approx(fit.tau2, rel=1e-10)


def test_plot_and_serialisation():
    res = _three_trials()
    fig = res.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["Z-curve", "Monitoring boundaries", "Conventional boundary"]
    assert ax.get_xlabel() == "Cumulative number of participants"
    assert any("DARIS" in t.get_text() for t in ax.texts)
    data = json.loads(json.dumps(res.to_dict()))
    assert data["status"] == res.status and len(data["z"]) == 3
    assert list(res.to_frame().columns)[:3] == ["label", "year", "n"]
    assert "Trial sequential analysis" in str(res)


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"n": [10, 20]}, "invalid", "n"),
        ({"n": None}, "missing", "n"),
        ({"n": [10, 20, 30], "model": "bayes"}, "not_allowed", "model"),
        ({"n": [10, 20, 30], "benefit": "up"}, "not_allowed", "benefit"),
        ({"n": [10, 20, 30], "adjustment": "tau"}, "not_allowed", "adjustment"),
    ],
)
def test_errors(kwargs, code, field):
    kw = {"delta": 1.0, "sd": 1.0, **kwargs}
    with pytest.raises(DesignError) as e:
        tsa([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], **kw)
    assert (e.value.code, e.value.field) == (code, field)


def test_ris_errors():
    with pytest.raises(DesignError) as e:
        required_information_size()
    assert e.value.code == "missing"
    with pytest.raises(DesignError) as e:
        required_information_size(control_risk=1.2, rrr=0.2)
    assert e.value.field == "control_risk"
