"""The bundled stem-cell evidence report: motor function, published meta-analyses, safety and
what could not be pooled, from the cited dataset in ``cpstem/evidence/data``.

Choices about named trials (time points, subgroups, reconstruction arms, prose) come from
``evidence/data/bundled_report.toml`` (:mod:`cpstem.reports.evidence.choices`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cpstem import __version__
from cpstem import evidence as ev
from cpstem.evidence.bundled import EvidenceBundle, load_bundle
from cpstem.evidence.comparisons import arm_comparisons, cohens_d, hedges_g_from_d
from cpstem.evidence.errors import EvidenceError
from cpstem.reports.document import Bullets, Heading, Para
from cpstem.reports.evidence import sections
from cpstem.reports.evidence.choices import BundledChoices, Reconstruction, load_choices
from cpstem.reports.evidence.numbers import ci_text, counts, figures
from cpstem.reports.evidence.settings import Settings, level_text
from cpstem.reports.evidence.tsa_section import tsa_section
from cpstem.reports.evidence.writer import ReportOutput, ReportWriter

TITLE = "Stem-cell therapy for cerebral palsy: pooled evidence"
SAE = "serious adverse event"
_ARM_COLUMNS = [
    "scale",
    "cells_arm",
    "n1i",
    "m1i",
    "sd1i",
    "control_arm",
    "n2i",
    "m2i",
    "sd2i",
    "sd_source",
]
_TRIAL_COLUMNS = [
    "study",
    "year",
    "design",
    "n_randomised",
    "cells",
    "cell_source",
    "origin",
    "route",
    "dose",
    "citation",
]
_PUBLISHED_COLUMNS = [
    "review",
    "year",
    "outcome",
    "measure",
    "estimate",
    "ci_lower",
    "ci_upper",
    "i2_percent",
    "k",
    "n",
    "note",
]
_METHODS = (
    "SMD = Hedges' g with the exact small-sample correction and the large-sample variance "
    "(metafor escalc defaults). Positive values favour the cells group.",
    "Outcomes are changes from baseline; the SD of change was reported, or derived from a "
    "published SEM as SEM x sqrt(n) where marked.",
    "Multi-arm trials contribute one comparison: cells arms sharing a control are combined "
    "(Cochrane Handbook 6.5.2.10); comparator arms not used are listed with the reason.",
    "Safety: Mantel-Haenszel (risk difference, ratio, odds ratio) and Peto odds ratio for "
    "sparse events; single-arm data are described, never compared.",
)


def run_bundled(
    folder: Path,
    settings: Settings | None = None,
    registry: pd.DataFrame | None = None,
    bias_factor: float | None = None,
) -> ReportOutput:
    """Pool the bundled stem-cell trials in CP and write the report folder.

    ``registry``: a registry's analysis table (``cpstem export --analysis``): its treated vs
    concurrent-control comparison is added at each motor time point as a separately labelled
    observational study, pooled without it, with it, and with its variance times
    ``bias_factor`` (default: :func:`cpstem.reports.evidence.registry.bias_factor_default`).
    """
    s = settings or Settings()
    if s.measure != "SMD":
        raise EvidenceError(
            "the bundled motor outcomes use different GMFM versions and units: "
            "only --measure SMD can pool them",
            code="unsupported_measure",
            field="measure",
            params={"measure": s.measure, "allowed": ["SMD"]},
        )
    bundle = load_bundle()
    choices = load_choices()
    w = ReportWriter(folder, TITLE)
    w.results["settings"] = s.__dict__ | {"data": "bundled", "cpstem": __version__}
    sections.intro(w, s, "the bundled, cited dataset of published trials (cpstem/evidence/data)")
    w.table("trials", bundle.trials[_TRIAL_COLUMNS], "Trials in the bundled dataset")
    excluded = motor(w, bundle, choices, s)
    if registry is not None:
        add_registry(w, bundle, choices, s, registry, bias_factor)
    w.doc.add(Heading("Published meta-analyses", 2))
    w.table(
        "published_meta_analyses",
        bundle.published_meta_analyses[_PUBLISHED_COLUMNS],
        "Pooled results as published (for comparison)",
    )
    for rec in choices.reconstructions:
        reconstruction(w, bundle, rec)
    safety(w, bundle, choices, s)
    not_pooled(w, bundle, excluded)
    sections.methods(w, s, _METHODS)
    return w.finish()


def add_registry(
    w: ReportWriter,
    bundle: EvidenceBundle,
    choices: BundledChoices,
    s: Settings,
    table: pd.DataFrame,
    bias_factor: float | None,
) -> None:
    """The registry cohort beside the trials at each motor time point (see ``registry.py``)."""
    from cpstem.reports.evidence import registry as reg

    default, source = reg.bias_factor_default()
    factor = reg.check_bias_factor(default if bias_factor is None else bias_factor)
    w.doc.add(Heading("Adding the registry cohort (observational)", 2))
    w.doc.add(
        Para(
            "The registry's own comparison of treated children with concurrent controls "
            "(natural history / rehabilitation only) is added to the trials as a separately "
            "labelled observational study, standardised like the trials (Hedges' g of the change "
            f"from baseline). Bias factor {factor:g}: in the third analysis the registry's "
            f"variance is multiplied by it. Source of the default: {source}"
        )
    )
    w.results["registry_bias_factor"] = {"value": factor, "default": default, "source": source}
    for months in choices.motor_timepoints_months:
        comps, _ = arm_comparisons(bundle.motor_arms, months)
        es = ev.effect_sizes(
            "SMD",
            m1i=comps["m1i"],
            sd1i=comps["sd1i"],
            n1i=comps["n1i"],
            m2i=comps["m2i"],
            sd2i=comps["sd2i"],
            n2i=comps["n2i"],
            labels=labels(bundle, list(comps["trial"])),
        )
        reg.with_registry(w, es, int(months), table, s, factor)


def labels(bundle: EvidenceBundle, trial_ids: list[str]) -> list[str]:
    """``"<study> <year>"`` (columns of trials.csv) for each trial id."""
    t = bundle.trials.set_index("trial")
    return [f"{t.loc[i, 'study']} {t.loc[i, 'year']}" for i in trial_ids]


def motor(
    w: ReportWriter, bundle: EvidenceBundle, choices: BundledChoices, s: Settings
) -> list[tuple]:
    """Change in gross motor function, one analysis per time point; returns the exclusions."""
    trials = bundle.trials.set_index("trial")
    subgroup_cols = choices.subgroup_columns
    excluded: list[tuple] = []
    w.doc.add(Heading("Gross motor function", 2))
    w.doc.add(
        Para(
            "Change in gross motor function from baseline, cells vs control, as a standardised "
            "mean difference (Hedges' g; positive favours cells). Trials measured different GMFM "
            "versions and units (GMFM-88 %, GMFM-66, raw item sums), so only a standardised "
            "measure can combine them; each trial contributes one comparison per time point."
        )
    )
    for months in choices.motor_timepoints_months:
        comps, excl = arm_comparisons(bundle.motor_arms, months)
        excluded += [tuple(r) for r in excl.itertuples(index=False)]
        study_labels = labels(bundle, list(comps["trial"]))
        es = ev.effect_sizes(
            "SMD",
            m1i=comps["m1i"],
            sd1i=comps["sd1i"],
            n1i=comps["n1i"],
            m2i=comps["m2i"],
            sd2i=comps["sd2i"],
            n2i=comps["n2i"],
            labels=study_labels,
        )
        attrs = trials.loc[list(comps["trial"]), list(subgroup_cols)].reset_index(drop=True)
        extra = pd.concat([comps[_ARM_COLUMNS].reset_index(drop=True), attrs], axis=1)
        key = f"motor_{months}mo"
        res = sections.analysis(
            w,
            key,
            f"GMFM change at {months} months",
            es,
            s,
            extra,
            float((comps["n1i"] + comps["n2i"]).sum()),
            subgroup_cols,
        )
        if res is None:
            continue
        tsa_section(
            w,
            key,
            f"GMFM change at {months} months",
            res,
            (comps["n1i"] + comps["n2i"]).to_numpy(float),
            trials.loc[list(comps["trial"]), "year"].to_numpy(float),
            "SMD",
            delta=s.tsa_delta,
        )
        w.results["analyses"][key]["scales"] = sorted(set(comps["scale"]))
        notes = [f"{lab}: {n}" for lab, n in zip(study_labels, comps["note"], strict=True) if n]
        if notes:
            w.doc.add(Bullets(notes))
        if months in choices.reported_effects_timepoints_months:
            with_reported_effects(w, bundle, choices, months, comps, es, s)
    return excluded


def with_reported_effects(
    w: ReportWriter,
    bundle: EvidenceBundle,
    choices: BundledChoices,
    months: int,
    comps: pd.DataFrame,
    base: ev.EffectSizes,
    s: Settings,
) -> None:
    """Sensitivity analysis: the primary trials plus those publishing only an effect size."""
    eff = bundle.motor_effects[bundle.motor_effects["timepoint_months"] == months]
    if eff.empty:
        return
    g, v = hedges_g_from_d(eff["value"], eff["n_cells"], eff["n_control"])
    es = ev.EffectSizes(
        "SMD",
        np.concatenate([base.yi, g]),
        np.concatenate([base.vi, v]),
        tuple(labels(bundle, list(comps["trial"])) + labels(bundle, list(eff["trial"]))),
        np.concatenate([base.ni, eff["n_cells"] + eff["n_control"]]),
    )
    w.doc.add(Para(choices.reported_effects_note, "note"))
    sections.analysis(
        w,
        f"motor_{months}mo_with_reported_effects",
        f"GMFM change at {months} months, including reported effect sizes",
        es,
        s,
    )


def reconstruction(w: ReportWriter, bundle: EvidenceBundle, rec: Reconstruction) -> None:
    """Try to reproduce a published meta-analysis from the accessible arms with its method.

    Computed at the review's level (``rec.level``), not the report's: it is compared with the
    published interval.
    """
    arms = bundle.motor_arms.set_index(["trial", "timepoint_months", "arm"])
    cols: dict[str, list[float]] = {k: [] for k in ("m1", "sd1", "n1", "m2", "sd2", "n2")}
    for c in rec.comparisons:
        for k, arm in (("1", c.cells_arm), ("2", c.control_arm)):
            r = arms.loc[(c.trial, c.timepoint_months, arm)]
            cols[f"m{k}"].append(r["mean_change"])
            cols[f"sd{k}"].append(r["sd_change"])
            cols[f"n{k}"].append(r["n"])
    d, v = cohens_d(cols["m1"], cols["sd1"], cols["n1"], cols["m2"], cols["sd2"], cols["n2"])
    res = ev.rma(d, v, method=rec.method, level=rec.level)
    pub = bundle.published_meta_analyses.set_index("review").loc[rec.review]
    fig = figures(res.to_dict(), ("level", "estimate", "ci_lower", "ci_upper", "tau2", "q", "i2"))
    w.results[rec.key] = {
        "trials": [c.trial for c in rec.comparisons],
        **fig,
        "published": {
            "estimate": pub["estimate"],
            "ci_lower": pub["ci_lower"],
            "ci_upper": pub["ci_upper"],
            "i2": pub["i2_percent"],
        },
    }
    text = rec.note.format(
        comparisons=", ".join(c.label for c in rec.comparisons),
        result=ci_text(fig["estimate"], fig["ci_lower"], fig["ci_upper"]),
        level=level_text(fig["level"]),
        tau2=fig["tau2"],
        i2=fig["i2"],
        k=pub["k"],
        n=pub["n"],
        published=ci_text(pub["estimate"], pub["ci_lower"], pub["ci_upper"]),
        published_i2=pub["i2_percent"],
    )
    w.doc.add(Para(text, "note"))


def safety(w: ReportWriter, bundle: EvidenceBundle, choices: BundledChoices, s: Settings) -> None:
    """Serious adverse events pooled (MH, Peto); other events described per trial or arm."""
    w.doc.add(Heading("Safety", 2))
    lvl = s.level_text
    events = bundle.safety
    sae = events[events["event"] == SAE]
    controlled = sae[sae["n_control"].notna()]
    table = pd.DataFrame(
        {
            "study": labels(bundle, list(controlled["trial"])),
            "SAE cells": counts(controlled["events_cells"], controlled["n_cells"]),
            "SAE control": counts(controlled["events_control"], controlled["n_control"]),
            "note": controlled["note"].fillna("").tolist(),
        }
    )
    w.table("safety_sae_studies", table, "Serious adverse events in controlled trials")
    cols = dict(
        ai=controlled["events_cells"].to_numpy(),
        n1i=controlled["n_cells"].to_numpy(),
        ci=controlled["events_control"].to_numpy(),
        n2i=controlled["n_control"].to_numpy(),
    )
    with_events = int(((cols["ai"] + cols["ci"]) > 0).sum())
    pooled = {
        "MH risk difference": ev.rma_mh("RD", level=s.level, **cols),
        "MH risk ratio": ev.rma_mh("RR", level=s.level, **cols),
        "MH odds ratio": ev.rma_mh("OR", level=s.level, **cols),
        "Peto odds ratio": ev.rma_peto(level=s.level, **cols),
    }
    for name, p in pooled.items():
        w.results.setdefault("safety", {})[name] = sections.pooled_tables_figures(p) | {
            "k_with_events": with_events
        }
    w.table(
        "safety_sae_pooled",
        sections.pooled_tables_table(pooled, s.level, informing=True),
        "Risk of a serious adverse event, cells vs control",
    )
    w.doc.add(
        Para(
            f"{len(controlled)} controlled trials report serious adverse events; only "
            f"{with_events} had any. Double-zero trials carry no information on a ratio scale "
            "(they count for the risk difference). Events are too rare to show or exclude a "
            f"difference: the intervals are wide. {choices.safety_sae_note}",
            "note",
        )
    )
    _single_arm(
        w,
        bundle,
        sae[sae["n_control"].isna()],
        f"Serious adverse events in trials without a separate control arm (exact {lvl} CI)",
        "safety_sae_single_arm",
        s,
    )
    other = events[events["event"] != SAE]
    other_controlled = other[other["n_control"].notna()]
    trial_ids = list(dict.fromkeys(other_controlled["trial"]))
    for trial in trial_ids:
        rows = other_controlled[other_controlled["trial"] == trial]
        alone = " (one trial: not pooled)" if len(trial_ids) == 1 else " (not pooled)"
        w.table(
            f"safety_{trial}_events",
            sections.event_ratio_table(rows, s.level),
            f"Non-serious adverse events, {labels(bundle, [trial])[0]}{alone}",
        )
    _single_arm(
        w,
        bundle,
        other[other["n_control"].isna()],
        f"Adverse events in single-arm studies (no comparator; exact {lvl} CI)",
        "safety_single_arm_events",
        s,
    )


def _single_arm(
    w: ReportWriter,
    bundle: EvidenceBundle,
    rows: pd.DataFrame,
    caption: str,
    name: str,
    s: Settings,
) -> None:
    if rows.empty:
        return
    frame = pd.DataFrame(
        {
            "study": labels(bundle, list(rows["trial"])),
            "event": rows["event"].tolist(),
            "events": rows["events_cells"].tolist(),
            "n": rows["n_cells"].tolist(),
        }
    )
    w.table(name, sections.single_arm_table(frame, s.level), caption)


def not_pooled(w: ReportWriter, bundle: EvidenceBundle, excluded: list[tuple]) -> None:
    """Every outcome left out of the pooled analyses, with the reason."""
    w.doc.add(Heading("What could not be pooled, and why", 2))
    reasons = bundle.not_poolable.set_index(["trial", "outcome"])["reason"]
    rows, seen = [], set()
    for trial, outcome, months, reason in excluded:
        rows.append(
            {
                "study": labels(bundle, [trial])[0],
                "outcome": outcome,
                "time point": f"{months} months",
                "reason": reasons.get((trial, outcome), reason),
            }
        )
        seen.add(trial)
    for r in bundle.not_poolable.itertuples(index=False):
        if r.trial not in seen:
            rows.append(
                {
                    "study": labels(bundle, [r.trial])[0],
                    "outcome": r.outcome,
                    "time point": "any",
                    "reason": r.reason,
                }
            )
    for r in bundle.motor_effects.itertuples(index=False):
        rows.append(
            {
                "study": labels(bundle, [r.trial])[0],
                "outcome": r.outcome,
                "time point": f"{r.timepoint_months} months",
                "reason": "primary analysis: no arm-level means/SDs, only a published "
                f"effect size ({r.note}); included in the sensitivity analysis",
            }
        )
    frame = pd.DataFrame(rows)
    w.results["not_pooled"] = frame.to_dict(orient="records")
    w.table("not_pooled", frame, "Outcomes left out of the pooled analyses")
