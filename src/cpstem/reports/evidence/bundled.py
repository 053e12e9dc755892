"""The bundled stem-cell evidence report: motor function, published meta-analyses, safety and
what could not be pooled, from the cited dataset in ``cpstem/evidence/data``.

Choices about named trials (time points, subgroups, reconstruction arms, prose) come from
``evidence/data/bundled_report.toml`` (:mod:`cpstem.reports.evidence.choices`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpstem import __version__
from cpstem import evidence as ev
from cpstem.design.tsa import required_information_size
from cpstem.evidence.bundled import FLAGS, ROB_DOMAINS, EvidenceBundle, load_bundle
from cpstem.evidence.comparisons import arm_comparisons, cohens_d, comparison_table
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.grade import GradeRow, grade_outcome, per_thousand
from cpstem.evidence.grade import rules as grade_rules
from cpstem.evidence.robplots import rob_summary, slide_forest, traffic_light
from cpstem.evidence.sanity import SanityWarning, check_bundle
from cpstem.reports.document import Bullets, Heading, Para
from cpstem.reports.evidence import sections
from cpstem.reports.evidence.choices import BundledChoices, Reconstruction, load_choices
from cpstem.reports.evidence.numbers import ci_text, counts, figures
from cpstem.reports.evidence.settings import Settings, level_text
from cpstem.reports.evidence.tsa_section import md_tsa_section, sae_tsa_section, tsa_section
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
    "randomised",
    "n_randomised",
    "n_enrolled",
    "rob2_overall",
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

    Order: a plain-language summary and a PRISMA-style count; the trials; the primary analysis
    (mean difference in GMFM-66 points, randomised trials, no flagged row); the secondary
    analyses (SMD across GMFM versions); sensitivity analyses; risk of bias (RoB 2); the GRADE
    summary of findings; published meta-analyses; safety; extraction checks and corrections;
    what could not be pooled.

    ``registry``: a registry's analysis table (``cpstem export --analysis``): its treated vs
    concurrent-control comparison is added at each motor time point as a separately labelled
    observational study, pooled without it, with it, and with its variance times
    ``bias_factor`` (default: :func:`cpstem.reports.evidence.registry.bias_factor_default`).
    """
    s = settings or Settings()
    if s.measure != "SMD":
        raise EvidenceError(
            "the bundled motor outcomes use different GMFM versions and units: "
            "only --measure SMD can pool them (the report adds the MD on the GMFM-66 itself)",
            code="unsupported_measure",
            field="measure",
            params={"measure": s.measure, "allowed": ["SMD"]},
        )
    bundle = load_bundle()
    choices = load_choices()
    warnings = check_bundle(bundle)
    w = ReportWriter(folder, TITLE)
    w.results["settings"] = s.__dict__ | {"data": "bundled", "cpstem": __version__}
    motor_data = MotorData.build(bundle, choices, s)
    sae = sae_numbers(bundle, s)
    grades = grade_rows(bundle, motor_data, sae, s)
    summary(w, bundle, choices, motor_data, sae, grades, s)
    sections.intro(w, s, "the bundled, cited dataset of published trials (cpstem/evidence/data)")
    trials = bundle.trials.copy()
    trials["rob2_overall"] = [bundle.overall_rob(t) or "" for t in trials["trial"]]
    w.table("trials", trials[_TRIAL_COLUMNS], "Trials in the bundled dataset")
    excluded = motor(w, bundle, choices, motor_data, s)
    sensitivity(w, bundle, choices, motor_data, s)
    bias_sensitivity(w, bundle, choices, motor_data, s)
    risk_of_bias(w, bundle)
    grade_section(w, grades)
    if registry is not None:
        add_registry(w, bundle, choices, motor_data, s, registry, bias_factor)
    w.doc.add(Heading("Published meta-analyses", 2))
    w.table(
        "published_meta_analyses",
        bundle.published_meta_analyses[_PUBLISHED_COLUMNS],
        "Pooled results as published (for comparison)",
    )
    for rec in choices.reconstructions:
        reconstruction(w, bundle, rec)
    safety(w, bundle, choices, s)
    checks_section(w, bundle, warnings)
    not_pooled(w, bundle, excluded)
    sections.methods(w, s, _METHODS)
    w.out.notes.extend(f"  warning: {x.summary()}" for x in warnings)
    return w.finish()


