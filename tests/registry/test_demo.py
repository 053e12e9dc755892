"""The synthetic demo cohort's children are plausible together: birth weight for gestational
age (Hadlock 1991: 35 g at 10 weeks, 3,619 g at 40 weeks, 1 SD = 12.7 %, read from the
abstract), subtype and topography (SCPE), preterm flag."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from cpstem.registry import demo
from cpstem.registry.models import Patient
from cpstem.registry.services import data_quality


@pytest.mark.parametrize(("weeks", "grams"), [(10, 35), (40, 3619)])
def test_median_birth_weight_is_hadlocks_published_value(weeks, grams):
    assert demo.birth_weight_g(weeks, 0.5) == grams


def test_one_sd_is_twelve_point_seven_percent_and_extremes_are_capped():
    assert demo.birth_weight_g(40, float(norm.cdf(1))) == round(3619.3 * 1.127)
    assert demo.birth_weight_g(40, float(norm.cdf(-1))) == round(3619.3 * 0.873)
    capped = round(3619.3 * (1 + 0.127 * 2.5))
    assert demo.birth_weight_g(40, 1.0) == demo.birth_weight_g(40, 0.99999) == capped
    assert demo.birth_weight_g(40, 0.0) == round(3619.3 * (1 - 0.127 * 2.5))


@pytest.mark.django_db
def test_demo_children_are_plausible_together():
    demo.load(6, seed=3)
    children = list(Patient.objects.all())
    assert len(children) >= 12
    for p in children:
        ga = float(p.gestational_age_weeks)
        median = math.exp(0.578 + 0.332 * ga - 0.00354 * ga**2)
        assert abs(p.birth_weight_g / median - 1) <= 0.127 * 2.5 + 1e-3, (ga, p.birth_weight_g)
        assert p.preterm_birth == (ga < 37)
    findings = data_quality.check_patients(Patient.objects.all(), rules=["subtype_topography"])
    assert findings == []
