"""Sections any meta-analysis report has: the pooled model, its forest plot, subgroups,
leave-one-out sensitivity, small-study effects, sparse-event methods, methods and caveats.

Each table built from a result's attributes has one function here (``*_table``, and
:func:`model_figures` for the key figures in ``results.json``), so that it can later read the
result's own ``to_frame()``/``to_dict()``:

* :func:`model_figures` - an ``RMAResult`` (random/fixed-effects model) as key figures;
* :func:`study_table` - the studies of a model with their intervals and weights;
* :func:`leave_one_out_table` - a leave-one-out ``Sequence``;
* :func:`subgroup_table` and :func:`subgroup_figures` - ``SubgroupResult`` objects;
* :func:`pooled_tables_table` and :func:`pooled_tables_figures` - Mantel-Haenszel/Peto fits;
* :func:`single_arm_table` - exact binomial intervals of single-arm event counts;
* :func:`event_ratio_table` - risk ratios of events in one controlled trial.

Every interval is at the level of the model (``Settings.level``) and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cpstem import __version__
from cpstem import evidence as ev
from cpstem.formatting import format_p
from cpstem.reports.document import Bullets, Heading, Para
from cpstem.reports.evidence.numbers import RATIO, back, ci_text, p_phrase
from cpstem.reports.evidence.settings import Settings, level_text, percent
from cpstem.reports.evidence.writer import ReportWriter

MIN_K_BIAS = 10  # Cochrane Handbook 13.3.5.4: tests for funnel asymmetry need >= 10 studies


# --------------------------------------------------------------------------- tables and figures


def model_figures(res: ev.RMAResult, measure: str) -> dict[str, Any]:
    """The key figures of a fitted model (estimate and intervals on the natural scale)."""
    out = {
        "measure": measure,
        "method": res.method,
        "test": res.test,
        "level": res.level,
        "k": res.k,
        "estimate": back(measure, res.estimate),
        "ci_lower": back(measure, res.ci_lower),
        "ci_upper": back(measure, res.ci_upper),
        "pval": res.pval,
        "tau2": res.tau2,
        "i2": res.i2,
        "h2": res.h2,
        "q": res.q,
        "q_df": res.q_df,
        "q_pval": res.q_pval,
    }
    if res.pi_lower is not None and res.method != "FE":
        out |= {"pi_lower": back(measure, res.pi_lower), "pi_upper": back(measure, res.pi_upper)}
    return out


def study_table(
    es: ev.EffectSizes, res: ev.RMAResult, extra: pd.DataFrame | None, measure: str
) -> pd.DataFrame:
    """One row per study: effect, Wald interval at the model's level, weight, ``extra`` columns."""
    z = stats.norm.ppf(0.5 + percent(res.level) / 200)
    se = np.sqrt(es.vi)
    frame = pd.DataFrame(
        {
            "study": list(es.labels),
            measure: [back(measure, y) for y in es.yi],
            "ci_lower": [back(measure, y - z * s) for y, s in zip(es.yi, se, strict=True)],
            "ci_upper": [back(measure, y + z * s) for y, s in zip(es.yi, se, strict=True)],
            "weight_percent": np.round(res.weights, 1),
        }
    )
    for col in (measure, "ci_lower", "ci_upper"):
        frame[col] = frame[col].round(3)
    if extra is not None:
        frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
    return frame


def leave_one_out_table(loo: ev.Sequence, measure: str) -> pd.DataFrame:
    """One row per left-out study: the pooled estimate and interval without it, and I^2."""
    return pd.DataFrame(
        {
            "left out": list(loo.labels),
            "estimate": [round(back(measure, v), 3) for v in loo.estimate],
            "ci_lower": [round(back(measure, v), 3) for v in loo.ci_lower],
            "ci_upper": [round(back(measure, v), 3) for v in loo.ci_upper],
            "i2_percent": np.round(loo.i2, 1),
        }
    )


