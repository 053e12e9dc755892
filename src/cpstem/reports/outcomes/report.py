"""Assembling the outcomes report folder from an analysis table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpstem.outcomes.ipd import (
    dose_response,
    excess_change,
    lab_change,
    mixed_model,
    responders,
    spasticity_change,
    treatment_effect,
    validate_table,
)
from cpstem.outcomes.ipd.visits import visit_at
from cpstem.reports.document import Bullets, Heading, Para
from cpstem.reports.evidence.writer import ReportOutput, ReportWriter
from cpstem.reports.outcomes import figures
from cpstem.reports.outcomes.methods import LAB_METHODS, SPASTICITY_METHODS, WARNING, methods

#: scheduled months at which the trajectories are summarised
VISITS = np.array([0.0, 3.0, 6.0, 12.0, 18.0, 24.0, 36.0])


@dataclass(frozen=True)
class OutcomesSettings:
    """``months``: the target visit; ``mcid``: the GMFM-66 MCID (a number, GMFCS level ->
    number, or ``None``: the verified bundled values, currently none)."""

    months: float = 12.0
    mcid: float | Mapping[int, float] | None = None
    by: tuple[str, ...] = ("group", "product", "gmfcs")


def _rounded(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_float_dtype(out[name]):
            out[name] = out[name].round(digits)
    return out


def write_outcomes_report(
    table: pd.DataFrame,
    out: str | Path,
    settings: OutcomesSettings | None = None,
    *,
    spasticity: pd.DataFrame | None = None,
    labs: pd.DataFrame | None = None,
) -> ReportOutput:
    """Write ``out`` (HTML, PDF, Markdown, ``results.json``, tables, figures); see the package.

    ``spasticity`` / ``labs``: the spasticity and laboratory tables, if given, add their
    sections (``spasticity_change`` and ``lab_change`` at 6 and 12 months).
    """
    settings = settings or OutcomesSettings()
    months = settings.months
    folder = Path(out)
    data = validate_table(table, ["child", "group", "months", "gmfm66"])
    w = ReportWriter(folder, "Registry cohort outcomes")
    w.doc.add(Para(WARNING, "warning"))
    children = data.drop_duplicates("child")
    n_by_group = children["group"].astype(str).value_counts()
    w.results["cohort"] = {
        "children": len(children),
        "cells": int(n_by_group.get("cells", 0)),
        "control": int(n_by_group.get("control", 0)),
        "assessments": len(data),
    }
    w.results["warning"] = WARNING
    w.doc.add(
        Heading("Cohort"),
        Para(
            f"{len(children)} children ({n_by_group.get('cells', 0)} treated with cells,"
            f" {n_by_group.get('control', 0)} concurrent controls), {len(data)} GMFM-66"
            f" assessments. Target visit: {months:g} months."
        ),
    )
    analyses: dict[str, Any] = {}

    # excess change
    exc = excess_change(table, months=months, by=list(settings.by))
    w.doc.add(Heading(f"Excess change at {months:g} months"))
    w.table("excess_change", _rounded(exc.table), f"Excess GMFM-66 change at {exc.window}")
    w.figure(
        "excess_by_group",
        lambda p: figures.excess_plot(exc.table, p),
        "Mean excess change by group with 95% t CIs",
    )
    analyses["excess_change"] = exc.to_dict()

    # responders
    res = responders(table, months=months, threshold=settings.mcid, by="group")
    w.doc.add(Heading("Responders"))
    if res.mcid_source is None:
        w.doc.add(
            Para(
                "No verified GMFM-66 MCID is bundled and none was given (--mcid): only the "
                "measurement-error criteria are shown.",
                "note",
            )
        )
    w.table("responders", _rounded(res.table), f"Responders at {res.window}")
    w.figure(
        "responders",
        lambda p: figures.responder_plot(res.table[res.table.subgroup == "group"], p),
        "Proportion of responders by group with exact 95% CIs",
    )
    analyses["responders"] = res.to_dict()

    # trajectories
    traj = figures.trajectory_table(data, VISITS)
    w.doc.add(Heading("Mean trajectories"))
    w.table("trajectories", _rounded(traj), "Mean GMFM-66 by group and visit", show=False)
    w.figure(
        "trajectories",
        lambda p: figures.trajectory_plot(traj, p),
        "Mean GMFM-66 by group over follow-up with 95% CI bands",
    )

    # mixed model
    mm = mixed_model(table)
    w.doc.add(Heading("Linear mixed model"), Para(mm.summary().splitlines()[0]))
    w.table("mixed_fixed_effects", _rounded(mm.fixed_effects, 4), "Fixed effects")
    w.table("mixed_variance_components", _rounded(mm.variance_components, 4), "Variance components")
    analyses["mixed_model"] = {
        "formula": mm.formula,
        "method": mm.method,
        "fixed_effects": mm.to_dict()["fixed_effects"],
        "variance_components": mm.to_dict()["variance_components"],
        "log_likelihood": mm.log_likelihood,
        "converged": mm.converged,
    }

    # treatment effect
    w.doc.add(Heading("Treated vs concurrent controls"), Para(WARNING, "warning"))
    effects = []
    for method in ("ancova", "iptw"):
        te = treatment_effect(table, months=months, method=method)
        effects.append(
            {
                "method": method,
                "estimate": te.estimate,
                "se": te.se,
                "ci_lower": te.ci_lower,
                "ci_upper": te.ci_upper,
                "p_value": te.p_value,
                "n_treated": te.n_treated,
                "n_control": te.n_control,
                "e_value": te.e_value,
                "e_value_ci": te.e_value_ci,
            }
        )
        if method == "iptw":
            w.table("balance", _rounded(te.balance), "Standardised differences")
            w.figure(
                "love_plot",
                lambda p, b=te.balance: figures.love_png(b, p),
                "Love plot: absolute standardised differences before and after weighting",
            )
    w.table(
        "treatment_effect",
        _rounded(pd.DataFrame(effects)),
        f"Difference in GMFM-66 change at {months:g} months, cells minus controls",
    )
    analyses["treatment_effect"] = effects

    # dose-response
    dr = dose_response(table, months=months)
    w.doc.add(Heading("Dose-response"))
    w.table("dose_slopes", _rounded(dr.slopes), "Excess change per log10 cells/kg")
    rows, _ = visit_at(
        validate_table(table, ["child", "months", "dose_cells_per_kg", "excess_anchored"]), months
    )
    rows = rows[rows["dose_cells_per_kg"] > 0]
    points = pd.DataFrame(
        {
            "log10_dose": np.log10(rows["dose_cells_per_kg"].to_numpy(float)),
            "excess": rows["excess_anchored"].to_numpy(float),
        }
    )
    w.figure(
        "dose_response",
        lambda p: figures.dose_plot(dr.curves, points, p),
        "Excess change vs log10 dose with the linear and spline fits (95% bands)",
    )
    analyses["dose_response"] = {"slopes": dr.to_dict()["slopes"]}

    extra_methods: list[tuple[str, str]] = []
    if spasticity is not None:
        sp = spasticity_change(spasticity, months=(6, 12))
        w.doc.add(Heading("Spasticity"))
        w.table("spasticity", _rounded(sp.table), "Modified Ashworth change per muscle group")
        w.table(
            "spasticity_comparison",
            _rounded(sp.comparison),
            "Cells vs controls: proportional-odds model (odds ratio of a higher MAS grade)",
        )
        analyses["spasticity"] = {
            "table": sp.to_dict()["table"],
            "comparison": sp.to_dict()["comparison"],
        }
        extra_methods.append(("Spasticity", SPASTICITY_METHODS))
    if labs is not None:
        lc = lab_change(labs, months=(6, 12))
        w.doc.add(Heading("Laboratory markers"))
        w.table("labs", _rounded(lc.table), "Change from the pre-administration value")
        analyses["labs"] = lc.to_dict()["table"]
        extra_methods.append(("Laboratory markers", LAB_METHODS))

    # methods
    mcid_text = (
        "Beyond the MCID: GMFM-66 change at least the MCID given by the user."
        if res.mcid_source == "user"
        else "No MCID criterion: no verified GMFM-66 MCID is bundled."
        if res.mcid_source is None
        else "Beyond the MCID: the verified values of data/mcid.toml."
    )
    w.doc.add(Heading("Methods"))
    w.doc.add(
        Bullets([f"{name}: {text}" for name, text in [*methods(months, mcid_text), *extra_methods]])
    )
    w.doc.add(Para(WARNING, "warning"))
    w.results["settings"] = {"months": months, "mcid": settings.mcid, "by": list(settings.by)}
    w.results["analyses"] = analyses
    return w.finish()
