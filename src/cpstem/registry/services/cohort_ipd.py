"""The cohort dashboard's IPD figures: the analyses of :mod:`cpstem.outcomes.ipd` on the
registry's analysis table (:mod:`cpstem.registry.services.analysis`), filtered by site, product,
GMFCS level and synthetic records, for the patients the user may see.

The tables are kept per data version (:func:`analysis.cached`: built once, then only the
children whose records changed are rebuilt); the figures of one set of filters are cached per
data version, visible sites and filters, so that the page and its plots (separate SVG requests,
each drawn on its first request) cost a cache lookup after the first view.

Units: excess in GMFM-66 points with 95 % t CIs; proportions as percentages with exact
(Clopper–Pearson) 95 % CIs in percent too.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.core.cache import cache

from cpstem.errors import CpstemError
from cpstem.outcomes.ipd import (
    OBSERVATIONAL_WARNING,
    dose_response,
    excess_change,
    responders,
    spasticity_change,
    treatment_effect,
)
from cpstem.outcomes.ipd.table import validate_table
from cpstem.outcomes.ipd.visits import visit_at
from cpstem.registry.models.sites import visible_site_ids
from cpstem.registry.models.treatment import Product
from cpstem.registry.services import analysis

#: Visits of the trajectory figure (months since the anchor; the default schedule's).
VISITS = np.array([0.0, 1.0, 3.0, 6.0, 12.0, 24.0])
#: Bootstrap resamples of the dashboard's excess table (the t CI is shown; the bootstrap CI is
#: in the XLSX): fewer than the analyses' default to keep the page fast.
N_BOOT = 200
GROUP_LABELS = {"cells": "Cells", "control": "Concurrent controls", "all": "All children"}


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters (``None``: all)."""

    months: int = 12
    method: str = "anchored"
    site: str | None = None
    product: str | None = None
    gmfcs: int | None = None
    exclude_synthetic: bool = False

    def key(self) -> str:
        text = "|".join(f"{k}={v}" for k, v in asdict(self).items())
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def _pct(x: Any) -> float | None:
    v = analysis.finite(x)
    return None if v is None else 100.0 * v


