"""The bundled stem-cell evidence: cited, consistent, and honest about multi-arm trials."""

import numpy as np
import pandas as pd
import pytest

from cpstem.evidence.bundled import load_bundle
from cpstem.evidence.comparisons import Group, arm_comparisons, combine_groups


@pytest.fixture(scope="module")
def bundle():
    return load_bundle()


def test_every_row_is_cited(bundle):
    for name in (
        "trials",
        "motor_arms",
        "motor_effects",
        "not_poolable",
        "safety",
        "published_meta_analyses",
    ):
        frame = getattr(bundle, name)
        assert len(frame) and frame["source"].notna().all(), name
    assert bundle.trials["citation"].notna().all()


def test_values_match_the_reference_extraction(bundle):
    arms = bundle.motor_arms.set_index(["trial", "timepoint_months", "arm"])
    assert tuple(arms.loc[("huang2018", 12, "UCB-MSC"), ["n", "mean_change", "sd_change"]]) == (
        27,
        10.27,
        2.96,
    )
    assert tuple(arms.loc[("sun2017", 12, "placebo"), ["n", "mean_change", "sd_change"]]) == (
        31,
        6.9,
        5.5,
    )
    # Gu 2020 published SEM; SD derived as SEM x sqrt(n)
    assert arms.loc[("gu2020", 6, "hUC-MSC"), "sd_change"] == pytest.approx(
        8.947 * 19**0.5, abs=5e-4
    )
    sae = bundle.safety.set_index(["trial", "event"])
    assert tuple(
        sae.loc[
            ("min2013", "serious adverse event"),
            ["events_cells", "n_cells", "events_control", "n_control"],
        ]
    ) == (3, 36, 6, 70)
    totals = bundle.safety[bundle.safety["event"] == "serious adverse event"]
    assert (totals["events_cells"].sum(), totals["n_cells"].sum()) == (4, 344)  # Eggenberger T4
    assert (totals["events_control"].sum(), totals["n_control"].sum()) == (6, 228)


def test_six_month_comparisons(bundle):
    comps, excluded = arm_comparisons(bundle.motor_arms, 6)
    assert list(comps["trial"]) == ["huang2018", "kang2015", "min2013", "gu2020"]
    min2013 = comps.set_index("trial").loc["min2013"]
    # cells + EPO is compared with EPO only; the placebo-only arm is not used
    assert (min2013["control_arm"], min2013["n2i"], min2013["m2i"]) == (
        "placebo UCB + EPO",
        33,
        9.0,
    )
    assert "isolates the effect of the cells" in min2013["note"]
    assert set(excluded["trial"]) == {"liu2017", "luan2012"}


def test_twelve_month_comparisons(bundle):
    comps, excluded = arm_comparisons(bundle.motor_arms, 12)
    assert list(comps["trial"]) == ["huang2018", "sun2017", "gu2020"]
    assert list(excluded["trial"]) == ["liu2017"]


def test_no_control_arm_is_used_twice(bundle):
    for t in (6, 12):
        comps, _ = arm_comparisons(bundle.motor_arms, t)
        assert comps["trial"].is_unique


def test_combine_groups_equals_pooling_the_raw_data():
    rng = np.random.default_rng(1)
    samples = [rng.normal(5, 2, 17), rng.normal(9, 4, 23), rng.normal(1, 1, 8)]
    combined = combine_groups([Group(len(s), s.mean(), s.std(ddof=1)) for s in samples])
    everything = np.concatenate(samples)
    assert combined.n == len(everything)
    assert combined.mean == pytest.approx(everything.mean(), rel=1e-12)
    assert combined.sd == pytest.approx(everything.std(ddof=1), rel=1e-12)


def arm(name: str, role: str, n: int, mean: float, sd: float) -> dict:
    return {
        "trial": "t",
        "outcome": "o",
        "scale": "s",
        "timepoint_months": 6,
        "arm": name,
        "role": role,
        "n": n,
        "mean_change": mean,
        "sd_change": sd,
        "sd_source": "reported",
        "note": None,
    }


def test_two_cells_arms_sharing_a_control_are_combined():
    arms = pd.DataFrame(
        [
            arm("A", "cells", 10, 5.0, 2.0),
            arm("B", "cells", 12, 7.0, 3.0),
            arm("C", "control", 11, 1.0, 2.5),
        ]
    )
    comps, _ = arm_comparisons(arms, 6)
    row = comps.iloc[0]
    assert row["n1i"] == 22 and row["n2i"] == 11 and row["cells_arm"] == "A + B"
    assert row["m1i"] == pytest.approx((10 * 5 + 12 * 7) / 22)
    assert "2 cells arms combined" in row["note"]
