"""Extraction sanity checks on real rows (the bundled data and a user's file)."""

import pytest

from cpstem.evidence.bundled import load_bundle
from cpstem.evidence.sanity import (
    check_arm_totals,
    check_bundle,
    check_change_arms,
    check_ci_centred,
    check_study_table,
    check_two_group,
)
from cpstem.reports.evidence_input import parse_study_table


def test_huang_2018_sds_look_like_ses():
    # Eggenberger 2019 Table 3, 12 months: 10.27 +/- 2.96 vs 4.75 +/- 1.45, n 27/27.
    # Pooled SD sqrt((26 x 2.96^2 + 26 x 1.45^2) / 52) = sqrt((8.7616 + 2.1025) / 2) = 2.330676;
    # d = 5.52 / 2.330676 = 2.36841. As SEs: SD x sqrt(27) -> d = 2.36841 / sqrt(27) = 0.45580.
    (w,) = check_two_group("huang 12 mo", 10.27, 2.96, 27, 4.75, 1.45, 27)
    assert w.code == "sd_like_se" and w.row == "huang 12 mo"
    assert w.params["d"] == pytest.approx(2.36841, abs=1e-5)
    assert w.params["d_if_se"] == pytest.approx(0.45580, abs=1e-5)


def test_plausible_trial_passes():
    # Sun 2017, 12 months: 7.5 +/- 6.8 (32) vs 6.9 +/- 5.5 (31): d about 0.1
    assert check_two_group("sun", 7.5, 6.8, 32, 6.9, 5.5, 31) == []


def test_large_effect_that_is_not_an_se_problem():
    # d = 100 / 2 = 50; read as SEs (SD = 2 x sqrt(5) = 4.472) d is still 22.4 > 2: the
    # effect is implausible whatever the SDs are
    (w,) = check_two_group("x", 100.0, 2.0, 5, 0.0, 2.0, 5)
    assert w.code == "effect_implausibly_large"


def test_zarrabi_ci_is_not_centred_but_amanat_is():
    # 7.10 (2.08 to 12.76): 12.76 + 2.08 - 2 x 7.10 = 0.64 > 2 x 0.01
    (w,) = check_ci_centred("zarrabi", 7.10, 2.08, 12.76)
    assert w.code == "ci_not_centred" and w.params["asymmetry"] == pytest.approx(0.64)
    # 8.07 (1.62 to 14.52): 14.52 + 1.62 - 16.14 = 0
    assert check_ci_centred("amanat", 8.07, 1.62, 14.52) == []
    # Sun 2022 natural history 3.1 (1.4 to 5.0): 6.4 - 6.2 = 0.2, within the 2 x 0.1 that
    # rounding to one decimal allows
    assert check_ci_centred("nh", 3.1, 1.4, 5.0) == []
    # a ratio: RR 0.89 (0.57 to 1.39) (Xie 2020) is centred on the log scale
    assert check_ci_centred("rr", 0.89, 0.57, 1.39, log_scale=True) == []


def test_arm_totals():
    # Min 2013 SAE denominators 36 + 70 = 106 of 105 enrolled
    (w,) = check_arm_totals("min", [36, 70], 105)
    assert (w.code, w.params["total"]) == ("arms_exceed_randomised", 106)
    (w,) = check_arm_totals("gu", [20, 19], 40)
    assert w.code == "arms_below_randomised"
    assert check_arm_totals("huang", [27, 27], 54) == []


def test_change_larger_than_the_scale_allows():
    # Gu 2020 6 months: +59.0 on a GMFM reported without version (0-100): > 25 % of the range
    (w,) = check_change_arms(["gu"], ["GMFM (version and unit not stated)"], [59.0], [39.0], [19])
    assert w.code == "change_large_for_scale"
    (w,) = check_change_arms(["x"], ["GMFM-66"], [120.0], [60.0], [20])
    assert w.code == "change_exceeds_scale"
    # Huang 12 months cells arm: SD/mean 2.96 / 10.27 = 0.288 < 0.35
    (w,) = check_change_arms(["h"], ["GMFM-88 total %"], [10.27], [2.96], [27])
    assert w.code == "sd_small_for_change" and w.params["cv"] == pytest.approx(0.2882, abs=1e-4)


def test_bundle_warnings_name_the_rows():
    found = {(w.code, w.row) for w in check_bundle(load_bundle())}
    assert ("sd_like_se", "motor_arms.csv huang2018 12 mo UCB-MSC vs control") in found
    assert ("ci_not_centred", "motor_effects.csv zarrabi2022 12 mo") in found
    assert ("arms_exceed_randomised", "safety.csv min2013 serious adverse event") in found
    assert ("change_large_for_scale", "motor_arms.csv gu2020 6 mo hUC-MSC") in found
    # nothing about the rows that are fine
    assert not [r for c, r in found if "sun2017" in r or "amanat2021" in r]


def test_users_file_is_checked():
    text = (
        "study,m1i,sd1i,n1i,m2i,sd2i,n2i\n"
        "Huang 2018,10.27,2.96,27,4.75,1.45,27\n"
        "Sun 2017,7.5,6.8,32,6.9,5.5,31\n"
        "Kang 2015,7.08,7.36,18,3.85,3.75,18\n"
        "Min 2013,9.1,6.7,31,9.0,6.3,33\n"
    )
    warnings = check_study_table(parse_study_table(text, "SMD", name="mine.csv"))
    rows = {(w.code, w.row) for w in warnings}
    assert ("sd_like_se", "mine.csv line 2 (Huang 2018)") in rows
    # group 2 SD 1.45 vs the median 6.3 of the other SDs: 1.45 x sqrt(27) = 7.53 fits
    assert ("sd_like_se", "mine.csv line 2 (Huang 2018), group 2") in rows
    assert all("Huang" in w.row for w in warnings)
