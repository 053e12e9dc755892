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
        "checks",
        "rob2",
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
    # Eggenberger Table 4 totals 4/344 vs 6/228, with Liu 2017 corrected from 0/68 vs 0/34 to
    # its arm sizes 0/(33 + 34) vs 0/35 (PMC8401282 Table 3; checks.csv liu_arms)
    assert (totals["events_cells"].sum(), totals["n_cells"].sum()) == (4, 344 - 1)
    assert (totals["events_control"].sum(), totals["n_control"].sum()) == (6, 228 + 1)


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
    assert list(comps["trial"]) == ["huang2018", "sun2017", "gu2020", "sun2022"]
    assert list(excluded["trial"]) == ["liu2017"]
    # Sun 2022: AlloCB (31) and hCT-MSC (28) combined against natural history (31)
    sun = comps.set_index("trial").loc["sun2022"]
    assert (sun["n1i"], sun["n2i"], sun["cells_arm"]) == (59, 31, "AlloCB + hCT-MSC")
    assert sun["m1i"] == pytest.approx((31 * 5.8 + 28 * 4.3) / 59)


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


def test_sun2022_sds_derived_from_the_arm_cis(bundle):
    # Cochrane Handbook 6.5.2.2: SD = sqrt(n) (upper - lower) / (2 t(0.975, n - 1)).
    # AlloCB 5.8 (3.4 to 8.2), n 31: t(0.975, 30) = 2.042272456; sqrt(31) = 5.567764363;
    # 5.567764363 x 4.8 / 4.084544912 = 6.543022
    arms = bundle.motor_arms.set_index(["trial", "arm"])
    assert arms.loc[("sun2022", "AlloCB"), "sd_change"] == pytest.approx(6.543022, abs=1e-6)
    # hCT-MSC 4.3 (2.2 to 6.4), n 28: sqrt(28) 4.2 / (2 t(0.975, 27) = 2 x 2.051830516)
    assert arms.loc[("sun2022", "hCT-MSC"), "sd_change"] == pytest.approx(5.415728, abs=1e-6)
    # natural history 3.1 (1.4 to 5.0), n 31: 5.567764363 x 3.6 / 4.084544912
    assert arms.loc[("sun2022", "natural history"), "sd_change"] == pytest.approx(
        4.907267, abs=1e-6
    )
    assert "t(df 30)" in arms.loc[("sun2022", "AlloCB"), "sd_source"]


def test_amanat_pools_the_mean_difference_not_the_printed_d(bundle):
    from cpstem.evidence.comparisons import md_from_ci, smd_from_md

    row = bundle.motor_effects.set_index("trial").loc["amanat2021"]
    assert (row["effect"], row["value"], row["ci_lower"], row["ci_upper"]) == (
        "md",
        8.07,
        1.62,
        14.52,
    )
    yi, vi = md_from_ci(row["value"], row["ci_lower"], row["ci_upper"], 36, 36)
    # SE = (14.52 - 1.62) / (2 t(0.975, 70)) = 12.90 / (2 x 1.994437112) = 3.233995
    assert float(yi) == 8.07 and float(vi) ** 0.5 == pytest.approx(3.233995, abs=1e-6)
    # pooled SD = SE / sqrt(2/36) = 13.72060; d = 8.07 / 13.72060 = 0.588166 (not the printed
    # 0.92); g = d x J(70), J(70) = 1 - 3 / (4 x 70 - 1) approximately 0.989247
    g, _ = smd_from_md(yi, vi, 36, 36)
    assert float(g) == pytest.approx(0.588166 * 0.98925, abs=2e-5)


def test_zarrabi_is_renamed_and_flagged(bundle):
    trials = bundle.trials.set_index("trial")
    assert "amanat2022" not in trials.index
    assert trials.loc["zarrabi2022", "former_id"] == "amanat2022"
    assert trials.loc["zarrabi2022", "study"] == "Zarrabi"
    assert bundle.motor_effects.set_index("trial").loc["zarrabi2022", "flag"] == "ci_not_centred"


def test_corrections_from_the_audit(bundle):
    trials = bundle.trials.set_index("trial")
    assert trials.loc["huang2018", "n_randomised"] == 54  # abstract: 27 + 27
    assert trials.loc["kang2015", "rehabilitation"] == "all arms"
    assert trials.loc["kang2015", "n_enrolled"] == 37
    assert trials.loc["luan2012", "n_enrolled"] == 94  # 45 + 49
    # non-randomised studies never count as RCTs
    assert not any(bundle.randomised(["chen2013", "luan2012", "feng2015", "lee2012"]))
    assert all(bundle.randomised(["sun2017", "sun2022", "amanat2021", "min2013"]))
    arms = bundle.motor_arms
    assert set(arms.loc[arms["trial"] == "huang2018", "flag"]) == {"sd_may_be_se"}
    assert set(arms.loc[arms["trial"] == "gu2020", "flag"]) == {"implausible_change"}
    sae = bundle.safety.set_index(["trial", "event"])
    liu = sae.loc[("liu2017", "serious adverse event")]
    assert (liu["n_cells"], liu["n_control"]) == (33 + 34, 35)


def test_every_audit_item_has_a_recorded_check(bundle):
    checks = bundle.checks.set_index("check")
    # stem-cell-evidence.md section 5 and issue 12: each item checked, with its status
    for key in (
        "huang_sd",
        "huang_n",
        "amanat_md",
        "zarrabi_id",
        "zarrabi_ci",
        "gu_unit",
        "kang_rehab",
        "kang_n",
        "liu_arms",
        "min_sae",
        "luan_n",
        "luan_design",
        "chen_design",
        "dose_max",
        "dose_note",
        "ctcae_grade3",
        "ich_serious",
        "sun2022_add",
    ):
        row = checks.loc[key]
        assert row["verified"] in ("yes", "partial", "no") and row["checked_against"], key
        assert row["reason"] and row["source"], key
    assert checks.loc["huang_sd", "verified"] == "no"
    assert checks.loc["huang_sd", "status"] == "flagged"


def test_rob2_judgements_have_reasons(bundle):
    rob = bundle.rob2
    assert rob["reason"].str.len().min() > 20
    assert set(rob["overall"]) <= {"low", "some concerns", "high"}
    assert bundle.overall_rob("sun2022") == "high"
    assert bundle.overall_rob("chen2013") is None  # non-randomised: no RoB 2


def test_bad_flag_or_judgement_is_refused(bundle):
    from cpstem.evidence.bundled import EvidenceBundle, _check
    from cpstem.evidence.errors import EvidenceError

    arms = bundle.motor_arms.copy()
    arms.loc[0, "flag"] = "looks_odd"
    with pytest.raises(EvidenceError, match="unknown flag") as info:
        _check(EvidenceBundle(**{**bundle.__dict__, "motor_arms": arms}))
    assert (info.value.code, info.value.field) == ("invalid_choice", "flag")
    rob = bundle.rob2.copy()
    rob.loc[0, "overall"] = "moderate"
    with pytest.raises(EvidenceError, match="unknown overall"):
        _check(EvidenceBundle(**{**bundle.__dict__, "rob2": rob}))