def subgroup_table(subs: Mapping[str, ev.SubgroupResult], measure: str) -> pd.DataFrame:
    """One row per subgroup of each split (``subs``: title of the split -> result)."""
    rows = []
    for name, sub in subs.items():
        for lv in sub.levels:
            fit = sub.fits[lv]
            rows.append(
                {
                    "by": name,
                    "subgroup": lv,
                    "k": fit.k,
                    "estimate": round(back(measure, fit.estimate), 3),
                    "ci_lower": round(back(measure, fit.ci_lower), 3),
                    "ci_upper": round(back(measure, fit.ci_upper), 3),
                    "test for differences": f"Q = {sub.q_between:.2f}, df = {sub.q_between_df}, "
                    f"{p_phrase(sub.q_between_pval)}",
                }
            )
    return pd.DataFrame(rows)


def subgroup_figures(sub: ev.SubgroupResult, measure: str) -> dict[str, Any]:
    """Key figures of one subgroup split: a model per subgroup and the test for differences."""
    return {
        "levels": {lv: model_figures(sub.fits[lv], measure) for lv in sub.levels},
        "q_between": sub.q_between,
        "q_between_df": sub.q_between_df,
        "q_between_pval": sub.q_between_pval,
    }


def pooled_tables_estimate(p: ev.PooledTables) -> tuple[float, float, float]:
    """Estimate and interval of a Mantel-Haenszel / Peto fit on the natural scale."""
    return tuple(back(p.measure, x) for x in (p.estimate, p.ci_lower, p.ci_upper))


def pooled_tables_table(
    fits: Mapping[str, ev.PooledTables], level: float, informing: bool = False
) -> pd.DataFrame:
    """One row per Mantel-Haenszel / Peto fit (``fits``: row title -> fit, all at ``level``).

    ``informing``: the last column is "studies informing" (for a ratio, the studies with an
    event) instead of "k" (all studies).
    """
    rows = []
    for name, p in fits.items():
        est, lo, hi = pooled_tables_estimate(p)
        row = {
            "method": name,
            f"estimate [{level_text(level)} CI]": ci_text(est, lo, hi, ".3f"),
            "p": format_p(p.pval),
        }
        if informing:
            row["studies informing"] = p.k_yi if p.measure in RATIO else p.k
        else:
            row["k"] = p.k
        rows.append(row)
    return pd.DataFrame(rows)


def pooled_tables_figures(p: ev.PooledTables) -> dict[str, Any]:
    """Key figures of a Mantel-Haenszel / Peto fit."""
    est, lo, hi = pooled_tables_estimate(p)
    return {
        "level": p.level,
        "estimate": est,
        "ci_lower": lo,
        "ci_upper": hi,
        "pval": p.pval,
        "k": p.k,
    }


def single_arm_table(rows: pd.DataFrame, level: float) -> pd.DataFrame:
    """Proportions with exact (Clopper-Pearson) intervals at ``level``.

    ``rows``: columns ``study``, ``event``, ``events`` and ``n``.
    """
    out = []
    for r in rows.itertuples(index=False):
        k, n = int(r.events), int(r.n)
        ci = stats.binomtest(k, n).proportion_ci(
            confidence_level=percent(level) / 100, method="exact"
        )
        out.append(
            {
                "study": r.study,
                "event": r.event,
                "events/n": f"{k}/{n}",
                f"proportion [{level_text(level)} CI]": ci_text(k / n, ci.low, ci.high, ".3f"),
            }
        )
    return pd.DataFrame(out)


