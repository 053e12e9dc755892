"""Pseudonymised research exports (CSV / XLSX), read through the researchers' privacy
projection (:mod:`cpstem.registry.privacy`): research IDs, ages in months, no study IDs, no
birth dates, no calendar dates, no free text (adverse-event terms, lab analytes and units only as
terms of their closed lists), coarsened quasi-identifiers. Text cells are escaped against formula
injection (a leading =, +, -, @, tab or carriage return gets a leading apostrophe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from django.db import models
from django.db.models import QuerySet

from cpstem.registry import privacy
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

_PATIENT_FIELDS = (
    "id",
    "research_id",
    "sex",
    "birth_date",
    "gestational_age_weeks",
    "birth_weight_g",
    *CLINICAL_FIELDS,
    "gmfcs",
    "consent_withdrawn_date",
    "is_synthetic",
)
_ADMIN_FIELDS = (
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
_GMFM88_FIELDS = (
    "total",
    "pct_a",
    "pct_b",
    "pct_c",
    "pct_d",
    "pct_e",
    "goal_total",
    "n_not_tested",
    "with_aids",
    "blinded_assessor",
)
_AE_FIELDS = ("term", "grade", "serious", "relatedness", "action", "outcome")


def tables(patients: QuerySet[Patient] | None = None) -> dict[str, pd.DataFrame]:
    """The pseudonymised tables of the given patients (default: all), read through the
    researchers' projection (:func:`cpstem.registry.privacy.research`) whoever asks."""
    proj = privacy.research()
    patients = patients if patients is not None else Patient.objects.all()
    raw = list(patients.values(*_PATIENT_FIELDS, "site__code"))
    ids = [p["id"] for p in raw]
    birth = {p["id"]: p["birth_date"] for p in raw}
    first_admin: dict[int, object] = {}
    for pid, day in (
        Administration.objects.filter(patient_id__in=ids)
        .order_by("date", "id")
        .values_list("patient_id", "date")
    ):
        first_admin.setdefault(pid, day)

    def project(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
        """The event's time (age, days since first cells) and the row's projected fields."""
        pid, day = row.pop("patient_id"), row.pop("date")
        seen = proj.values(model, row, birth[pid])
        rid = research_id[pid]
        return {"research_id": rid} | proj.event(birth[pid], day, first_admin.get(pid)) | seen

    research_id: dict[int, str] = {}
    prows = []
    for p in raw:
        site = p.pop("site__code")
        v = proj.values(Patient, p | {"site": site}, p["birth_date"])
        research_id[p["id"]] = v["research_id"]
        fa = first_admin.get(p["id"])
        prows.append(
            {
                "research_id": v["research_id"],
                "site": v["site"],
                "sex": v["sex"],
                "age_months_at_first_administration": proj.event(p["birth_date"], fa, fa)[
                    "age_months"
                ]
                if fa
                else None,
                "gestational_age_weeks": v["gestational_age_weeks"],
                "birth_weight_g": v["birth_weight_g"],
                **{name: v[name] for name in CLINICAL_FIELDS},
                "gmfcs_current": v["gmfcs"],
                "consent_withdrawn": v["consent_withdrawn_age_months"] is not None,
                "synthetic": v["is_synthetic"],
            }
        )
    patients_df = pd.DataFrame(prows)
    admins = pd.DataFrame(
        [
            project(Administration, a)
            for a in Administration.objects.filter(patient_id__in=ids)
            .order_by("patient_id", "date")
            .values("patient_id", "date", *_ADMIN_FIELDS)
        ]
    )
    gmfm_rows = []
    for g in GMFM88Assessment.objects.filter(patient_id__in=ids).values(
        "patient_id", "date", *_GMFM88_FIELDS
    ):
        v = project(GMFM88Assessment, g)
        gmfm_rows.append(
            {k: v[k] for k in ("research_id", "age_months", "days_since_first_administration")}
            | {
                "instrument": "GMFM-88",
                "total": v["total"],
                "dim_a": v["pct_a"],
                "dim_b": v["pct_b"],
                "dim_c": v["pct_c"],
                "dim_d": v["pct_d"],
                "dim_e": v["pct_e"],
                "goal_total": v["goal_total"],
                "n_not_tested": v["n_not_tested"],
                "with_aids": v["with_aids"],
                "blinded_assessor": v["blinded_assessor"],
                "se": None,
            }
        )
    for g in GMFM66Assessment.objects.filter(patient_id__in=ids).values(
        "patient_id", "date", "score", "se", "blinded_assessor"
    ):
        v = project(GMFM66Assessment, g)
        gmfm_rows.append(
            {k: v[k] for k in ("research_id", "age_months", "days_since_first_administration")}
            | {
                "instrument": "GMFM-66",
                "total": v["score"],
                "se": v["se"],
                "blinded_assessor": v["blinded_assessor"],
            }
        )
    gmfm_df = pd.DataFrame(gmfm_rows)
    spast = []
    for s in SpasticityAssessment.objects.filter(patient_id__in=ids).values(
        "patient_id", "date", "mas", "tardieu"
    ):
        v = project(SpasticityAssessment, s)
        base = {k: v[k] for k in ("research_id", "age_months", "days_since_first_administration")}
        spast += [base | {"scale": "MAS", **r} for r in v["mas"]]
        spast += [base | {"scale": "Tardieu", **r} for r in v["tardieu"]]
    aes = []
    for e in AdverseEvent.objects.filter(patient_id__in=ids).values(
        "patient_id", "date", "resolution_date", *_AE_FIELDS
    ):
        onset, end = e["date"], e["resolution_date"]
        v = project(AdverseEvent, e)
        v.pop("resolution_age_months")
        aes.append(v | {"duration_days": (end - onset).days if end else None})
    labs = pd.DataFrame(
        [
            project(LabValue, v)
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
        "adverse_events": pd.DataFrame(aes),
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


def write(out: str | Path, patients: QuerySet[Patient] | None = None) -> dict[str, int]:
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


#: The suffixes ``--analysis`` writes.
ANALYSIS_SUFFIXES = (".csv", ".parquet")


def beside(path: Path, name: str) -> Path:
    """``OUT-<name>.<suffix>`` next to ``OUT.<suffix>`` (where the spasticity and laboratory
    tables go unless other paths are given)."""
    return path.with_name(f"{path.stem}-{name}{path.suffix}")


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in ANALYSIS_SUFFIXES:
        raise RegistryError(
            f"analysis file {path.name}: use a .csv or .parquet name",
            code="invalid_choice",
            field="path",
            params={"path": str(path), "allowed": list(ANALYSIS_SUFFIXES)},
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        safe_frame(frame).to_csv(path, index=False)


def write_analysis(
    out: str | Path,
    patients: QuerySet[Patient] | None = None,
    spasticity: str | Path | None = None,
    labs: str | Path | None = None,
) -> dict[str, tuple[Path, int]]:
    """Write the analysis table (``.csv`` or ``.parquet``: the contract columns of
    :mod:`cpstem.outcomes.ipd.table` plus ``dose_cells_per_kg_cumulative`` and ``synthetic``),
    the spasticity table and the laboratory table (default: beside it, ``OUT-spasticity`` and
    ``OUT-labs`` with the same suffix). Pseudonymised through the researchers' projection.
    Returns table name -> (path, rows)."""
    from cpstem.registry.services import analysis

    path = Path(out)
    paths = {
        "analysis": path,
        "spasticity": Path(spasticity) if spasticity else beside(path, "spasticity"),
        "labs": Path(labs) if labs else beside(path, "labs"),
    }
    for p in paths.values():  # refuse a wrong name before reading the database
        if p.suffix.lower() not in ANALYSIS_SUFFIXES:
            _write_frame(pd.DataFrame(), p)
    frames = analysis.build(patients).export_tables()
    out_counts = {}
    for name, p in paths.items():
        _write_frame(frames[name], p)
        out_counts[name] = (p, len(frames[name]))
    return out_counts
