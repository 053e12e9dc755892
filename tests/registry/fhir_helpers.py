"""A child with every kind of record, for the FHIR export and round-trip tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    RehabEpisode,
    Site,
    SpasticityAssessment,
)
from cpstem.registry.services import write


def rich_patient(site: Site, study_id: str = "LUB-FHIR-1") -> Patient:
    p = write.save(
        Patient(
            site=site,
            study_id=study_id,
            birth_date=date(2018, 3, 14),
            sex="M",
            gestational_age_weeks=Decimal("31.5"),
            birth_weight_g=1650,
            subtype="spastic_bilateral",
            topography="diplegia",
            mrics="B1",
            preterm_birth=True,
            hie=True,
            risk_other="twin pregnancy <script>",
            consent_date=date(2022, 1, 5),
            consent_version="v2.1",
        )
    )
    write.save(Classification(patient=p, date=date(2022, 1, 10), system="gmfcs", level=3))
    write.save(Classification(patient=p, date=date(2022, 1, 10), system="macs", level=2))
    admin = write.save(
        Administration(
            patient=p,
            date=date(2022, 2, 1),
            product="ucb",
            origin="allogeneic",
            hla_match="5/6",
            cells_total=3.2e8,
            weight_kg=16.0,
            route="intravenous",
            gcsf=True,
            lot="CB-4471",
            notes="premedication given",
        )
    )
    write.save(
        RehabEpisode(
            patient=p,
            date=date(2022, 2, 15),
            therapy="aquatic",
            hours_per_week=2.5,
            end_date=date(2022, 8, 15),
        )
    )
    sheet = write.save(
        GMFM88Assessment(
            patient=p,
            date=date(2022, 1, 20),
            items={"1": 3, "2": 3, "3": 2, "18": 1, "52": None},
            goal_dimensions="D,E",
            with_aids=True,
        )
    )
    write.save(
        GMFM66Assessment(
            patient=p,
            date=date(2022, 1, 21),
            score=44.2,
            se=1.6,
            ci_lower=41.1,
            ci_upper=47.3,
            notes="GMAE-2",
        )
    )
    write.save(GMFM66Assessment(patient=p, date=date(2023, 2, 3), score=49.0, se=1.5))
    write.save(
        SpasticityAssessment(
            patient=p,
            date=date(2022, 1, 20),
            mas=[
                {"muscle": "hamstrings", "side": "left", "grade": "1+"},
                {"muscle": "gastrocnemius_soleus", "side": "right", "grade": "2"},
            ],
            tardieu=[
                {
                    "muscle": "gastrocnemius_soleus",
                    "side": "right",
                    "r1_deg": -5,
                    "r2_deg": 10,
                    "quality": 2,
                }
            ],
        )
    )
    write.save(LabValue(patient=p, date=date(2022, 1, 31), analyte="IL-6", value=4.2, unit="pg/mL"))
    write.save(
        AdverseEvent(
            patient=p,
            date=date(2022, 2, 2),
            term="Fever",
            grade=1,
            serious=False,
            relatedness="possible",
            administration=admin,
            outcome="recovered",
            resolution_date=date(2022, 2, 3),
            action="none",
        )
    )
    write.save(
        AdverseEvent(
            patient=p,
            date=date(2022, 5, 2),
            term="Seizure",
            grade=3,
            serious=True,
            relatedness="unlikely",
        )
    )
    assert sheet.pk
    return p


def resources(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle["entry"]]


def normalise(bundle: dict) -> dict:
    """The bundle with record keys, research IDs and the timestamp replaced by stable names."""
    names: dict[str, str] = {}
    for i, r in enumerate(resources(bundle)):
        names[r["id"]] = f"{r['resourceType']}-{i}"

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            out = {}
            for k, v in x.items():
                if k == "id" and isinstance(v, str):
                    out[k] = names.get(v, v)
                elif k in ("reference", "fullUrl") and isinstance(v, str):
                    head, _, tail = v.rpartition("/")
                    out[k] = f"{head}/{names.get(tail, tail)}"
                else:
                    out[k] = walk(v)
            return out
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    out = walk(bundle)
    out.pop("timestamp")
    for r in resources(out):
        for ident in r.get("identifier", []):
            if ident["system"].endswith("/research-id"):
                ident["value"] = "R"
    return out