def event_ratio_table(rows: pd.DataFrame, level: float) -> pd.DataFrame:
    """Risk ratio (cells vs control) with its Wald interval at ``level``, one row per event.

    ``rows``: columns ``event``, ``events_cells``, ``n_cells``, ``events_control``,
    ``n_control``.
    """
    es = ev.effect_sizes(
        "RR",
        ai=rows["events_cells"],
        n1i=rows["n_cells"],
        ci=rows["events_control"],
        n2i=rows["n_control"],
    )
    z = stats.norm.ppf(0.5 + percent(level) / 200)
    return pd.DataFrame(
        {
            "event": rows["event"].tolist(),
            "cells": [
                f"{int(a)}/{int(n)}"
                for a, n in zip(rows["events_cells"], rows["n_cells"], strict=True)
            ],
            "control": [
                f"{int(a)}/{int(n)}"
                for a, n in zip(rows["events_control"], rows["n_control"], strict=True)
            ],
            f"risk ratio [{level_text(level)} CI]": [
                ci_text(*(back("RR", x) for x in (y, y - z * np.sqrt(v), y + z * np.sqrt(v))))
                for y, v in zip(es.yi, es.vi, strict=True)
            ],
        }
    )


# --------------------------------------------------------------------------- text


def pooled_text(res: ev.RMAResult, measure: str, n: float | None = None) -> str:
    """The pooled estimate, its interval and heterogeneity in one paragraph."""
    f = model_figures(res, measure)
    lvl = level_text(res.level)
    people = f", {int(n)} participants" if n else ""
    text = (
        f"Pooled {measure} {ci_text(f['estimate'], f['ci_lower'], f['ci_upper'])} "
        f"({lvl} CI; {p_phrase(res.pval)}; k = {res.k}{people}). Heterogeneity: "
        f"tau^2 = {res.tau2:.3f}, I^2 = {res.i2:.1f}%, Q = {res.q:.2f} "
        f"(df {res.q_df}, {p_phrase(res.q_pval)})."
    )
    if "pi_lower" in f:
        text += (
            f" {lvl} prediction interval {f['pi_lower']:.2f} to "
            f"{f['pi_upper']:.2f}: the range in which the effect of a new, similar trial "
            "is expected to lie."
        )
    return text


def influence_text(infl: ev.Influence) -> str:
    """Which studies metafor's ``influence()`` flags."""
    flagged = [lab for lab, f in zip(infl.labels, infl.influential, strict=True) if f]
    return "Influence diagnostics (metafor influence()): " + (
        f"influential: {', '.join(flagged)}." if flagged else "no study is flagged as influential."
    )


# --------------------------------------------------------------------------- sections


def analysis(
    w: ReportWriter,
    key: str,
    title: str,
    es: ev.EffectSizes,
    s: Settings,
    attributes: pd.DataFrame | None = None,
    n_total: float | None = None,
    subgroup_cols: Mapping[str, str] | None = None,
) -> ev.RMAResult | None:
    """One pooled analysis: table, model, forest, subgroups, sensitivity, small-study effects."""
    doc = w.doc
    doc.add(Heading(title, 3))
    if len(es.yi) == 0:
        doc.add(Para("No study can be pooled here.", "warning"))
        return None
    res = ev.rma(es, method=s.method, test=s.test, level=s.level)
    measure = es.measure
    lvl = s.level_text
    w.results.setdefault("analyses", {})[key] = model_figures(res, measure) | {
        "studies": list(es.labels)
    }
    w.table(
        f"{key}_studies",
        study_table(es, res, attributes, measure),
        f"Studies pooled in '{title}' ({lvl} CIs)",
    )
    doc.add(Para(pooled_text(res, measure, n_total)))
    if res.k < 3:
        doc.add(
            Para(
                f"Only {res.k} studies: the between-trial variance cannot be estimated "
                "reliably; treat the pooled figure as descriptive.",
                "warning",
            )
        )
    w.figure(
        f"{key}_forest", lambda path: ev.forest(res, out=path, title=title), f"Forest plot: {title}"
    )
    if subgroup_cols and attributes is not None:
        subgroups(w, key, es, s, attributes, subgroup_cols)
    if res.k >= 3:
        w.table(
            f"{key}_leave_one_out",
            leave_one_out_table(ev.leave_one_out(res), measure),
            f"Leave-one-out sensitivity analysis ({lvl} CIs)",
        )
        small_study_effects(w, key, res, title)
    return res


