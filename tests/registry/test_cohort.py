"""Cohort dashboard figures on a small hand-made cohort."""

from __future__ import annotations

from datetime import date

import pytest

from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    Patient,
)
from cpstem.registry.services import cohort

pytestmark = pytest.mark.django_db


def child(site, sid, level, base, after, product="ucb"):
    p = Patient.objects.create(site=site, study_id=sid, birth_date=date(2019, 1, 1), sex="F")
    Classification.objects.create(patient=p, date=date(2022, 1, 1), system="gmfcs", level=level)
    Administration.objects.create(
        patient=p,
        date=date(2023, 1, 10),
        product=product,
        origin="allogeneic",
        route="intravenous",
        cells_total=4.5e8,
        weight_kg=15,
    )
    GMFM66Assessment.objects.create(patient=p, date=date(2023, 1, 5), score=base)
    GMFM66Assessment.objects.create(patient=p, date=date(2024, 1, 12), score=after)
    return p


def test_change_at_12_months_by_product(sites):
    child(sites[0], "A", 3, 40, 46)
    child(sites[0], "B", 3, 42, 44)
    child(sites[1], "C", 2, 50, 55, product="bm_msc")
    table = cohort.change_at(Patient.objects.all(), 12, ("product",))
    ucb = table[table["product"] == "Umbilical cord blood (UCB)"].iloc[0]
    # Worked by hand, GMFCS III (limit 54.3, age90 3.7 y; f(a) = 1 - exp(-a ln10 / 3.7)):
    # born 2019-01-01, baseline 2023-01-05 = 1465 days (4.01103 y), visit 2024-01-12 = 1837 days
    # (5.02954 y); expected population change 54.3 * (f(5.02954) - f(4.01103)) = 2.10050.
    # A gains 6, B gains 2: mean excess ((6 - 2.10050) + (2 - 2.10050)) / 2 = 1.89950.
    assert ucb["n"] == 2
    assert ucb["mean_excess_population"] == pytest.approx(1.89950, abs=5e-5)
    assert table["n"].sum() == 3
    assert cohort.change_at(Patient.objects.filter(site=sites[1]), 12)["n"].tolist() == [1]


def test_ae_rates_by_product(sites):
    a = child(sites[0], "A", 3, 40, 46)
    child(sites[0], "B", 3, 42, 44)
    AdverseEvent.objects.create(
        patient=a,
        date=date(2023, 1, 11),
        term="fever",
        grade=1,
        serious=False,
        relatedness="possible",
    )
    AdverseEvent.objects.create(
        patient=a,
        date=date(2022, 1, 11),
        term="before cells",
        grade=1,
        serious=False,
        relatedness="not_related",
    )
    (row,) = cohort.ae_by_product(Patient.objects.all())
    assert (
        row["n"] == 2
        and row["events"] == 1
        and row["patients_with_event"] == 1
        and row["related"] == 1
    )
    assert row["proportion"] == 0.5
