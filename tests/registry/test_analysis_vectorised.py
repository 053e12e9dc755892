"""The vectorised analysis tables equal the child-by-child reference (each child through
:func:`cpstem.outcomes.change.compare`, the patient page's comparison) row for row, on the
synthetic demo cohort plus the edge cases: no administration, no GMFCS level, no GMFM-66 in the
baseline window (the default schedule's: 30 days before to the day of the administration), a
GMFM-66 dated before birth (legacy data), the baseline on the day of the administration, two
scores of one day with different standard errors, several administrations (cumulative dose), a
child without any GMFM-66."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cpstem.registry import demo
from cpstem.registry.models import Administration, Classification, GMFM66Assessment, Patient
from cpstem.registry.services import analysis, write

pytestmark = pytest.mark.django_db


def _child(site, study_id: str, birth: date, level: int | None, **extra) -> Patient:
    p = write.save(Patient(site=site, study_id=study_id, birth_date=birth, sex="F", **extra))
    if level is not None:
        write.save(Classification(patient=p, date=date(2023, 1, 1), system="gmfcs", level=level))
    return p


def _admin(p: Patient, day: date) -> None:
    write.save(
        Administration(
            patient=p,
            date=day,
            product="ucb",
            origin="allogeneic",
            route="intravenous",
            cells_total=6e8,
            weight_kg=20,
            dose_confirmed=True,
        )
    )


def _score(p: Patient, day: date, score: float, se: float | None = 1.5, **extra) -> None:
    write.save(GMFM66Assessment(patient=p, date=day, score=score, se=se, **extra))


@pytest.fixture
def cohort(sites):
    demo.load(n_per_site=8, seed=7)
    lub = sites[0]
    no_admin = _child(lub, "LUB-E1", date(2019, 1, 1), 2)
    _score(no_admin, date(2024, 1, 1), 40.0)
    no_level = _child(lub, "LUB-E2", date(2019, 1, 1), None)
    _admin(no_level, date(2024, 1, 10))
    _score(no_level, date(2024, 1, 5), 40.0)
    far = _child(lub, "LUB-E3", date(2019, 1, 1), 3)
    _admin(far, date(2024, 1, 10))
    _score(far, date(2023, 3, 1), 30.0)
    _score(far, date(2025, 1, 10), 33.0)
    legacy = _child(lub, "LUB-E4", date(2019, 1, 1), 2)
    _admin(legacy, date(2024, 1, 10))
    _score(legacy, date(2024, 1, 5), 40.0)
    _score(legacy, date(2025, 1, 12), 44.0)
    Patient.objects.filter(pk=legacy.pk).update(birth_date=date(2024, 6, 1))
    after = _child(lub, "LUB-E5", date(2018, 5, 5), 4)
    _admin(after, date(2024, 1, 10))
    _admin(after, date(2024, 7, 10))
    _score(after, date(2024, 1, 10), 30.0, se=2.0)  # baseline on the administration's day
    _score(after, date(2024, 7, 12), 31.0, se=1.1)
    _score(after, date(2024, 7, 12), 33.0, se=1.9, duplicate_confirmed=True)
    _score(after, date(2025, 1, 9), 35.0, se=None)
    _child(lub, "LUB-E6", date(2019, 1, 1), 1)  # no GMFM-66 at all


def test_vectorised_build_equals_the_reference(cohort):
    fast, slow = analysis.build(), analysis.build_per_child()
    for name in ("table", "spasticity", "labs"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert len(a) > 0 and list(a.columns) == list(b.columns)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-12)
    assert fast.skipped == slow.skipped
    codes = {s.code for s in fast.skipped}
    assert {"no_anchor", "no_gmfcs", "no_baseline", "inconsistent"} <= codes
    e5 = fast.table[fast.table["child"] == Patient.objects.get(study_id="LUB-E5").research_id]
    # baseline 2024-01-10 (the administration's day), the two scores of 2024-07-12 with their
    # own SEs, then 2025-01-09 without one; cumulative dose 3e7 then 6e7 per kg
    assert e5["gmfm66"].tolist() == [30.0, 31.0, 33.0, 35.0]
    assert e5["gmfm66_se"].tolist()[:3] == [2.0, 1.1, 1.9] and pd.isna(e5["gmfm66_se"].iloc[3])
    assert e5["dose_cells_per_kg_cumulative"].tolist() == pytest.approx([3e7, 6e7, 6e7, 6e7])


def test_build_of_some_patients(cohort):
    some = Patient.objects.filter(site__code="LUB")
    fast, slow = analysis.build(some), analysis.build_per_child(some)
    pd.testing.assert_frame_equal(fast.table, slow.table, check_dtype=False, rtol=1e-12)
    assert set(fast.table["site"]) == {"LUB"}
