"""One saved record of each kind, for the registry tests (not a test module)."""

from __future__ import annotations

from datetime import date

from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    RehabEpisode,
    SpasticityAssessment,
)
from cpstem.registry.services import write


def one_of_each_kind(patient: Patient) -> dict[str, object]:
    """One saved record of each kind (through the write path)."""
    admin = write.save(
        Administration(
            patient=patient,
            date=date(2024, 4, 20),
            product="ucb",
            origin="allogeneic",
            hla_match="5/6",
            cells_total=4.5e8,
            weight_kg=15,
            route="intravenous",
            lot="LOT-4711",
            notes="infusion over 30 min",
        )
    )
    return {
        "classification": write.save(
            Classification(patient=patient, date=date(2023, 1, 10), system="gmfcs", level=3)
        ),
        "administration": admin,
        "rehab": write.save(
            RehabEpisode(
                patient=patient, date=date(2023, 2, 1), therapy="physiotherapy", hours_per_week=3
            )
        ),
        "gmfm88": write.save(
            GMFM88Assessment(patient=patient, date=date(2024, 5, 1), items={"1": 3, "2": 2})
        ),
        "gmfm66": write.save(GMFM66Assessment(patient=patient, date=date(2024, 5, 1), score=40)),
        "spasticity": write.save(
            SpasticityAssessment(
                patient=patient,
                date=date(2024, 5, 1),
                mas=[{"muscle": "hamstrings", "side": "left", "grade": "1+"}],
            )
        ),
        "lab": write.save(
            LabValue(patient=patient, date=date(2024, 5, 1), analyte="CRP", value=3.2, unit="mg/L")
        ),
        "ae": write.save(
            AdverseEvent(
                patient=patient,
                date=date(2024, 5, 2),
                term="fever",
                grade=1,
                relatedness="possible",
                action="treated",
                notes="paracetamol given",
            )
        ),
    }
