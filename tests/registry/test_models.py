"""Models: validation of dates, doses, scores; derived fields; the audit trail."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from cpstem.registry.clock import today
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    FollowUpVisit,
    GMFM66Assessment,
    GMFM88Assessment,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.services.history import patient_history
from cpstem.registry.services.trajectory import trajectory


def errors_of(obj) -> dict:
    with pytest.raises(ValidationError) as exc:
        obj.full_clean()
    return exc.value.message_dict


def admin(patient, **kw):
    data = dict(
        patient=patient,
        date=date(2023, 3, 1),
        product="ucb",
        origin="allogeneic",
        route="intravenous",
        cells_total=4.5e8,  # 3 x 10^7/kg: inside the cord-blood range (Min 2013)
        weight_kg=15.0,
    )
    return Administration(**(data | kw))


def test_assessment_before_birth_and_in_the_future(patient):
    e = errors_of(GMFM66Assessment(patient=patient, date=date(2019, 4, 1), score=40))
    assert "before the child's birth (2019-04-02)" in e["date"][0]
    e = errors_of(GMFM66Assessment(patient=patient, date=today() + timedelta(days=1), score=40))
    assert "is in the future" in e["date"][0]


def test_patient_checks(sites):
    p = Patient(
        site=sites[0],
        study_id="LUB 7",
        birth_date=today() + timedelta(days=3),
        sex="F",
        birth_weight_g=3,
        gestational_age_weeks=50,
    )
    e = errors_of(p)
    assert "pseudonym" in e["study_id"][0]
    assert "future" in e["birth_date"][0]
    assert "kilograms? enter grams" in e["birth_weight_g"][0]
    assert "outside 20-45 weeks" in e["gestational_age_weeks"][0]


def test_preterm_follows_who_definition(sites):
    p = Patient(
        site=sites[0], study_id="X1", birth_date=date(2020, 1, 1), sex="M", gestational_age_weeks=32
    )
    p.full_clean()
    assert p.preterm_birth is True


def test_consent_withdrawal_before_consent(patient):
    patient.consent_date, patient.consent_version = date(2023, 1, 10), "2.1"
    patient.consent_withdrawn_date = date(2023, 1, 5)
    assert "withdrawal is before consent" in errors_of(patient)["consent_withdrawn_date"][0]


def test_study_id_unique_per_site_case_insensitively(patient, sites):
    assert (
        "already used"
        in errors_of(
            Patient(site=sites[0], study_id="lub-001", birth_date=date(2019, 1, 1), sex="F")
        )["study_id"][0]
    )
    Patient(site=sites[1], study_id="LUB-001", birth_date=date(2019, 1, 1), sex="F").full_clean()


def test_dose_per_kg_is_computed(patient):
    a = admin(patient)
    a.full_clean()
    a.save()
    assert a.dose_cells_per_kg == pytest.approx(3e7)


@pytest.mark.parametrize(
    ("kw", "field", "text"),
    [
        ({"weight_kg": 15000}, "weight_kg", "looks like grams"),
        ({"cells_total": 5e13}, "cells_total", "more than 100-fold outside"),
        ({"cells_total": 3e6}, "cells_total", "below the lowest published dose"),
        ({"hla_match": "5/6", "origin": "autologous"}, "hla_match", "allogeneic cells only"),
        ({"hla_match": "7/6"}, "hla_match", "matched/typed"),
        ({"product": "other"}, "product_other", "name the product"),
    ],
)
def test_administration_unit_checks(patient, kw, field, text):
    assert text in " ".join(errors_of(admin(patient, **kw))[field])


def test_unusual_dose_can_be_confirmed(patient):
    a = admin(patient, cells_total=3e6, dose_confirmed=True)
    a.full_clean()  # 2e5/kg: below the published range but confirmed


def test_gmfm88_scores_and_not_tested(patient):
    sheet = GMFM88Assessment(
        patient=patient,
        date=date(2024, 5, 1),
        items={"1": 3, "2": 3, "23": 2, "52": "NT"},
        goal_dimensions="d,e",
    )
    sheet.full_clean()
    sheet.save()
    assert sheet.pct_a == pytest.approx(6 / 51 * 100)
    assert sheet.pct_b == pytest.approx(2 / 60 * 100)
    assert sheet.total == pytest.approx((6 / 51 + 2 / 60) * 100 / 5)
    assert sheet.goal_dimensions == "D,E" and sheet.goal_total == 0
    assert sheet.items["52"] is None and sheet.items["1"] == 3 and sheet.n_not_tested == 85
    e = errors_of(GMFM88Assessment(patient=patient, date=date(2024, 5, 2), items={"23": 4}))
    assert e["item_23"] == ["GMFM item 23 score 4: allowed 0, 1, 2, 3 or NT (9 or blank)"]


def test_gmfm66_ci_must_contain_score(patient):
    e = errors_of(
        GMFM66Assessment(patient=patient, date=date(2024, 5, 1), score=42, ci_lower=43, ci_upper=45)
    )
    assert "contain the score" in e["ci_lower"][0]
    assert (
        "0 to 100"
        in errors_of(GMFM66Assessment(patient=patient, date=date(2024, 5, 1), score=120))["score"][
            0
        ]
    )


def test_spasticity_validated_by_measures(patient):
    s = SpasticityAssessment(
        patient=patient,
        date=date(2024, 5, 1),
        mas=[{"muscle": "Hamstrings", "side": "L", "grade": "1+"}],
        tardieu=[
            {"muscle": "hamstrings", "side": "left", "r1_deg": -70, "r2_deg": -50, "quality": 2}
        ],
    )
    s.full_clean()
    assert s.mas == [{"muscle": "hamstrings", "side": "left", "grade": "1+"}]
    e = errors_of(
        SpasticityAssessment(
            patient=patient,
            date=date(2024, 5, 1),
            mas=[{"muscle": "hamstrings", "side": "left", "grade": "5"}],
        )
    )
    assert "use 0, 1, 1+, 2, 3 or 4" in e["mas"][0]
    e = errors_of(
        SpasticityAssessment(
            patient=patient,
            date=date(2024, 5, 1),
            tardieu=[{"muscle": "hamstrings", "side": "left", "r1_deg": -40, "r2_deg": -50}],
        )
    )
    assert "R1 <= R2" in e["tardieu"][0]


def test_adverse_event_rules(patient):
    e = errors_of(
        AdverseEvent(
            patient=patient,
            date=date(2024, 5, 2),
            resolution_date=date(2024, 5, 1),
            term="fever",
            grade=5,
            serious=False,
            relatedness="possible",
        )
    )
    assert "resolves before its onset" in e["resolution_date"][0]
    assert "serious (ICH E2A)" in e["serious"][0]
    assert "fatal" in e["outcome"][0]
    a = admin(patient)
    a.save()
    ae = AdverseEvent(
        patient=patient,
        date=date(2023, 3, 2),
        term="fever",
        grade=1,
        serious=False,
        relatedness="possible",
    )
    ae.full_clean()
    assert ae.administration == a and ae.outcome == "unknown"  # blank outcome, not resolved


def test_current_gmfcs_and_schedule_are_derived(patient):
    Classification(patient=patient, date=date(2022, 1, 1), system="gmfcs", level=2).save()
    Classification(patient=patient, date=date(2023, 1, 1), system="gmfcs", level=3).save()
    patient.refresh_from_db()
    assert patient.gmfcs == 3
    a = admin(patient)
    a.save()
    GMFM66Assessment(patient=patient, date=date(2023, 2, 20), score=40).save()
    visits = list(FollowUpVisit.objects.filter(patient=patient))
    assert [v.label for v in visits] == [
        "baseline",
        "1 month",
        "3 months",
        "6 months",
        "12 months",
        "24 months",
    ]
    assert visits[0].done_on == date(2023, 2, 20)
    assert visits[1].target_date == date(2023, 4, 1) and visits[1].done_on is None
    assert str(visits[1].status_on(date(2023, 4, 5))) == "overdue"
    assert str(visits[1].status_on(date(2023, 4, 9))) == "missed"
    a.delete()
    assert not FollowUpVisit.objects.filter(patient=patient).exists()


def test_trajectory_compares_with_reference_both_methods(patient):
    Classification(patient=patient, date=date(2023, 1, 1), system="gmfcs", level=3).save()
    admin(patient, date=date(2023, 3, 1)).save()
    GMFM66Assessment(patient=patient, date=date(2023, 2, 25), score=40).save()
    GMFM66Assessment(patient=patient, date=date(2024, 3, 1), score=46).save()
    t = trajectory(patient)
    (c,) = t.changes
    (row,) = c.rows
    # Worked by hand from the stable-limit model, GMFCS III: limit 54.3, age90 3.7 y, so
    # f(a) = 1 - exp(-a ln10 / 3.7). Born 2019-04-02: baseline 2023-02-25 is 1425 days
    # (a0 = 1425 / 365.2425 = 3.90152 y), follow-up 2024-03-01 is 1795 days (a1 = 4.91454 y).
    # f(a0) = 0.911786, f(a1) = 0.953038.
    # population: 54.3 * (f(a1) - f(a0)) = 2.23997
    # child-anchored: own limit 40 / f(a0) = 43.8699; 43.8699 * f(a1) - 40 = 1.80971
    assert row.observed_change == 6
    assert row.expected_population == pytest.approx(2.23997, abs=5e-5)
    assert row.expected_anchored == pytest.approx(1.80971, abs=5e-5)
    assert row.excess_population == pytest.approx(6 - 2.23997, abs=5e-5)
    assert row.excess_anchored == pytest.approx(4.19029, abs=5e-5)


def test_every_change_is_audited(patient, people):
    from simple_history.utils import update_change_reason

    ae = AdverseEvent(
        patient=patient,
        date=date(2024, 5, 2),
        term="fever",
        grade=1,
        serious=False,
        relatedness="possible",
    )
    ae.save()
    ae.grade = 2
    ae.save()
    update_change_reason(ae, "grade corrected")
    ae.delete()
    changes = patient_history(patient)
    kinds = [(c.record, c.kind) for c in changes]
    assert kinds[:3] == [
        ("adverse event", "deleted"),
        ("adverse event", "changed"),
        ("adverse event", "created"),
    ]
    assert ("grade", "1", "2") in changes[1].changes
    assert changes[1].reason == "grade corrected"
    assert kinds[3:] == [("patient", "created")]  # the oldest change comes last


def test_patient_keys_are_random_not_sequential(sites):
    from cpstem.registry.models.patients import random_patient_key

    made = []
    for i in range(5):
        p = Patient(site=sites[0], study_id=f"LUB-9{i}", birth_date=date(2019, 4, 2), sex="F")
        p.full_clean()
        p.save()
        made.append(p.pk)
    assert all(0 < pk < 2**53 for pk in made)
    ordered = sorted(made)
    # not an entry-order sequence: no two keys are neighbours (chance ~1e-15 for random keys)
    assert all(b - a > 1 for a, b in itertools.pairwise(ordered))
    assert len({random_patient_key() for _ in range(1000)}) == 1000
