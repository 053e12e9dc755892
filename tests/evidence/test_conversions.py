"""Median/IQR/range, SEM and CI conversions to mean and SD."""

import numpy as np
import pytest

from cpstem.evidence import EvidenceError, conversions


@pytest.mark.parametrize(
    ("n", "xi"), [(2, 1.128), (5, 2.326), (10, 3.078), (25, 3.931), (50, 4.498)]
)
def test_expected_range_matches_wan_table_1(n, xi):
    assert conversions.expected_range(n) == pytest.approx(xi, abs=5e-4)


def test_wan_closed_form_beyond_50():
    from scipy.stats import norm

    assert conversions.expected_range(100) == pytest.approx(2 * norm.ppf((100 - 0.375) / 100.25))
    assert conversions.expected_iqr(40) == pytest.approx(2 * norm.ppf((30 - 0.125) / 40.25))


def test_estimators_recover_normal_samples():
    rng = np.random.default_rng(1)
    x = np.sort(rng.normal(50.0, 10.0, 401))
    q1, m, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    for kw in (
        {"q1": q1, "q3": q3},
        {"minimum": x[0], "maximum": x[-1]},
        {"q1": q1, "q3": q3, "minimum": x[0], "maximum": x[-1]},
    ):
        mean, sd = conversions.mean_sd_from_median(401, m, **kw)
        assert mean == pytest.approx(x.mean(), abs=1.0)
        assert sd == pytest.approx(x.std(ddof=1), rel=0.1)


def test_luo_weights_hand_computed():
    # S3 with n = 20: w = 0.7 + 0.39/20 = 0.7195
    mean, sd = conversions.mean_sd_from_median(20, 10.0, q1=8.0, q3=14.0)
    assert mean == pytest.approx(0.7195 * 11.0 + 0.2805 * 10.0)
    mean_w, _ = conversions.mean_sd_from_median(20, 10.0, q1=8.0, q3=14.0, mean_method="wan")
    assert mean_w == pytest.approx(32.0 / 3)
    # S1 with n = 16: w = 4 / (4 + 16^0.75) = 4 / 12 = 1/3
    mean, sd = conversions.mean_sd_from_median(16, 10.0, minimum=2.0, maximum=30.0)
    assert mean == pytest.approx(16.0 / 3 + 20.0 / 3)
    assert sd == pytest.approx(28.0 / conversions.expected_range(16))


def test_hozo_and_se_ci():
    mean, sd = conversions.hozo_mean_sd(20, 10.0, 2.0, 30.0)
    assert mean == pytest.approx(13.0)
    assert sd == pytest.approx(np.sqrt((12.0**2 / 4 + 28.0**2) / 12))
    assert conversions.sd_from_se(2.0, 25) == pytest.approx(10.0)
    # Cochrane 6.5.2.2 example: n = 25, CI 3.0 to 7.0 -> t(0.975, 24) = 2.0639
    assert conversions.sd_from_ci(3.0, 7.0, 25) == pytest.approx(5 * 4 / (2 * 2.063899), rel=1e-5)
    assert conversions.sd_from_ci(3.0, 7.0, 100, dist="z") == pytest.approx(
        10 * 4 / 3.919928, rel=1e-6
    )


def test_bad_summaries():
    with pytest.raises(EvidenceError, match="minimum <= q1"):
        conversions.mean_sd_from_median(20, 10.0, q1=12.0, q3=14.0)
    with pytest.raises(EvidenceError, match="quartiles"):
        conversions.mean_sd_from_median(20, 10.0)
    with pytest.raises(EvidenceError, match="upper limit is below"):
        conversions.sd_from_ci(5.0, 3.0, 10)