def small_study_effects(w: ReportWriter, key: str, res: ev.RMAResult, title: str) -> None:
    """Egger's regression and Begg's rank test, with a caveat below 10 studies, and a funnel."""
    reg = ev.regtest(res)
    rank = ev.ranktest(res)
    w.results["analyses"][key] |= {
        "egger_z": reg.stat,
        "egger_p": reg.pval,
        "begg_tau": rank.tau,
        "begg_p": rank.pval,
    }
    text = (
        f"Small-study effects: Egger's regression test {reg.stat:.2f} "
        f"({p_phrase(reg.pval)}); Begg's rank correlation tau = {rank.tau:.2f} "
        f"({p_phrase(rank.pval)})."
    )
    if res.k < MIN_K_BIAS:
        text += (
            f" With only {res.k} studies these tests have very low power and are not "
            f"recommended (Cochrane Handbook 13.3.5.4: at least {MIN_K_BIAS}); the "
            "funnel plot is shown for transparency, not as evidence either way."
        )
    w.doc.add(Para(text, "note" if res.k < MIN_K_BIAS else ""))
    w.figure(
        f"{key}_funnel",
        lambda path: ev.funnel(res, out=path, title=title),
        f"Funnel plot: {title}",
    )


def subgroups(
    w: ReportWriter,
    key: str,
    es: ev.EffectSizes,
    s: Settings,
    attributes: pd.DataFrame,
    columns: Mapping[str, str],
) -> None:
    """A subgroup analysis per attribute column (``columns``: column -> title) with two or
    more values; the first split gets a forest plot."""
    fits: dict[str, ev.SubgroupResult] = {}
    skipped: list[str] = []
    for col, name in columns.items():
        groups = attributes[col].fillna("(not reported)").astype(str).tolist()
        if len(set(groups)) < 2:
            skipped.append(f"{name}: all studies share one value ({groups[0]})")
            continue
        sub = ev.subgroup(es, groups=groups, method=s.method, test=s.test, level=s.level)
        if not fits:
            w.figure(
                f"{key}_forest_by_{col}",
                lambda path, sub=sub, name=name: ev.forest(sub, out=path, title=f"By {name}"),
                f"Forest plot by {name}",
            )
        fits[name] = sub
        w.results["analyses"][key].setdefault("subgroups", {})[name] = subgroup_figures(
            sub, es.measure
        )
    if fits:
        w.table(
            f"{key}_subgroups",
            subgroup_table(fits, es.measure),
            f"Subgroup analyses ({s.level_text} CIs; separate tau^2 "
            "per subgroup; test for subgroup differences Q_between)",
        )
        w.doc.add(
            Para(
                "Subgroups with one or two trials cannot separate a cell effect from "
                "trial differences (age, co-interventions, outcome version); read them "
                "as hypotheses, not findings.",
                "note",
            )
        )
    if skipped:
        w.doc.add(Para("Not split: " + "; ".join(skipped) + "."))


def intro(w: ReportWriter, s: Settings, data: str) -> None:
    """When, by which version and from which data the report was made, and the model."""
    w.doc.add(
        Para(
            f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by cpstem {__version__} from "
            f"{data}. Model: random effects ({s.describe()})."
        )
    )


_KNHA = "Hartung-Knapp-Sidik-Jonkman t-based intervals (advisable when studies are few); "


def methods(w: ReportWriter, s: Settings, extra: Sequence[str] = ()) -> None:
    """The "Methods and caveats" section: the model, ``extra`` items, the small-study caveat."""
    model = (
        f"Random-effects models with the {s.method} estimator of tau^2; "
        + (_KNHA if s.test == "knha" else "z-based (Wald) intervals; ")
        + f"{s.level_text} confidence and prediction intervals (prediction intervals as "
        "metafor's predict()). The engine reproduces R metafor 3.8 (checked in the test suite)."
    )
    bias = (
        f"Tests for small-study effects need at least {MIN_K_BIAS} studies; with fewer they "
        "are reported only for transparency."
    )
    w.doc.add(Heading("Methods and caveats", 2), Bullets([model, *extra, bias]))
