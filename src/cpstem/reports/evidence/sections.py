"""Sections any meta-analysis report has: the pooled model, its forest plot, subgroups,
leave-one-out sensitivity, small-study effects, sparse-event methods, methods and caveats.

Each table of a result has one function here (``*_table``, and ``*_figures`` for the key
figures in ``results.json``). It takes the numbers from the result's own ``to_frame()`` or
``to_dict()`` and only picks, renames, back-transforms (ratio measures) and formats them:

* :func:`model_figures` - ``RMAResult.to_dict()`` (random/fixed-effects model) as key figures;
* :func:`study_table` - ``RMAResult.to_frame()``: the studies with their intervals and weights;
* :func:`leave_one_out_table` - ``Sequence.to_frame()`` of a leave-one-out analysis;
* :func:`subgroup_table` and :func:`subgroup_figures` - ``SubgroupResult.to_frame()`` /
  ``to_dict()``;
* :func:`pooled_tables_table` and :func:`pooled_tables_figures` - ``PooledTables.to_dict()``
  of Mantel-Haenszel/Peto fits;
* :func:`event_ratio_table` - ``EffectSizes.to_frame(level)``: risk ratios of events in one
  controlled trial;
* :func:`single_arm_table` - exact binomial intervals of single-arm event counts (no result
  object: scipy's ``binomtest``);
* :func:`pooled_text` and :func:`influence_text` - the same figures as sentences.

Every interval is at the level of the model (``Settings.level``) and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from scipy import stats

from cpstem import __version__
from cpstem import evidence as ev
from cpstem.evidence.rma import HETEROGENEITY_FIGURES
from cpstem.formatting import format_p
from cpstem.reports.document import Bullets, Heading, Para
from cpstem.reports.evidence.numbers import (
    RATIO,
    back_values,
    ci_text,
    counts,
    figures,
    p_phrase,
)
from cpstem.reports.evidence.settings import Settings, level_text, percent
from cpstem.reports.evidence.writer import ReportWriter

MIN_K_BIAS = 10  # Cochrane Handbook 13.3.5.4: tests for funnel asymmetry need >= 10 studies


# --------------------------------------------------------------------------- tables and figures

#: The key figures of a model in ``results.json``, in this order (names of ``RMAResult.to_dict``).
_MODEL_FIGURES = (
    "method",
    "test",
    "level",
    "k",
    "estimate",
    "ci_lower",
    "ci_upper",
    "pval",
    *HETEROGENEITY_FIGURES,
)


def model_figures(res: ev.RMAResult, measure: str) -> dict[str, Any]:
    """The key figures of a fitted model from ``res.to_dict()`` (estimate and intervals on the
    natural scale); the prediction interval only for a random-effects model."""
    names = _MODEL_FIGURES
    if res.pi_lower is not None and res.method != "FE":
        names += ("pi_lower", "pi_upper")
    return {"measure": measure} | figures(res.to_dict(), names, measure)


def study_table(
    es: ev.EffectSizes, res: ev.RMAResult, extra: pd.DataFrame | None, measure: str
) -> pd.DataFrame:
    """One row per study of the model (``res.to_frame()``): effect, Wald interval at the model's
    level, weight, then the ``extra`` columns (rows aligned with ``es``, the effect sizes the
    model was fitted to; rows of studies the model omitted are left out)."""
    f = res.to_frame()
    frame = pd.DataFrame(
        {
            "study": f["study"],
            measure: back_values(measure, f["yi"]),
            "ci_lower": back_values(measure, f["ci_lower"]),
            "ci_upper": back_values(measure, f["ci_upper"]),
            "weight_percent": f["weight"].round(1),
        }
    )
    for col in (measure, "ci_lower", "ci_upper"):
        frame[col] = frame[col].round(3)
    if extra is not None:
        kept = extra.reset_index(drop=True).drop(index=list(res.omitted))
        frame = pd.concat([frame, kept.reset_index(drop=True)], axis=1)
    return frame


def leave_one_out_table(loo: ev.Sequence, measure: str) -> pd.DataFrame:
    """One row per left-out study (``loo.to_frame()``): the pooled estimate and interval
    without it, and I^2."""
    f = loo.to_frame()
    return pd.DataFrame(
        {
            "left out": f["study"],
            **{
                col: [round(v, 3) for v in back_values(measure, f[col])]
                for col in ("estimate", "ci_lower", "ci_upper")
            },
            "i2_percent": f["i2"].round(1),
        }
    )


def _differences(sub: ev.SubgroupResult) -> str:
    """The test for subgroup differences, ``"Q = 1.23, df = 1, p = 0.2671"``."""
    d = sub.to_dict()
    return f"Q = {d['q_between']:.2f}, df = {d['q_between_df']}, {p_phrase(d['q_between_pval'])}"


def subgroup_table(subs: Mapping[str, ev.SubgroupResult], measure: str) -> pd.DataFrame:
    """One row per subgroup of each split (``subs``: title of the split -> result), from each
    result's ``to_frame()``."""
    frames = []
    for name, sub in subs.items():
        f = sub.to_frame()
        frames.append(
            pd.DataFrame(
                {
                    "by": name,
                    "subgroup": f["subgroup"],
                    "k": f["k"],
                    **{
                        col: [round(v, 3) for v in back_values(measure, f[col])]
                        for col in ("estimate", "ci_lower", "ci_upper")
                    },
                    "test for differences": _differences(sub),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def subgroup_figures(sub: ev.SubgroupResult, measure: str) -> dict[str, Any]:
    """Key figures of one subgroup split: a model per subgroup (:func:`model_figures`) and the
    test for differences (``sub.to_dict()``)."""
    d = sub.to_dict()
    return {
        "levels": {lv: model_figures(sub.fits[lv], measure) for lv in sub.levels},
        "q_between": d["q_between"],
        "q_between_df": d["q_between_df"],
        "q_between_pval": d["q_between_pval"],
    }


#: The key figures of a Mantel-Haenszel / Peto fit (names of ``PooledTables.to_dict``).
_POOLED_TABLES_FIGURES = ("level", "estimate", "ci_lower", "ci_upper", "pval", "k")


def pooled_tables_estimate(p: ev.PooledTables) -> tuple[float, float, float]:
    """Estimate and interval of a Mantel-Haenszel / Peto fit on the natural scale."""
    d = figures(p.to_dict(), ("estimate", "ci_lower", "ci_upper"), p.measure)
    return d["estimate"], d["ci_lower"], d["ci_upper"]


def pooled_tables_table(
    fits: Mapping[str, ev.PooledTables], level: float, informing: bool = False
) -> pd.DataFrame:
    """One row per Mantel-Haenszel / Peto fit (``fits``: row title -> fit, all at ``level``),
    from each fit's ``to_dict()``.

    ``informing``: the last column is "studies informing" (for a ratio, the studies with an
    event) instead of "k" (all studies).
    """
    rows = []
    for name, p in fits.items():
        d = figures(p.to_dict(), (*_POOLED_TABLES_FIGURES, "measure", "k_yi"), p.measure)
        row = {
            "method": name,
            f"estimate [{level_text(level)} CI]": ci_text(
                d["estimate"], d["ci_lower"], d["ci_upper"], ".3f"
            ),
            "p": format_p(d["pval"]),
        }
        if informing:
            row["studies informing"] = d["k_yi"] if d["measure"] in RATIO else d["k"]
        else:
            row["k"] = d["k"]
        rows.append(row)
    return pd.DataFrame(rows)


def pooled_tables_figures(p: ev.PooledTables) -> dict[str, Any]:
    """Key figures of a Mantel-Haenszel / Peto fit (``p.to_dict()``, natural scale)."""
    return figures(p.to_dict(), _POOLED_TABLES_FIGURES, p.measure)


def single_arm_table(rows: pd.DataFrame, level: float) -> pd.DataFrame:
    """Proportions with exact (Clopper-Pearson) intervals at ``level``.

    ``rows``: columns ``study``, ``event``, ``events`` and ``n``.
    """
    out = []
    for r, count in zip(
        rows.itertuples(index=False), counts(rows["events"], rows["n"]), strict=True
    ):
        k, n = int(r.events), int(r.n)
        ci = stats.binomtest(k, n).proportion_ci(
            confidence_level=percent(level) / 100, method="exact"
        )
        out.append(
            {
                "study": r.study,
                "event": r.event,
                "events/n": count,
                f"proportion [{level_text(level)} CI]": ci_text(k / n, ci.low, ci.high, ".3f"),
            }
        )
    return pd.DataFrame(out)


def event_ratio_table(rows: pd.DataFrame, level: float) -> pd.DataFrame:
    """Risk ratio (cells vs control) with its Wald interval at ``level``, one row per event
    (the risk ratios' ``EffectSizes.to_frame(level)``).

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
    f = es.to_frame(level=level)
    return pd.DataFrame(
        {
            "event": rows["event"].tolist(),
            "cells": counts(rows["events_cells"], rows["n_cells"]),
            "control": counts(rows["events_control"], rows["n_control"]),
            f"risk ratio [{level_text(level)} CI]": [
                ci_text(*back_values("RR", (y, lo, hi)))
                for y, lo, hi in zip(f["yi"], f["ci_lower"], f["ci_upper"], strict=True)
            ],
        }
    )


# --------------------------------------------------------------------------- text


def pooled_text(res: ev.RMAResult, measure: str, n: float | None = None) -> str:
    """The pooled estimate, its interval and heterogeneity in one paragraph
    (:func:`model_figures`)."""
    f = model_figures(res, measure)
    lvl = level_text(f["level"])
    people = f", {int(n)} participants" if n else ""
    text = (
        f"Pooled {measure} {ci_text(f['estimate'], f['ci_lower'], f['ci_upper'])} "
        f"({lvl} CI; {p_phrase(f['pval'])}; k = {f['k']}{people}). Heterogeneity: "
        f"tau^2 = {f['tau2']:.3f}, I^2 = {f['i2']:.1f}%, Q = {f['q']:.2f} "
        f"(df {f['q_df']}, {p_phrase(f['q_pval'])})."
    )
    if "pi_lower" in f:
        text += (
            f" {lvl} prediction interval {f['pi_lower']:.2f} to "
            f"{f['pi_upper']:.2f}: the range in which the effect of a new, similar trial "
            "is expected to lie."
        )
    return text


def influence_text(infl: ev.Influence) -> str:
    """Which studies metafor's ``influence()`` flags (``infl.to_frame()``)."""
    f = infl.to_frame()
    flagged = f.loc[f["influential"].astype(bool), "study"].tolist()
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
    rob: Sequence[str | None] | None = None,
) -> ev.RMAResult | None:
    """One pooled analysis: table, model, forest, subgroups, sensitivity, small-study effects.

    ``rob``: the RoB 2 overall judgement of each study (aligned with ``es``): the forest plot
    gets a RoB column (:func:`cpstem.evidence.robplots.forest_with_rob`)."""
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
    if rob is not None:
        from cpstem.evidence.robplots import forest_with_rob

        kept = [r for i, r in enumerate(rob) if i not in set(res.omitted)]
        w.figure(
            f"{key}_forest",
            lambda path: forest_with_rob(res, kept, out=path, title=title),
            f"Forest plot: {title} (RoB: RoB 2 overall judgement)",
        )
    else:
        w.figure(
            f"{key}_forest",
            lambda path: ev.forest(res, out=path, title=title),
            f"Forest plot: {title}",
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
    egger = figures(reg.to_dict(), ("stat", "pval"))
    begg = figures(rank.to_dict(), ("tau", "pval"))
    w.results["analyses"][key] |= {
        "egger_z": egger["stat"],
        "egger_p": egger["pval"],
        "begg_tau": begg["tau"],
        "begg_p": begg["pval"],
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