def filtered(
    data: analysis.AnalysisData, visible: set[int] | None, f: Filters
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysis and spasticity rows the user may see, after the filters."""
    table, spast = data.table, data.spasticity
    keep = np.ones(len(table), bool)
    if visible is not None:
        keep &= table["patient_id"].isin(visible).to_numpy()
    if f.site:
        keep &= (table["site"] == f.site).to_numpy()
    if f.product:
        # a control has no product: the product filter compares that product with the controls
        keep &= ((table["product"] == f.product) | (table["group"] == "control")).to_numpy()
    if f.gmfcs:
        keep &= (table["gmfcs"] == f.gmfcs).to_numpy()
    if f.exclude_synthetic:
        keep &= ~table["synthetic"].to_numpy(bool)
    table = table[keep]
    spast = spast[spast["patient_id"].isin(set(table["patient_id"]))]
    return table.reset_index(drop=True), spast.reset_index(drop=True)


def _safe(compute: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return compute(), None
    except CpstemError as exc:
        return None, exc.message
    except (ValueError, np.linalg.LinAlgError) as exc:  # too few children for a model
        return None, f"cannot be estimated with these children ({exc})"


def _excess_rows(table: pd.DataFrame, f: Filters) -> list[dict[str, Any]]:
    labels = dict(Product.choices)
    rows = []
    for group in ("cells", "control", "all"):
        part = table if group == "all" else table[table["group"] == group]
        if part.empty:
            continue
        by = ["product", "gmfcs"] if group == "cells" else ["gmfcs"]
        res, _ = _safe(
            lambda p=part, b=by: excess_change(
                p, months=f.months, method=f.method, by=b, n_boot=N_BOOT
            )
        )
        if res is None:
            continue
        for r in res.table.to_dict("records"):
            if r["subgroup"] == "all":
                what = "all products" if group == "cells" else "all"
            elif r["subgroup"] == "product":
                what = labels.get(r["level"], r["level"])
            else:
                what = f"GMFCS {r['level']}"
            rows.append(
                {
                    "group": GROUP_LABELS[group],
                    "group_code": group,
                    "subgroup": what,
                    "is_all": r["subgroup"] == "all",
                    "n": int(r["n"]),
                    "mean": analysis.finite(r["mean"]),
                    "sd": analysis.finite(r["sd"]),
                    "ci_lower": analysis.finite(r["ci_lower"]),
                    "ci_upper": analysis.finite(r["ci_upper"]),
                    "boot_lower": analysis.finite(r["boot_lower"]),
                    "boot_upper": analysis.finite(r["boot_upper"]),
                }
            )
    return rows


def _responder_rows(table: pd.DataFrame, f: Filters) -> tuple[list[dict[str, Any]], str | None]:
    res, error = _safe(lambda: responders(table, months=f.months, by="group"))
    if res is None:
        return [], error
    rows = []
    for r in res.table.to_dict("records"):
        level = "all" if r["subgroup"] == "all" else r["level"]
        rows.append(
            {
                "group": GROUP_LABELS.get(level, level),
                "group_code": level,
                "criterion": r["criterion"],
                "n": int(r["n"]),
                "count": int(r["responders"]),
                "percent": _pct(r["proportion"]),
                "ci_lower": _pct(r["ci_lower"]),
                "ci_upper": _pct(r["ci_upper"]),
            }
        )
    return rows, None


def _trajectory_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    from cpstem.reports.outcomes.figures import trajectory_table

    if table.empty:
        return []
    traj = trajectory_table(table, VISITS)
    return [
        {k: analysis.finite(v) if k != "group" else v for k, v in r.items()}
        | {"group_label": GROUP_LABELS.get(r["group"], r["group"]), "n": int(r["n"])}
        for r in traj.to_dict("records")
    ]


def _dose(table: pd.DataFrame, f: Filters) -> tuple[dict[str, Any] | None, str | None]:
    treated = table[table["group"] == "cells"]
    res, error = _safe(lambda: dose_response(treated, months=f.months, method=f.method))
    if res is None:
        return None, error
    labels = dict(Product.choices)
    column = f"excess_{f.method}"
    rows, _ = visit_at(
        validate_table(treated, ["child", "months", "dose_cells_per_kg", column]), f.months
    )
    rows = rows[(rows["dose_cells_per_kg"] > 0) & rows[column].notna()]
    slopes = [
        {
            "product": "all products"
            if r["product"] == "all"
            else labels.get(r["product"], r["product"]),
            "n": int(r["n"]),
            "slope": analysis.finite(r.get("slope")),
            "ci_lower": analysis.finite(r.get("ci_lower")),
            "ci_upper": analysis.finite(r.get("ci_upper")),
            "p_value": analysis.finite(r.get("p_value")),
            "note": r.get("note") or "",
        }
        for r in res.slopes.to_dict("records")
    ]
    points = pd.DataFrame(
        {
            "log10_dose": np.log10(rows["dose_cells_per_kg"].to_numpy(float)),
            "excess": rows[column].to_numpy(float),
        }
    )
    return {"slopes": slopes, "curves": res.curves, "points": points, "window": res.window}, None


def _spasticity(spast: pd.DataFrame) -> tuple[dict[str, Any] | None, str | None]:
    if spast.empty:
        return None, "no Modified Ashworth assessments for these children"
    res, error = _safe(
        lambda: spasticity_change(spast.drop(columns=["patient_id"]), months=(6.0, 12.0))
    )
    if res is None:
        return None, error
    rows = [
        {
            "months": int(r["months"]),
            "muscle": str(r["muscle"]).replace("_", " "),
            "n": int(r["n"]),
            "improved": _pct(r["improved_proportion"]),
            "improved_lower": _pct(r["improved_lower"]),
            "improved_upper": _pct(r["improved_upper"]),
            "unchanged": _pct(r["unchanged_proportion"]),
            "worse": _pct(r["worse_proportion"]),
            "worse_lower": _pct(r["worse_lower"]),
            "worse_upper": _pct(r["worse_upper"]),
            "median_change": analysis.finite(r["median_change"]),
        }
        for r in res.table.to_dict("records")
    ]
    comparison = [
        {
            "months": int(r["months"]),
            "n_children": int(r["n_children"]),
            "odds_ratio": analysis.finite(r["odds_ratio"]),
            "ci_lower": analysis.finite(r["ci_lower"]),
            "ci_upper": analysis.finite(r["ci_upper"]),
            "p_value": analysis.finite(r["p_value"]),
        }
        for r in res.comparison.to_dict("records")
    ]
    return {"table": rows, "comparison": comparison}, None


def _effect(table: pd.DataFrame, f: Filters) -> tuple[dict[str, Any] | None, str | None]:
    res, error = _safe(lambda: treatment_effect(table, months=f.months, method="ancova"))
    if res is None:
        return None, error
    return {
        "estimate": res.estimate,
        "ci_lower": res.ci_lower,
        "ci_upper": res.ci_upper,
        "p_value": res.p_value,
        "n_treated": res.n_treated,
        "n_control": res.n_control,
        "e_value": analysis.finite(res.e_value),
        "window": res.window,
        # a covariate constant in the rows shown (GMFCS when one level is filtered) is left out
        "adjusted": [_COVARIATE_LABELS.get(a, a) for a in res.adjust if a not in res.dropped],
    }, None


_COVARIATE_LABELS = {
    "gmfm66_baseline": "baseline GMFM-66",
    "age_baseline_years": "age",
    "gmfcs": "GMFCS",
}


def compute(table: pd.DataFrame, spast: pd.DataFrame, f: Filters) -> dict[str, Any]:
    """Every figure of the dashboard for these rows (plain data; plots drawn from it)."""
    return compute_gmfm(table, f) | compute_spasticity(spast)


def compute_spasticity(spast: pd.DataFrame) -> dict[str, Any]:
    """The spasticity figures (they do not depend on the visit or method filters)."""
    spasticity, spasticity_error = _spasticity(spast)
    return {"spasticity": spasticity, "spasticity_error": spasticity_error}


def compute_gmfm(table: pd.DataFrame, f: Filters) -> dict[str, Any]:
    """The figures of the GMFM-66 analysis table."""
    children = table.drop_duplicates("patient_id")
    responder_rows, responder_error = _responder_rows(table, f)
    dose, dose_error = _dose(table, f)
    effect, effect_error = _effect(table, f)
    return {
        "filters": asdict(f),
        "n_children": {
            "cells": int((children["group"] == "cells").sum()),
            "control": int((children["group"] == "control").sum()),
        },
        "excess": _excess_rows(table, f),
        "responders": responder_rows,
        "responders_error": responder_error,
        "trajectories": _trajectory_rows(table),
        "dose": dose,
        "dose_error": dose_error,
        "effect": effect,
        "effect_error": effect_error,
        "warning": OBSERVATIONAL_WARNING,
    }


#: The analysis tables the dashboard reads.
PARTS = ("gmfm", "spasticity")


def _key(kind: str, user: Any, f: Filters, current: dict[str, analysis.Mark]) -> str:
    """Cache key of one user's figures: data version of the tables read, the sites the user
    may see (site separation: never another site's figures) and the filters."""
    version = analysis.data_version(PARTS, current)
    return f"cpstem-cohort-{kind}:{version}:{visible_site_ids(user)}:{f.key()}"


def figures(
    user: Any, f: Filters, current: dict[str, analysis.Mark] | None = None
) -> dict[str, Any]:
    """:func:`compute` for the patients ``user`` may see, cached per data version
    (``current``: the :func:`analysis.marks` of this request, to read them once)."""
    current = current if current is not None else analysis.marks()
    key = _key("figures", user, f, current)
    hit = cache.get(key)
    if hit is None:
        data = analysis.cached(PARTS, current)
        sites = visible_site_ids(user)
        visible = None
        if sites is not None:
            from cpstem.registry.models import Patient

            visible = set(Patient.objects.filter(site_id__in=sites).values_list("pk", flat=True))
        table, spast = filtered(data, visible, f)
        # the GMFM-66 figures per GMFM-66 table version; the spasticity figures per spasticity
        # table version and set of children (adding a GMFM-66 leaves them as they are)
        v = analysis.versions(current)
        gkey = f"cpstem-cohort-gmfm:{v['gmfm']}:{sites}:{f.key()}"
        gmfm = cache.get(gkey)
        if gmfm is None:
            gmfm = compute_gmfm(table, f)
            cache.set(gkey, gmfm, timeout=3600)
        children = hashlib.sha256(np.sort(spast["patient_id"].to_numpy(np.int64)).tobytes())
        skey = f"cpstem-cohort-spasticity:{v['spasticity']}:{children.hexdigest()[:32]}"
        spasticity = cache.get(skey)
        if spasticity is None:
            spasticity = compute_spasticity(spast)
            cache.set(skey, spasticity, timeout=3600)
        hit = gmfm | spasticity
        cache.set(key, hit, timeout=3600)
    return hit


def registry_summary(
    user: Any, patients: Any, current: dict[str, analysis.Mark] | None = None
) -> dict[str, Any]:
    """The dashboard's registry counts, GMFCS distribution and adverse events by product
    (:mod:`cpstem.registry.services.cohort`) for the patients ``user`` may see, each cached
    per version of the records it counts, visible sites (and for adverse events the day:
    follow-up runs to today)."""
    from cpstem.registry.clock import today
    from cpstem.registry.models import AdverseEvent, GMFM88Assessment
    from cpstem.registry.services import cohort

    current = current if current is not None else analysis.marks()
    extra = {m.__name__: analysis.Mark.of(m) for m in (AdverseEvent, GMFM88Assessment)}
    marks = current | extra
    sites = repr(visible_site_ids(user))
    out = {}
    for kind, names, compute_it in (
        ("counts", sorted(marks), lambda: cohort.counts(patients)),
        (
            "gmfcs",
            ["Site", "Patient", "Classification"],
            lambda: cohort.gmfcs_distribution(patients),
        ),
        (
            "ae",
            ["Site", "Patient", "Administration", "AdverseEvent", today().isoformat()],
            lambda: cohort.ae_by_product(patients),
        ),
    ):
        text = "|".join([*(repr(marks.get(n, n)) for n in names), sites])
        key = f"cpstem-cohort-{kind}:" + hashlib.sha256(text.encode()).hexdigest()[:32]
        hit = cache.get(key)
        if hit is None:
            hit = compute_it()
            cache.set(key, hit, timeout=3600)
        out[kind] = hit
    return out


# --- plots (SVG) ------------------------------------------------------------------------------


def _svg(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    return buf.getvalue()


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _empty(text: str) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", color="grey")
    return _svg(fig)


CELLS = "#2471a3"
CONTROL = "#c0392b"
ALL = "#555555"
COLOURS = {"cells": CELLS, "control": CONTROL, "all": ALL}


def plot_excess(fig_data: dict[str, Any]) -> bytes:
    rows = [r for r in fig_data["excess"] if r["ci_lower"] is not None]
    if not rows:
        return _empty("no child with a baseline and a GMFM-66 at this visit")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows, strict=True):
        colour = COLOURS[r["group_code"]]
        ax.errorbar(
            r["mean"],
            yi,
            xerr=[[r["mean"] - r["ci_lower"]], [r["ci_upper"] - r["mean"]]],
            fmt="D" if r["is_all"] else "o",
            color=colour,
            capsize=3,
            markersize=7 if r["is_all"] else 5,
        )
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{r['group']}: {r['subgroup']} (n {r['n']})" for r in rows], fontsize=8)
    ax.set_xlabel("excess GMFM-66 change (points), mean and 95% CI")
    fig.tight_layout()
    return _svg(fig)


def plot_responders(fig_data: dict[str, Any]) -> bytes:
    rows = [r for r in fig_data["responders"] if r["percent"] is not None]
    if not rows:
        return _empty(fig_data.get("responders_error") or "no data")
    plt = _pyplot()
    criteria = list(dict.fromkeys(r["criterion"] for r in rows))
    groups = list(dict.fromkeys(r["group_code"] for r in rows))
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(criteria))
    for i, g in enumerate(groups):
        part = {r["criterion"]: r for r in rows if r["group_code"] == g}
        p = np.array([part[c]["percent"] if c in part else np.nan for c in criteria])
        lo = np.array([part[c]["ci_lower"] if c in part else np.nan for c in criteria])
        hi = np.array([part[c]["ci_upper"] if c in part else np.nan for c in criteria])
        ax.bar(
            x + i * width,
            p,
            width,
            yerr=[p - lo, hi - p],
            capsize=3,
            color=COLOURS.get(g, ALL),
            label=GROUP_LABELS.get(g, g),
        )
    ax.set_xticks(x + width * (len(groups) - 1) / 2)
    ax.set_xticklabels([c.replace("_", " ") for c in criteria])
    ax.set_ylabel("% of children (exact 95% CI)")
    ax.set_ylim(0, 100)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def plot_trajectories(fig_data: dict[str, Any]) -> bytes:
    traj = pd.DataFrame(fig_data["trajectories"])
    if traj.empty:
        return _empty("no GMFM-66 assessments")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for group in ("control", "cells"):
        part = traj[traj["group"] == group]
        if part.empty:
            continue
        colour = COLOURS[group]
        ax.plot(part["months"], part["mean"], marker="o", color=colour, label=GROUP_LABELS[group])
        lo = part["ci_lower"].astype(float)
        hi = part["ci_upper"].astype(float)
        ax.fill_between(part["months"], lo, hi, color=colour, alpha=0.2)
    ax.set_xlabel("months since baseline (first administration / enrolment)")
    ax.set_ylabel("GMFM-66, mean and 95% CI")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def plot_dose(fig_data: dict[str, Any]) -> bytes:
    dose = fig_data["dose"]
    if dose is None:
        return _empty(fig_data.get("dose_error") or "no treated child with a dose")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    points, curves = dose["points"], dose["curves"]
    ax.scatter(points["log10_dose"], points["excess"], s=10, color="grey", alpha=0.6)
    overall = curves[curves["product"] == "all"] if "product" in curves else curves
    for model, colour in (("linear", CELLS), ("spline", CONTROL)):
        if "model" not in overall:
            break  # too few children for a fit: the points only
        part = overall[overall["model"] == model]
        if part.empty:
            continue
        ax.plot(part["log10_dose"], part["fit"], color=colour, label=model)
        ax.fill_between(
            part["log10_dose"], part["ci_lower"], part["ci_upper"], color=colour, alpha=0.15
        )
    ax.axhline(0, color="grey", linewidth=1)
    ax.set_xlabel("log10 cells per kg (first administration)")
    ax.set_ylabel("excess GMFM-66 change (points)")
    if ax.get_legend_handles_labels()[1]:  # no fit (too few children): the points only
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def plot_spasticity(fig_data: dict[str, Any]) -> bytes:
    sp = fig_data["spasticity"]
    if sp is None:
        return _empty(fig_data.get("spasticity_error") or "no spasticity data")
    rows = sp["table"]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for key, colour, label in (
        ("improved", CELLS, "improved >= 1 grade"),
        ("unchanged", "#bbbbbb", "unchanged"),
        ("worse", CONTROL, "worse >= 1 grade"),
    ):
        values = np.array([r[key] or 0.0 for r in rows])
        ax.barh(y, values, left=left, color=colour, label=label)
        left += values
    ax.set_yticks(y)
    ax.set_yticklabels([f"{r['muscle']}, {r['months']} mo (n {r['n']})" for r in rows], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of limbs (Modified Ashworth change from baseline)")
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return _svg(fig)


PLOTS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "excess": plot_excess,
    "responders": plot_responders,
    "trajectories": plot_trajectories,
    "dose": plot_dose,
    "spasticity": plot_spasticity,
}


def plot(user: Any, f: Filters, name: str) -> bytes:
    """One dashboard plot as SVG, cached with the figures (drawn on first request)."""
    current = analysis.marks()
    key = _key(f"plot-{name}", user, f, current)
    hit = cache.get(key)
    if hit is None:
        hit = PLOTS[name](figures(user, f, current))
        cache.set(key, hit, timeout=3600)
    return hit


# --- XLSX -------------------------------------------------------------------------------------


def xlsx(fig_data: dict[str, Any], extra: dict[str, pd.DataFrame] | None = None) -> bytes:
    """The dashboard's tables as a workbook (one sheet each; percentages in percent)."""
    from cpstem.spreadsheet import safe_frame

    sheets: dict[str, pd.DataFrame] = {
        "filters": pd.DataFrame([fig_data["filters"]]),
        "excess": pd.DataFrame(fig_data["excess"]).drop(
            columns=["group_code", "is_all"], errors="ignore"
        ),
        "beyond_error": pd.DataFrame(fig_data["responders"]).drop(
            columns=["group_code"], errors="ignore"
        ),
        "trajectories": pd.DataFrame(fig_data["trajectories"]),
    }
    if fig_data["dose"] is not None:
        sheets["dose_response"] = pd.DataFrame(fig_data["dose"]["slopes"])
    if fig_data["spasticity"] is not None:
        sheets["spasticity"] = pd.DataFrame(fig_data["spasticity"]["table"])
        sheets["spasticity_cells_vs_ctrl"] = pd.DataFrame(fig_data["spasticity"]["comparison"])
    if fig_data["effect"] is not None:
        sheets["cells_vs_controls"] = pd.DataFrame([fig_data["effect"]])
    sheets |= extra or {}
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(xl, sheet_name=name[:31], index=False)
    return buf.getvalue()