def add_registry(
    w: ReportWriter,
    bundle: EvidenceBundle,
    choices: BundledChoices,
    data: MotorData,
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
        es = _es(bundle, secondary_rows(data.tables[months]), "SMD")
        reg.with_registry(w, es, int(months), table, s, factor)


def labels(bundle: EvidenceBundle, trial_ids: list[str]) -> list[str]:
    """``"<study> <year>"`` (columns of trials.csv) for each trial id."""
    t = bundle.trials.set_index("trial")
    return [f"{t.loc[i, 'study']} {t.loc[i, 'year']}" for i in trial_ids]


# --------------------------------------------------------------------------- motor function


@dataclass(frozen=True)
class MotorData:
    """The comparison tables (:func:`~cpstem.evidence.comparisons.comparison_table`) per time
    point, and the fitted primary models (MD) per time point (None: nothing to pool)."""

    tables: dict[int, pd.DataFrame]
    primary: dict[int, tuple[pd.DataFrame, ev.RMAResult | None]]

    @staticmethod
    def build(bundle: EvidenceBundle, choices: BundledChoices, s: Settings) -> MotorData:
        rand = dict(
            zip(bundle.trials["trial"], bundle.randomised(bundle.trials["trial"]), strict=True)
        )
        months = sorted(
            set(choices.motor_timepoints_months) | set(choices.primary.timepoints_months)
        )
        tables = {
            m: comparison_table(bundle.motor_arms, bundle.motor_effects, rand, m) for m in months
        }
        primary = {}
        for m in choices.primary.timepoints_months:
            rows = primary_rows(tables[m], choices)
            res = None
            if len(rows):
                res = ev.rma(_es(bundle, rows, "MD"), method=s.method, test=s.test, level=s.level)
            primary[m] = (rows, res)
        return MotorData(tables, primary)


def primary_rows(table: pd.DataFrame, choices: BundledChoices) -> pd.DataFrame:
    """Rows of the primary analysis: randomised, not flagged, on a primary scale."""
    keep = table["randomised"] & table["flag"].isna() & table["scale"].isin(choices.primary.scales)
    return table[keep].reset_index(drop=True)


def secondary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the SMD analysis: randomised and not flagged (any GMFM version)."""
    return table[table["randomised"] & table["flag"].isna()].reset_index(drop=True)


def _es(bundle: EvidenceBundle, rows: pd.DataFrame, measure: str) -> ev.EffectSizes:
    col, vcol = ("md", "vi_md") if measure == "MD" else ("smd", "vi_smd")
    return ev.EffectSizes(
        measure,
        rows[col].to_numpy(dtype=float),
        rows[vcol].to_numpy(dtype=float),
        tuple(labels(bundle, list(rows["trial"]))),
        (rows["n1i"] + rows["n2i"]).to_numpy(dtype=float),
    )


def _extra(bundle: EvidenceBundle, rows: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    trials = bundle.trials.set_index("trial")
    attrs = trials.loc[list(rows["trial"]), cols].reset_index(drop=True)
    table = rows[["scale", "kind", "n1i", "n2i", "cells_arm", "control_arm"]].reset_index(drop=True)
    rob = pd.DataFrame({"rob2_overall": [bundle.overall_rob(t) or "" for t in rows["trial"]]})
    return pd.concat([table, rob, attrs], axis=1)


def motor(
    w: ReportWriter,
    bundle: EvidenceBundle,
    choices: BundledChoices,
    data: MotorData,
    s: Settings,
) -> list[tuple]:
    """The primary (MD) and secondary (SMD) analyses of gross motor function; returns the
    comparisons left out, with the reason."""
    excluded: list[tuple] = []
    w.doc.add(Heading("Gross motor function", 2))
    w.doc.add(Heading("Primary analysis: mean difference in GMFM-66 points", 3))
    w.doc.add(Para(choices.primary.note, "note"))
    w.doc.add(Para(choices.reported_effects_note, "note"))
    review = choices.primary.compare_review
    published = bundle.published_meta_analyses
    published = published[published["review"] == review]
    for months, (rows, res) in data.primary.items():
        key = f"motor_md_{months}mo"
        title = f"GMFM-66 change at {months} months (MD, points)"
        if res is None:
            w.doc.add(Heading(title, 3))
            w.doc.add(
                Para(
                    f"No randomised trial reports the GMFM-66 at {months} months with usable "
                    "data, so there is no primary estimate at this time point.",
                    "warning",
                )
            )
            continue
        es = _es(bundle, rows, "MD")
        rob = [bundle.overall_rob(t) for t in rows["trial"]]
        sections.analysis(
            w, key, title, es, s, _extra(bundle, rows, []), float(es.ni.sum()), None, rob
        )
        w.results["analyses"][key]["scales"] = sorted(set(rows["scale"]))
        w.results["analyses"][key]["primary"] = True
        years = bundle.trials.set_index("trial").loc[list(rows["trial"]), "year"]
        md_tsa_section(w, key, title, res, rows, years.to_numpy(float), s.mcid)
        ref = published[published["outcome"].str.contains(f"{months} months")]
        reference = None
        if len(ref):
            r = ref.iloc[0]
            reference = (
                f"{r['review']} {r['year']} (IPD)",
                r["estimate"],
                r["ci_lower"],
                r["ci_upper"],
            )
            w.results["analyses"][key]["compare"] = {
                "review": r["review"],
                "estimate": r["estimate"],
                "ci_lower": r["ci_lower"],
                "ci_upper": r["ci_upper"],
            }
            w.doc.add(
                Para(
                    f"For comparison, {r['review']} {r['year']} ({r['model']}, {r['k']:g} "
                    f"studies, n = {r['n']:g}): {r['measure']} "
                    f"{ci_text(r['estimate'], r['ci_lower'], r['ci_upper'])} at {months} months. "
                    "Different trials and a different model: shown beside, not pooled with, "
                    "the aggregate result."
                )
            )
        w.figure(
            f"{key}_slide",
            lambda path, res=res, reference=reference, rob=rob, months=months: slide_forest(
                res,
                path,
                title=f"Cells vs control: GMFM-66 change at {months} months",
                xlabel="Mean difference, GMFM-66 points (favours cells >)",
                rob=rob,
                reference=reference,
            ),
            f"Slide (16:9): {title}",
        )
    w.doc.add(Heading("Secondary analyses: standardised mean difference across GMFM versions", 3))
    w.doc.add(
        Para(
            "Change in gross motor function from baseline, cells vs control, as a standardised "
            "mean difference (Hedges' g; positive favours cells), randomised trials only and "
            "no flagged row. Trials measured different GMFM versions and units (GMFM-88 %, "
            "GMFM-66), so only a standardised measure can combine them; each trial contributes "
            "one comparison per time point."
        )
    )
    subgroup_cols = choices.subgroup_columns
    for months in choices.motor_timepoints_months:
        table = data.tables[months]
        _, excl = arm_comparisons(bundle.motor_arms, months)
        excluded += [tuple(r) for r in excl.itertuples(index=False)]
        for r in table.itertuples(index=False):
            if not r.randomised:
                excluded.append((r.trial, "GMFM change", months, "not randomised"))
            elif isinstance(r.flag, str):
                excluded.append(
                    (
                        r.trial,
                        "GMFM change",
                        months,
                        f"flagged ({r.flag}): {FLAGS.get(r.flag, r.flag)}; "
                        "sensitivity analysis only",
                    )
                )
        rows = secondary_rows(table)
        key = f"motor_{months}mo"
        es = _es(bundle, rows, "SMD")
        rob = [bundle.overall_rob(t) for t in rows["trial"]]
        res = sections.analysis(
            w,
            key,
            f"GMFM change at {months} months (SMD)",
            es,
            s,
            _extra(bundle, rows, list(subgroup_cols)),
            float(es.ni.sum()),
            subgroup_cols,
            rob,
        )
        if res is None:
            continue
        w.results["analyses"][key]["scales"] = sorted(set(rows["scale"]))
        years = bundle.trials.set_index("trial").loc[list(rows["trial"]), "year"]
        tsa_section(
            w,
            key,
            f"GMFM change at {months} months",
            res,
            es.ni.astype(float),
            years.to_numpy(float),
            "SMD",
            delta=s.tsa_delta,
        )
        notes = [
            f"{lab}: {n}"
            for lab, n in zip(es.labels, rows["note"], strict=True)
            if isinstance(n, str) and n
        ]
        if notes:
            w.doc.add(Bullets(notes))
    return excluded


def _low_rob(bundle: EvidenceBundle, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of trials judged at low risk of bias overall (RoB 2)."""
    mask = np.array([bundle.overall_rob(t) == "low" for t in rows["trial"]], dtype=bool)
    return rows.loc[mask].reset_index(drop=True)


def _fit_row(
    name: str, what: str, es: ev.EffectSizes, s: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One line of the sensitivity table and its key figures."""
    if len(es.yi) == 0:
        return {"analysis": name, "what": what, "k": 0, "result": "nothing to pool"}, {}
    res = ev.rma(es, method=s.method, test=s.test, level=s.level)
    fig = sections.model_figures(res, es.measure) | {"studies": list(es.labels)}
    row = {
        "analysis": name,
        "what": what,
        "k": res.k,
        "result": f"{es.measure} {ci_text(res.estimate, res.ci_lower, res.ci_upper)}",
        "i2_percent": round(res.i2, 1),
        "studies": ", ".join(es.labels),
    }
    return row, fig


def sensitivity(
    w: ReportWriter,
    bundle: EvidenceBundle,
    choices: BundledChoices,
    data: MotorData,
    s: Settings,
) -> None:
    """Flagged rows both ways, all flagged rows in, and low-risk-of-bias trials only."""
    w.doc.add(Heading("Sensitivity analyses", 2))
    w.doc.add(Para(choices.sensitivity_note, "note"))
    rand = dict(zip(bundle.trials["trial"], bundle.randomised(bundle.trials["trial"]), strict=True))
    rows, figs = [], {}
    flag = choices.se_flag

    def add(key: str, name: str, what: str, es: ev.EffectSizes) -> None:
        row, fig = _fit_row(name, what, es, s)
        rows.append(row)
        if fig:
            figs[key] = fig

    for months in choices.motor_timepoints_months:
        table = data.tables[months]
        base = secondary_rows(table)
        flagged = table[table["randomised"] & (table["flag"] == flag)]
        if len(flagged):
            as_sd = pd.concat([base, flagged], ignore_index=True)
            add(
                f"motor_{months}mo_{flag}_as_sd",
                f"SMD {months} mo, {flag} rows as published",
                "the +/- values read as SDs",
                _es(bundle, as_sd, "SMD"),
            )
            reread = comparison_table(
                bundle.motor_arms, bundle.motor_effects, rand, months, reread_as_se=flag
            )
            as_se = pd.concat(
                [base, reread[reread["randomised"] & (reread["flag"] == flag)]],
                ignore_index=True,
            )
            add(
                f"motor_{months}mo_{flag}_as_se",
                f"SMD {months} mo, {flag} rows re-read as SEs",
                "SD = SE x sqrt(n)",
                _es(bundle, as_se, "SMD"),
            )
        every = table[table["randomised"]].reset_index(drop=True)
        add(
            f"motor_{months}mo_with_flagged",
            f"SMD {months} mo, flagged rows included",
            "every randomised comparison, flagged rows as published",
            _es(bundle, every, "SMD"),
        )
        low = _low_rob(bundle, base)
        add(
            f"motor_{months}mo_low_rob",
            f"SMD {months} mo, low risk of bias only",
            "RoB 2 overall = low",
            _es(bundle, low, "SMD"),
        )
    for months, (prim, _) in data.primary.items():
        if not len(prim):
            continue
        table = data.tables[months]
        with_flagged = table[
            table["randomised"] & table["scale"].isin(choices.primary.scales)
        ].reset_index(drop=True)
        if len(with_flagged) > len(prim):
            add(
                f"motor_md_{months}mo_with_flagged",
                f"MD {months} mo, flagged rows included",
                "GMFM-66 rows flagged for extraction doubts added",
                _es(bundle, with_flagged, "MD"),
            )
        low = _low_rob(bundle, prim)
        add(
            f"motor_md_{months}mo_low_rob",
            f"MD {months} mo, low risk of bias only",
            "RoB 2 overall = low",
            _es(bundle, low, "MD"),
        )
    w.results["sensitivity"] = figs
    frame = pd.DataFrame(rows)
    w.table("sensitivity", frame, f"Sensitivity analyses ({s.level_text} CIs)")
    if any(r["k"] == 0 for r in rows):
        w.doc.add(
            Para(
                "'Nothing to pool': no trial qualifies (e.g. no trial is at low risk of bias "
                "overall in the RoB 2 judgements bundled), so that analysis cannot be done.",
                "note",
            )
        )


#: Half-normal prior scale on tau for SMDs in the Bayesian sensitivity analysis: a weakly
#: informative choice of the kind Röver 2020 (J Stat Softw 93(6)) discusses; the value 0.5 is a
#: cpstem judgement, shown next to the published Rhodes 2015 log-t prior.
BAYES_HALFNORMAL_SMD = 0.5
#: Fewer studies than this: small-study and selection methods are shown with a warning.
SMALL_K = 10


def _bias_rows(name: str, es: ev.EffectSizes, s: Settings) -> list[dict[str, Any]]:
    """Henmi-Copas, PET-PEESE and the 3PSM selection model for one set of effect sizes."""
    rows: list[dict[str, Any]] = []
    k = len(es.yi)

    def add(method: str, result: str, note: str = "") -> None:
        rows.append({"analysis": name, "k": k, "method": method, "result": result, "note": note})

    fit = ev.rma(es, method=s.method, test="z", level=s.level)
    try:
        h = ev.hc(fit)
        add("Henmi-Copas", ci_text(h.estimate, h.ci_lower, h.ci_upper), "robust to selection")
    except EvidenceError as exc:
        add("Henmi-Copas", "not estimable", str(exc))
    try:
        pp = ev.pet_peese(es.yi, es.vi, level=s.level)
        add(
            f"PET-PEESE ({pp.chosen})",
            ci_text(pp.estimate, pp.ci_lower, pp.ci_upper),
            f"PET intercept test p = {pp.pet_test_pval:.3f}",
        )
    except EvidenceError as exc:
        add("PET-PEESE", "not estimable", str(exc))
    try:
        sel = ev.selmodel(ev.rma(es, method="ML", test="z"), type="stepfun", steps=(0.025,))
        note = f"LRT for selection p = {sel.lrt_pval:.3f}"
        if (sel.k_per_interval < 3).any():
            note += "; fewer than 3 studies in a p-value interval: weights poorly identified"
        add(
            "3PSM selection model (step at p = 0.025, ML)",
            ci_text(sel.estimate, float(sel.ci_lower), float(sel.ci_upper)),
            note,
        )
    except EvidenceError as exc:
        add("3PSM selection model", "not estimable", str(exc))
    return rows


def _bayes_rows(name: str, es: ev.EffectSizes, s: Settings) -> list[dict[str, Any]]:
    """Bayesian random-effects meta-analysis of SMDs with two published-style tau priors."""
    rows = []
    priors = (
        (
            f"half-normal({BAYES_HALFNORMAL_SMD:g}) on tau",
            {"tau_prior": "halfnormal", "tau_scale": BAYES_HALFNORMAL_SMD},
        ),
        ("Rhodes 2015 log-t(5) on tau^2", {"tau_prior": "logt_tau2"}),
    )
    for label, kwargs in priors:
        b = ev.bayesmeta(es.yi, es.vi, level=s.level, thresholds=(0.0,), **kwargs)
        rows.append(
            {
                "analysis": name,
                "k": len(es.yi),
                "method": f"Bayesian, {label}",
                "result": ci_text(b.mu_median, b.mu_ci[0], b.mu_ci[1]),
                "note": f"P(effect > 0) = {b.prob_mu(0.0):.3f}",
            }
        )
    return rows


def bias_sensitivity(
    w: ReportWriter,
    bundle: EvidenceBundle,
    choices: BundledChoices,
    data: MotorData,
    s: Settings,
) -> None:
    """Small-study, selection and Bayesian sensitivity analyses of the primary (MD) and the
    SMD analyses (flagged rows out and in)."""
    w.doc.add(Heading("Publication bias, small-study effects and Bayesian analyses", 3))
    rows: list[dict[str, Any]] = []
    for months, (prim, _res) in data.primary.items():
        if len(prim) >= 3:
            rows += _bias_rows(f"MD {months} mo (primary)", _es(bundle, prim, "MD"), s)
    for months in choices.motor_timepoints_months:
        table = data.tables[months]
        base = secondary_rows(table)
        every = table[table["randomised"]].reset_index(drop=True)
        for name, sub in (
            (f"SMD {months} mo", base),
            (f"SMD {months} mo, flagged rows included", every),
        ):
            if len(sub) >= 3:
                es = _es(bundle, sub, "SMD")
                rows += _bias_rows(name, es, s)
                rows += _bayes_rows(name, es, s)
    w.results["bias_sensitivity"] = rows
    if not rows:
        w.doc.add(Para("No analysis has the 3 studies these methods need.", "note"))
        return
    w.table(
        "bias_sensitivity",
        pd.DataFrame(rows),
        f"Henmi-Copas, PET-PEESE, 3PSM selection model and Bayesian random-effects "
        f"({s.level_text} intervals; Bayesian: posterior median and credible interval)",
    )
    w.doc.add(
        Para(
            f"With fewer than {SMALL_K} studies these methods have little power and unstable "
            "estimates (PET-PEESE and selection models especially); read them as checks of "
            "direction, not as corrected effects. Bayesian priors: the Rhodes et al. 2015 "
            "log-t(5) prior for SMDs (general setting) and a half-normal prior with scale "
            f"{BAYES_HALFNORMAL_SMD:g} on tau (a cpstem judgement, weakly informative as in "
            "Röver 2020); no published heterogeneity prior exists on the GMFM-66 point scale, "
            "so the primary MD analysis has no Bayesian version here (cpstem evidence bayes "
            "--tau-scale gives one).",
            "note",
        )
    )


# --------------------------------------------------------------------------- RoB and GRADE


def risk_of_bias(w: ReportWriter, bundle: EvidenceBundle) -> None:
    """RoB 2 judgements: table, traffic-light and summary plots."""
    w.doc.add(Heading("Risk of bias (RoB 2)", 2))
    rob = bundle.rob2.copy()
    rob.insert(0, "study", labels(bundle, list(rob["trial"])))
    judged = rob["judged_by"].value_counts().to_dict()
    w.doc.add(
        Para(
            "RoB 2 (Sterne et al. BMJ 2019;366:l4898) per trial for the change in gross motor "
            "function: five domains and an overall judgement, each with who judged it and why "
            "(evidence/data/rob2.csv; judged by: "
            + ", ".join(f"{k} {v}" for k, v in judged.items())
            + "). No published review's RoB table could be read, so the judgements are "
            "cpstem's, from the abstracts and registry records; they are provisional. "
            "Non-randomised studies are not judged with RoB 2."
        )
    )
    w.figure(
        "rob_traffic_light",
        lambda path: traffic_light(rob, path, title="RoB 2: GMFM change"),
        "Risk of bias per trial (traffic light)",
    )
    w.figure(
        "rob_summary",
        lambda path: rob_summary(rob, path, title="RoB 2 summary (unweighted)"),
        "Risk of bias per domain (% of trials)",
    )
    w.table(
        "rob2",
        rob[["study", "outcome", *ROB_DOMAINS, "overall", "judged_by", "reason"]],
        "RoB 2 judgements with their reasons",
    )
    w.results["rob2"] = {r.trial: r.overall for r in bundle.rob2.itertuples(index=False)}


@dataclass(frozen=True)
class SaeNumbers:
    """Serious adverse events in the randomised controlled trials (MH risk ratio)."""

    rows: pd.DataFrame
    mh_rr: ev.PooledTables | None


def sae_numbers(bundle: EvidenceBundle, s: Settings) -> SaeNumbers:
    events = bundle.safety
    sae = events[(events["event"] == SAE) & events["n_control"].notna()]
    sae = sae[bundle.randomised(sae["trial"])].reset_index(drop=True)
    mh = None
    if len(sae) and (sae["events_cells"] + sae["events_control"]).sum() > 0:
        mh = ev.rma_mh(
            "RR",
            ai=sae["events_cells"].to_numpy(),
            n1i=sae["n_cells"].to_numpy(),
            ci=sae["events_control"].to_numpy(),
            n2i=sae["n_control"].to_numpy(),
            level=s.level,
        )
    return SaeNumbers(sae, mh)


def _ois(continuous: bool, control_risk: float | None = None) -> float:
    r = grade_rules()["imprecision"]
    if continuous:
        info = required_information_size(
            delta=r["smd_delta"], sd=1.0, alpha=r["alpha"], beta=r["beta"]
        )
    else:
        info = required_information_size(
            control_risk=control_risk, rrr=r["rrr"], alpha=r["alpha"], beta=r["beta"]
        )
    return float(info.ris)


def _indirectness(outcome: str) -> tuple[int, str]:
    for item in grade_rules()["indirectness"]:
        if item["outcome"] == outcome:
            return int(item["levels"]), item["reason"]
    return 0, "not judged"


def grade_rows(
    bundle: EvidenceBundle, data: MotorData, sae: SaeNumbers, s: Settings
) -> list[GradeRow]:
    """A GRADE summary-of-findings row per outcome: the primary MD per time point, the SMD per
    time point, and serious adverse events."""
    out: list[GradeRow] = []
    lvl = s.level_text

    def continuous(outcome: str, key: str, rows: pd.DataFrame, measure: str) -> None:
        if not len(rows):
            return
        es = _es(bundle, rows, measure)
        res = ev.rma(es, method=s.method, test=s.test, level=s.level)
        controls = [
            f"{lab}: {m:+.1f}" + (" above expected" if "expected" in scale else "")
            for lab, m, scale in zip(es.labels, rows["control_mean"], rows["scale"], strict=True)
            if np.isfinite(m)
        ]
        unit = "GMFM-66 points" if measure == "MD" else "SD units"
        anticipated = (
            f"control-arm mean change: {'; '.join(controls) or 'not reported'}; cells: "
            f"{measure} {res.estimate:+.2f} {unit} ({lvl} CI {res.ci_lower:.2f} to "
            f"{res.ci_upper:.2f})"
        )
        row = grade_outcome(
            outcome,
            f"{measure} ({unit})",
            estimate=res.estimate,
            ci=(res.ci_lower, res.ci_upper),
            k=res.k,
            participants=float(es.ni.sum()),
            weights=list(res.weights),
            rob=[bundle.overall_rob(t) for t in rows["trial"]],
            labels=list(es.labels),
            i2=res.i2,
            tau2=res.tau2,
            pi=(res.pi_lower, res.pi_upper),
            ois=_ois(True),
            indirectness=_indirectness(key),
            anticipated=anticipated,
        )
        out.append(row)

    for months, (rows, _) in data.primary.items():
        continuous(f"GMFM-66 change, {months} months (primary)", "motor_md", rows, "MD")
    for months, table in data.tables.items():
        continuous(
            f"GMFM change, {months} months (all versions)",
            "motor_smd",
            secondary_rows(table),
            "SMD",
        )
    if sae.mh_rr is not None:
        rows = sae.rows
        est, lo, hi = sections.pooled_tables_estimate(sae.mh_rr)
        control_risk = float(rows["events_control"].sum() / rows["n_control"].sum())
        n = rows["n_cells"] + rows["n_control"]
        out.append(
            grade_outcome(
                "serious adverse events",
                "RR (Mantel-Haenszel)",
                estimate=est,
                ci=(lo, hi),
                k=len(rows),
                participants=float(n.sum()),
                weights=list(n),
                rob=[None] * len(rows),
                labels=labels(bundle, list(rows["trial"])),
                ois=_ois(False, control_risk),
                indirectness=_indirectness("sae"),
                null=1.0,
                anticipated=per_thousand(control_risk, (est, lo, hi)),
                relative=f"RR {ci_text(est, lo, hi)}",
            )
        )
    return out


def grade_section(w: ReportWriter, grades: list[GradeRow]) -> None:
    """The GRADE summary-of-findings table and the reason for every downgrade."""
    w.doc.add(Heading("Summary of findings (GRADE)", 2))
    rows = []
    for g in grades:
        reasons = {
            d.domain: f"-{d.levels}: {d.reason}" if d.levels else d.reason for d in g.downgrades
        }
        rows.append(
            {
                "outcome": g.outcome,
                "anticipated absolute effects": g.anticipated,
                "relative effect": g.relative or "not applicable",
                "participants (studies)": f"{g.participants} ({g.studies})",
                "certainty": g.certainty.upper(),
                **reasons,
            }
        )
    w.results["grade"] = [g.to_dict() for g in grades]
    w.table("grade_summary_of_findings", pd.DataFrame(rows), "GRADE summary of findings")
    w.doc.add(
        Para(
            "Randomised trials start at high certainty; each domain takes off 0, 1 or 2 levels "
            "(rules and their sources in evidence/data/grade.toml; Guyatt et al., GRADE "
            "guidelines, J Clin Epidemiol 2011-2013). Imprecision uses the optimal information "
            "size (the required information size of one adequately powered trial: 0.2 SD, or a "
            "25% relative risk reduction, alpha 0.05, power 0.8; cpstem.design.tsa). Serious "
            "adverse events have no RoB 2 judgement and count as 'some concerns'.",
            "note",
        )
    )


def summary(
    w: ReportWriter,
    bundle: EvidenceBundle,
    choices: BundledChoices,
    data: MotorData,
    sae: SaeNumbers,
    grades: list[GradeRow],
    s: Settings,
) -> None:
    """The plain-language summary and the PRISMA-style count."""
    w.doc.add(Heading("Summary", 2))
    months = max(m for m, (_, r) in data.primary.items() if r is not None)
    rows, res = data.primary[months]
    grade = next(
        g for g in grades if g.outcome.startswith("GMFM-66") and f"{months} months" in g.outcome
    )
    pub = bundle.published_meta_analyses
    ref = pub[
        (pub["review"] == choices.primary.compare_review)
        & pub["outcome"].str.contains(f"{months} months")
    ].iloc[0]
    flow = prisma(bundle, data, choices)
    text = choices.summary_template.format(
        k=res.k,
        n=int((rows["n1i"] + rows["n2i"]).sum()),
        md=res.estimate,
        lo=res.ci_lower,
        hi=res.ci_upper,
        level=s.level_text,
        certainty=grade.certainty.upper(),
        ipd=ref["estimate"],
        ipd_lo=ref["ci_lower"],
        ipd_hi=ref["ci_upper"],
        sae_cells=int(sae.rows["events_cells"].sum()),
        n_cells=int(sae.rows["n_cells"].sum()),
        sae_control=int(sae.rows["events_control"].sum()),
        n_control=int(sae.rows["n_control"].sum()),
        identified=len(bundle.trials),
        not_poolable=int((flow["status"] == "not poolable").sum()),
    )
    w.doc.add(Para(text))
    w.results["summary"] = text
    counts_frame = (
        flow.groupby(["status", "reason"], sort=False)
        .agg(studies=("study", "count"), which=("study", ", ".join))
        .reset_index()
    )
    total = pd.DataFrame(
        [
            {
                "status": "identified",
                "reason": "studies in the bundled dataset (trials.csv)",
                "studies": len(flow),
                "which": "",
            }
        ]
    )
    w.table(
        "prisma_counts",
        pd.concat([total, counts_frame], ignore_index=True),
        "Flow of studies for gross motor function (PRISMA-style)",
    )
    w.results["prisma"] = {
        "identified": len(flow),
        **{k: int(v) for k, v in flow["status"].value_counts().items()},
    }


def prisma(bundle: EvidenceBundle, data: MotorData, choices: BundledChoices) -> pd.DataFrame:
    """Each study's fate for gross motor function: ``study, status, reason``; status
    ``primary (MD)``, ``secondary (SMD) only``, ``sensitivity only`` or ``not poolable``."""
    primary = {t for rows, _ in data.primary.values() for t in rows["trial"]}
    secondary = {t for table in data.tables.values() for t in secondary_rows(table)["trial"]}
    compared = {t for table in data.tables.values() for t in table["trial"]}
    reasons = bundle.not_poolable.groupby("trial")["reason"].first()
    out = []
    for t, rnd in zip(
        bundle.trials["trial"], bundle.randomised(bundle.trials["trial"]), strict=True
    ):
        if t in primary:
            status, reason = "included", "primary analysis (MD, GMFM-66) and SMD"
        elif t in secondary:
            status, reason = "included", "secondary analysis only (SMD: GMFM version not GMFM-66)"
        elif t in compared and rnd:
            status, reason = "sensitivity only", "extraction in doubt (flagged, see checks)"
        elif not rnd:
            status, reason = "not poolable", "not randomised"
        else:
            status = "not poolable"
            text = str(reasons.get(t, "no usable numbers"))
            reason = (
                "no separate control arm (crossover)"
                if "crossover" in text
                else "no SD or no per-arm numbers"
                if ("SD" in text or "numbers" in text or "not read" in text)
                else "other outcome (not GMFM)"
                if "GMPM" in text
                else text
            )
        out.append({"study": labels(bundle, [t])[0], "status": status, "reason": reason})
    return pd.DataFrame(out)


def checks_section(w: ReportWriter, bundle: EvidenceBundle, warnings: list[SanityWarning]) -> None:
    """The extraction sanity warnings and every correction with its verification status."""
    w.doc.add(Heading("Corrections and checks", 2))
    checks = bundle.checks
    w.doc.add(
        Para(
            f"{len(checks)} checks of the bundled data against the sources (evidence/data/"
            "checks.csv): verified "
            + ", ".join(f"{k} {v}" for k, v in checks["verified"].value_counts().items())
            + ". 'partial' or 'no' means the primary paper could not be read: the row is "
            "flagged and, where it matters, analysed both ways."
        )
    )
    w.table(
        "checks",
        checks[
            [
                "trial",
                "file",
                "field",
                "old_value",
                "new_value",
                "checked_against",
                "verified",
                "status",
                "reason",
            ]
        ].fillna(""),
        "Every correction and check, with its verification status",
    )
    frame = pd.DataFrame(
        [x.to_dict() for x in warnings], columns=["code", "row", "field", "message"]
    )
    w.results["sanity"] = frame.to_dict(orient="records")
    w.table(
        "sanity_warnings",
        frame[["code", "row", "field", "message"]] if len(frame) else frame,
        "Extraction sanity checks (cpstem.evidence.sanity): rows to look at again",
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
    with_control = sae[sae["n_control"].notna()]
    randomised = np.array(bundle.randomised(with_control["trial"]), dtype=bool)
    controlled = with_control[randomised]
    non_randomised = with_control[~randomised]
    table = pd.DataFrame(
        {
            "study": labels(bundle, list(controlled["trial"])),
            "SAE cells": counts(controlled["events_cells"], controlled["n_cells"]),
            "SAE control": counts(controlled["events_control"], controlled["n_control"]),
            "note": controlled["note"].fillna("").tolist(),
        }
    )
    w.table("safety_sae_studies", table, "Serious adverse events in randomised controlled trials")
    if len(non_randomised):
        w.table(
            "safety_sae_non_randomised",
            pd.DataFrame(
                {
                    "study": labels(bundle, list(non_randomised["trial"])),
                    "SAE cells": counts(non_randomised["events_cells"], non_randomised["n_cells"]),
                    "SAE control": counts(
                        non_randomised["events_control"], non_randomised["n_control"]
                    ),
                }
            ),
            "Serious adverse events in non-randomised controlled studies (described, not pooled)",
        )
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
            f"{len(controlled)} randomised controlled trials report serious adverse events; only "
            f"{with_events} had any. Double-zero trials carry no information on a ratio scale "
            "(they count for the risk difference). Events are too rare to show or exclude a "
            f"difference: the intervals are wide. {choices.safety_sae_note}",
            "note",
        )
    )
    sae_tsa_section(
        w,
        controlled.reset_index(drop=True),
        bundle.trials.set_index("trial").loc[list(controlled["trial"]), "year"].to_numpy(float),
        labels=labels(bundle, list(controlled["trial"])),
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
    frame = pd.DataFrame(rows)
    w.results["not_pooled"] = frame.to_dict(orient="records")
    w.table("not_pooled", frame, "Outcomes left out of the pooled analyses")
