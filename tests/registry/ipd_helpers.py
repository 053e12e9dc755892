"""A small hand-worked cohort for the analysis-table tests (not a test module).

Child T (treated, LUB): born 2019-04-02, GMFCS II from 2024-05-01, UCB intravenous on
2024-05-02 (6e8 cells at 20 kg = 3e7/kg) and again on 2024-08-02 (same dose), GMFM-66 40.0 (SE
1.5) on 2024-05-01, 45.0 (SE 1.6) on 2024-11-02 and 48.0 (SE 1.4) on 2025-05-02; MAS of the
left hamstrings 2 on 2024-05-01 and 1+ on 2024-11-02; IL-6 8.0 pg/mL on 2024-05-01, 4.0 on
2024-11-02.
Child C (control, KRK): born 2020-01-15, enrolled 2024-03-01, GMFCS III from 2024-03-01,
GMFM-66 35.0 (SE 2.0) on 2024-02-20 and 38.0 (SE 2.0) on 2025-03-03.
"""

from __future__ import annotations

from datetime import date

from cpstem.registry.models import (
    Administration,
    Classification,
    GMFM66Assessment,
    LabValue,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.services import write


def hand_cohort(sites) -> tuple[Patient, Patient]:
    lub, krk = sites
    t = write.save(
        Patient(
            site=lub,
            study_id="LUB-001",
            birth_date=date(2019, 4, 2),
            sex="F",
            risk_other="mother Anna Nowak",
        )
    )
    write.save(Classification(patient=t, date=date(2024, 5, 1), system="gmfcs", level=2))
    for day in (date(2024, 5, 2), date(2024, 8, 2)):
        write.save(
            Administration(
                patient=t,
                date=day,
                product="ucb",
                origin="allogeneic",
                route="intravenous",
                cells_total=6e8,
                weight_kg=20,
                dose_confirmed=True,
                notes="given by Dr Kowalski",
            )
        )
    for day, score, se in (
        (date(2024, 5, 1), 40.0, 1.5),
        (date(2024, 11, 2), 45.0, 1.6),
        (date(2025, 5, 2), 48.0, 1.4),
    ):
        write.save(GMFM66Assessment(patient=t, date=day, score=score, se=se, notes="free text"))
    for day, grade in ((date(2024, 5, 1), "2"), (date(2024, 11, 2), "1+")):
        write.save(
            SpasticityAssessment(
                patient=t,
                date=day,
                mas=[{"muscle": "hamstrings", "side": "left", "grade": grade}],
                tardieu=[],
            )
        )
    for day, value in ((date(2024, 5, 1), 8.0), (date(2024, 11, 2), 4.0)):
        write.save(LabValue(patient=t, date=day, analyte="IL-6", value=value, unit="pg/mL"))
    c = write.save(
        Patient(
            site=krk,
            study_id="KRK-007",
            birth_date=date(2020, 1, 15),
            sex="M",
            group="control",
            enrolment_date=date(2024, 3, 1),
        )
    )
    write.save(Classification(patient=c, date=date(2024, 3, 1), system="gmfcs", level=3))
    for day, score in ((date(2024, 2, 20), 35.0), (date(2025, 3, 3), 38.0)):
        write.save(GMFM66Assessment(patient=c, date=day, score=score, se=2.0))
    return t, c
