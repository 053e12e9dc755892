"""Pseudonymised research exports (CSV / XLSX): research IDs, ages in months, no study IDs,
no birth dates, no calendar dates, no free text. Text cells are escaped against formula
injection (a leading =, +, -, @, tab or carriage return gets a leading apostrophe)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpstem.outcomes.dates import age_months
from cpstem.registry.errors import RegistryError
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.models.patients import CLINICAL_FIELDS
from cpstem.spreadsheet import safe_frame


def tables(patients=None) -> dict[str, pd.DataFrame]:
    """The pseudonymised tables of the given patients (default: all)."""
    patients = patients if patients is not None else Patient.objects.all()
    prows = list(
        patients.select_related("site").values(
            "id",
            "research_id",
            "site__code",
            "sex",
            "birth_date",
            "gestational_age_weeks",
            "birth_weight_g",
            *CLINICAL_FIELDS,
            "gmfcs",
            "consent_date",
            "consent_withdrawn_date",
            "is_synthetic",
        )
    )
    ids = [p["id"] for p in prows]
    birth = {p["id"]: p["birth_date"] for p in prows}
    rid = {p["id"]: p["research_id"] for p in prows}
    first_admin: dict[int, object] = {}
    for pid, day in (
        Administration.objects.filter(patient_id__in=ids)
        .order_by("date")
        .values_list("patient_id", "date")
    ):
        first_admin.setdefault(pid, day)

    def when(pid, day) -> dict:
        fa = first_admin.get(pid)
        return {
            "research_id": rid[pid],
            "age_months": age_months(birth[pid], day),
            "days_since_first_administration": (day - fa).days if fa else None,
        }

    patients_df = pd.DataFrame(
        [
            {
                "research_id": p["research_id"],
                "site": p["site__code"],
                "sex": p["sex"],
                "age_months_at_first_administration": age_months(
                    p["birth_date"], first_admin[p["id"]]
                )
                if p["id"] in first_admin
                else None,
                "gestational_age_weeks": float(p["gestational_age_weeks"])
                if p["gestational_age_weeks"] is not None
                else None,
                "birth_weight_g": p["birth_weight_g"],
                **{name: p[name] for name in CLINICAL_FIELDS},
                "gmfcs_current": p["gmfcs"],
                "consent_withdrawn": p["consent_withdrawn_date"] is not None,
                "synthetic": p["is_synthetic"],
            }
            for p in prows
        ]
    )
    admins = pd.DataFrame(
        [
            when(a["patient_id"], a["date"])
            | {k: a[k] for k in a if k not in ("patient_id", "date")}
            for a in Administration.objects.filter(patient_id__in=ids)
            .order_by("patient_id", "date")
            .values(
                "patient_id",
                "date",
                "product",
                "origin",
                "hla_match",
                "cells_total",
                "weight_kg",
                "dose_cells_per_kg",
                "route",
                "gcsf",
                "epo",
                "immunosuppression",
            )
        ]
    )
    gmfm_rows = [
        when(g["patient_id"], g["date"])
        | {
            "instrument": "GMFM-88",
            "total": g["total"],
            "dim_a": g["pct_a"],
            "dim_b": g["pct_b"],
            "dim_c": g["pct_c"],
            "dim_d": g["pct_d"],
            "dim_e": g["pct_e"],
            "goal_total": g["goal_total"],
            "n_not_tested": g["n_not_tested"],
            "with_aids": g["with_aids"],
            "se": None,
        }
        for g in GMFM88Assessment.objects.filter(patient_id__in=ids).values(
            "patient_id",
            "date",
            "total",
            "pct_a",
            "pct_b",
            "pct_c",
            "pct_d",
            "pct_e",
            "goal_total",
            "n_not_tested",
            "with_aids",
        )
    ] + [
        when(g["patient_id"], g["date"])
        | {"instrument": "GMFM-66", "total": g["score"], "se": g["se"]}
        for g in GMFM66Assessment.objects.filter(patient_id__in=ids).values(
            "patient_id", "date", "score", "se"
        )
    ]
    gmfm_df = pd.DataFrame(gmfm_rows)
    spast = []
    for s in SpasticityAssessment.objects.filter(patient_id__in=ids).values(
        "patient_id", "date", "mas", "tardieu"
    ):
        base = when(s["patient_id"], s["date"])
        spast += [base | {"scale": "MAS", **r} for r in s["mas"]]
        spast += [base | {"scale": "Tardieu", **r} for r in s["tardieu"]]
    aes = pd.DataFrame(
        [
            when(e["patient_id"], e["date"])
            | {
                "term": e["term"],
                "grade": e["grade"],
                "serious": e["serious"],
                "relatedness": e["relatedness"],
                "action": e["action"],
                "outcome": e["outcome"],
                "duration_days": (e["resolution_date"] - e["date"]).days
                if e["resolution_date"]
                else None,
            }
            for e in AdverseEvent.objects.filter(patient_id__in=ids).values(
                "patient_id",
                "date",
                "resolution_date",
                "term",
                "grade",
                "serious",
                "relatedness",
                "action",
                "outcome",
            )
        ]
    )
    labs = pd.DataFrame(
        [
            when(v["patient_id"], v["date"])
            | {"analyte": v["analyte"], "value": v["value"], "unit": v["unit"]}
            for v in LabValue.objects.filter(patient_id__in=ids).values(
                "patient_id", "date", "analyte", "value", "unit"
            )
        ]
    )
    return {
        "patients": patients_df,
        "administrations": admins,
        "gmfm": gmfm_df,
        "spasticity": pd.DataFrame(spast),
        "adverse_events": aes,
        "labs": labs,
    }


def analysis_table(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per GMFM assessment with the patient's covariates and first product and dose."""
    gm = t["gmfm"]
    if gm.empty:
        return gm
    first = (
        t["administrations"]
        .sort_values("days_since_first_administration")
        .groupby("research_id")
        .first()[["product", "origin", "route", "dose_cells_per_kg"]]
        .add_prefix("first_")
        if not t["administrations"].empty
        else pd.DataFrame()
    )
    out = gm.merge(t["patients"], on="research_id", how="left")
    if not first.empty:
        out = out.merge(first, left_on="research_id", right_index=True, how="left")
    return out.sort_values(["research_id", "age_months", "instrument"]).reset_index(drop=True)


def write(out: str | Path, patients=None) -> dict[str, int]:
    """Write ``.csv`` (the analysis table) or ``.xlsx`` (every table as a sheet); row counts."""
    path = Path(out)
    t = tables(patients)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        table = safe_frame(analysis_table(t))
        table.to_csv(path, index=False)
        return {"analysis": len(table)}
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            analysis = safe_frame(analysis_table(t))
            analysis.to_excel(xl, sheet_name="analysis", index=False)
            for name, df in t.items():
                safe_frame(df).to_excel(xl, sheet_name=name, index=False)
        return {"analysis": len(analysis)} | {k: len(v) for k, v in t.items()}
    raise RegistryError(f"export file {path.name}: use a .csv or .xlsx name")
