"""``cpstem evidence run``: a report folder pooling the bundled trials or a user's own file.

The folder holds ``report.html``, ``report.pdf`` and ``report.md`` (same content),
``results.json`` (the key figures), ``figures/`` (forest and funnel plots, PNG) and ``tables/``
(CSV, formula-escaped).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cpstem import __version__
from cpstem import evidence as ev
from cpstem.evidence.bundled import EvidenceBundle, load_bundle
from cpstem.evidence.comparisons import arm_comparisons, cohens_d, hedges_g_from_d
from cpstem.evidence.errors import EvidenceError
from cpstem.reports.document import Bullets, Document, Heading, Image, Para, Table
from cpstem.reports.evidence_input import BINARY, StudyTable
from cpstem.spreadsheet import safe_frame

#: Trial attributes used for subgroup analyses of the bundled data, with their titles.
SUBGROUPS = {
    "cells": "cell type",
    "cell_source": "cell source",
    "origin": "origin",
    "route": "route",
}
RATIO = ("OR", "RR", "PETO", "ROM")
MIN_K_BIAS = 10  # Cochrane Handbook 13.3.5.4: tests for funnel asymmetry need >= 10 studies


@dataclass(frozen=True)
class Settings:
    """Model choices: effect measure, tau^2 estimator, test, confidence level."""

    measure: str = "SMD"
    method: str = "REML"
    test: str = "knha"
    level: float = 95.0

    def describe(self) -> str:
        test = "Hartung-Knapp-Sidik-Jonkman (t)" if self.test == "knha" else "z (Wald)"
        return (
            f"measure {self.measure}, tau^2 estimator {self.method}, test {test}, "
            f"{self.level:g}% intervals"
        )


@dataclass
class ReportOutput:
    """What was written, and the key figures (also in ``results.json``)."""

    folder: Path
    results: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Report written to {self.folder}"]
        for name, res in self.results.get("analyses", {}).items():
            if "estimate" in res:
                lines.append(
                    f"  {name}: {res['measure']} {res['estimate']:.2f} "
                    f"[{res['ci_lower']:.2f}, {res['ci_upper']:.2f}], k = {res['k']}, "
                    f"I2 = {res['i2']:.0f}%"
                )
        return "\n".join(lines + self.notes)


class _Writer:
    """Collects the document, figures and tables of one report folder."""

    def __init__(self, folder: Path, title: str) -> None:
        self.folder = folder
        self.doc = Document(title)
        self.out = ReportOutput(folder)
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        (folder / "tables").mkdir(parents=True, exist_ok=True)

    def figure(self, name: str, draw: Any, caption: str) -> None:
        path = self.folder / "figures" / f"{name}.png"
        draw(path)
        self.out.files.append(path)
        self.doc.add(Image(f"figures/{name}.png", caption))

    def table(self, name: str, frame: pd.DataFrame, caption: str, show: bool = True) -> None:
        path = self.folder / "tables" / f"{name}.csv"
        safe_frame(frame).to_csv(path, index=False)
        self.out.files.append(path)
        if show:
            self.doc.add(Table(frame, caption + f" (tables/{name}.csv)"))

    def finish(self) -> ReportOutput:
        for name, text in (("report.md", self.doc.markdown()), ("report.html", self.doc.html())):
            path = self.folder / name
            path.write_text(text, encoding="utf-8")
            self.out.files.append(path)
        self._pdf()
        path = self.folder / "results.json"
        path.write_text(json.dumps(_jsonable(self.out.results), indent=2), encoding="utf-8")
        self.out.files.append(path)
        return self.out

    def _pdf(self) -> None:
        """``report.pdf`` from the HTML with WeasyPrint (needs the system's Pango library)."""
        try:
            from weasyprint import HTML
        except (ImportError, OSError) as exc:  # OSError: Pango is not installed
            self.out.notes.append(f"report.pdf not written: WeasyPrint is unavailable ({exc})")
            return
        path = self.folder / "report.pdf"
        HTML(filename=str(self.folder / "report.html")).write_pdf(path)
        self.out.files.append(path)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _ci(est: float, lo: float, hi: float, fmt: str = ".2f") -> str:
    return f"{est:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _back(measure: str, x: float) -> float:
    """Ratio measures are fitted on the log scale and reported exponentiated."""
    return math.exp(x) if measure in RATIO else x


def _model_figures(res: ev.RMAResult, measure: str) -> dict[str, Any]:
    b = lambda v: _back(measure, v)  # noqa: E731
    out = {
        "measure": measure,
        "method": res.method,
        "test": res.test,
        "k": res.k,
        "estimate": b(res.estimate),
        "ci_lower": b(res.ci_lower),
        "ci_upper": b(res.ci_upper),
        "pval": res.pval,
        "tau2": res.tau2,
        "i2": res.i2,
        "h2": res.h2,
        "q": res.q,
        "q_df": res.q_df,
        "q_pval": res.q_pval,
    }
    if res.pi_lower is not None and res.method != "FE":
        out |= {"pi_lower": b(res.pi_lower), "pi_upper": b(res.pi_upper)}
    return out


def _pooled_text(res: ev.RMAResult, measure: str, n: float | None = None) -> str:
    f = _model_figures(res, measure)
    people = f", {int(n)} participants" if n else ""
    text = (
        f"Pooled {measure} {_ci(f['estimate'], f['ci_lower'], f['ci_upper'])} "
        f"(p {_p(res.pval)}; k = {res.k}{people}). Heterogeneity: tau^2 = {res.tau2:.3f}, "
        f"I^2 = {res.i2:.1f}%, Q = {res.q:.2f} (df {res.q_df}, p {_p(res.q_pval)})."
    )
    if "pi_lower" in f:
        text += (
            f" {res.level:g}% prediction interval {f['pi_lower']:.2f} to "
            f"{f['pi_upper']:.2f}: the range in which the effect of a new, similar trial "
            "is expected to lie."
        )
    return text


def _study_table(
    es: ev.EffectSizes, res: ev.RMAResult, extra: pd.DataFrame | None, measure: str
) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + res.level / 200)
    se = np.sqrt(es.vi)
    frame = pd.DataFrame(
        {
            "study": list(es.labels),
            measure: [_back(measure, y) for y in es.yi],
            "ci_lower": [_back(measure, y - z * s) for y, s in zip(es.yi, se, strict=True)],
            "ci_upper": [_back(measure, y + z * s) for y, s in zip(es.yi, se, strict=True)],
            "weight_percent": np.round(res.weights, 1),
        }
    )
    for col in (measure, "ci_lower", "ci_upper"):
        frame[col] = frame[col].round(3)
    if extra is not None:
        frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
    return frame


def _analysis(
    w: _Writer,
    key: str,
    title: str,
    es: ev.EffectSizes,
    s: Settings,
    attributes: pd.DataFrame | None = None,
    n_total: float | None = None,
    subgroup_cols: dict[str, str] | None = None,
) -> ev.RMAResult | None:
    """One pooled analysis: table, model, forest, subgroups, sensitivity, small-study effects."""
    doc = w.doc
    doc.add(Heading(title, 3))
    if len(es.yi) == 0:
        doc.add(Para("No study can be pooled here.", "warning"))
        return None
    res = ev.rma(es, method=s.method, test=s.test, level=s.level)
    measure = es.measure
    w.out.results.setdefault("analyses", {})[key] = _model_figures(res, measure) | {
        "studies": list(es.labels)
    }
    w.table(
        f"{key}_studies", _study_table(es, res, attributes, measure), f"Studies pooled in '{title}'"
    )
    doc.add(Para(_pooled_text(res, measure, n_total)))
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
        _subgroups(w, key, es, s, attributes, subgroup_cols)
    if res.k >= 3:
        loo = ev.leave_one_out(res)
        frame = pd.DataFrame(
            {
                "left out": list(loo.labels),
                "estimate": [round(_back(measure, v), 3) for v in loo.estimate],
                "ci_lower": [round(_back(measure, v), 3) for v in loo.ci_lower],
                "ci_upper": [round(_back(measure, v), 3) for v in loo.ci_upper],
                "i2_percent": np.round(loo.i2, 1),
            }
        )
        w.table(f"{key}_leave_one_out", frame, "Leave-one-out sensitivity analysis")
        reg = ev.regtest(res)
        rank = ev.ranktest(res)
        w.out.results["analyses"][key] |= {
            "egger_z": reg.stat,
            "egger_p": reg.pval,
            "begg_tau": rank.tau,
            "begg_p": rank.pval,
        }
        text = (
            f"Small-study effects: Egger's regression test {reg.stat:.2f} "
            f"(p {_p(reg.pval)}); Begg's rank correlation tau = {rank.tau:.2f} "
            f"(p {_p(rank.pval)})."
        )
        if res.k < MIN_K_BIAS:
            text += (
                f" With only {res.k} studies these tests have very low power and are not "
                f"recommended (Cochrane Handbook 13.3.5.4: at least {MIN_K_BIAS}); the "
                "funnel plot is shown for transparency, not as evidence either way."
            )
        doc.add(Para(text, "note" if res.k < MIN_K_BIAS else ""))
        w.figure(
            f"{key}_funnel",
            lambda path: ev.funnel(res, out=path, title=title),
            f"Funnel plot: {title}",
        )
    return res


def _subgroups(
    w: _Writer,
    key: str,
    es: ev.EffectSizes,
    s: Settings,
    attributes: pd.DataFrame,
    columns: dict[str, str],
) -> None:
    rows, skipped, drawn = [], [], False
    for col, name in columns.items():
        groups = attributes[col].fillna("(not reported)").astype(str).tolist()
        if len(set(groups)) < 2:
            skipped.append(f"{name}: all studies share one value ({groups[0]})")
            continue
        sub = ev.subgroup(es, groups=groups, method=s.method, test=s.test, level=s.level)
        for lv in sub.levels:
            fit = sub.fits[lv]
            rows.append(
                {
                    "by": name,
                    "subgroup": lv,
                    "k": fit.k,
                    "estimate": round(_back(es.measure, fit.estimate), 3),
                    "ci_lower": round(_back(es.measure, fit.ci_lower), 3),
                    "ci_upper": round(_back(es.measure, fit.ci_upper), 3),
                    "test for differences": f"Q = {sub.q_between:.2f}, df = {sub.q_between_df}, "
                    f"p {_p(sub.q_between_pval)}",
                }
            )
        if not drawn:
            w.figure(
                f"{key}_forest_by_{col}",
                lambda path, sub=sub, name=name: ev.forest(sub, out=path, title=f"By {name}"),
                f"Forest plot by {name}",
            )
            drawn = True
        w.out.results["analyses"][key].setdefault("subgroups", {})[name] = {
            "levels": {lv: _model_figures(sub.fits[lv], es.measure) for lv in sub.levels},
            "q_between": sub.q_between,
            "q_between_df": sub.q_between_df,
            "q_between_pval": sub.q_between_pval,
        }
    if rows:
        w.table(
            f"{key}_subgroups",
            pd.DataFrame(rows),
            "Subgroup analyses (separate tau^2 "
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


# --------------------------------------------------------------------------- bundled data


def _labels(bundle: EvidenceBundle, trial_ids: list[str]) -> list[str]:
    t = bundle.trials.set_index("trial")
    return [f"{t.loc[i, 'study']} {t.loc[i, 'year']}" for i in trial_ids]


def _bundled_motor(w: _Writer, bundle: EvidenceBundle, s: Settings) -> list[tuple]:
    trials = bundle.trials.set_index("trial")
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
    for months in (6, 12):
        comps, excl = arm_comparisons(bundle.motor_arms, months)
        excluded += [tuple(r) for r in excl.itertuples(index=False)]
        es = ev.effect_sizes(
            "SMD",
            m1i=comps["m1i"],
            sd1i=comps["sd1i"],
            n1i=comps["n1i"],
            m2i=comps["m2i"],
            sd2i=comps["sd2i"],
            n2i=comps["n2i"],
            labels=_labels(bundle, list(comps["trial"])),
        )
        attrs = trials.loc[list(comps["trial"]), list(SUBGROUPS)].reset_index(drop=True)
        extra = pd.concat(
            [
                comps[
                    [
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
                ].reset_index(drop=True),
                attrs,
            ],
            axis=1,
        )
        res = _analysis(
            w,
            f"motor_{months}mo",
            f"GMFM change at {months} months",
            es,
            s,
            extra,
            float((comps["n1i"] + comps["n2i"]).sum()),
            SUBGROUPS,
        )
        w.out.results["analyses"][f"motor_{months}mo"]["scales"] = sorted(set(comps["scale"]))
        notes = [n for n in comps["note"] if n]
        if notes:
            w.doc.add(
                Bullets(
                    [
                        f"{lab}: {n}"
                        for lab, n in zip(
                            _labels(bundle, list(comps["trial"])), comps["note"], strict=True
                        )
                        if n
                    ]
                )
            )
        if months == 12 and res is not None:
            _sensitivity_reported(w, bundle, comps, es, s)
    return excluded


def _sensitivity_reported(
    w: _Writer, bundle: EvidenceBundle, comps: pd.DataFrame, base: ev.EffectSizes, s: Settings
) -> None:
    eff = bundle.motor_effects[bundle.motor_effects["timepoint_months"] == 12]
    if eff.empty:
        return
    g, v = hedges_g_from_d(eff["value"], eff["n_cells"], eff["n_control"])
    labels = _labels(bundle, list(comps["trial"])) + _labels(bundle, list(eff["trial"]))
    es = ev.EffectSizes(
        "SMD",
        np.concatenate([base.yi, g]),
        np.concatenate([base.vi, v]),
        tuple(labels),
        np.concatenate([base.ni, eff["n_cells"] + eff["n_control"]]),
    )
    w.doc.add(
        Para(
            "Sensitivity analysis: adding trials that publish only an effect size (Cohen's d of an "
            "adjusted difference, converted to Hedges' g with the exact correction; variance from "
            "the group sizes). These are not arm-level data and, for Amanat 2022, the group sizes "
            "are uncertain, so they are kept out of the primary analysis.",
            "note",
        )
    )
    _analysis(
        w,
        "motor_12mo_with_reported_effects",
        "GMFM change at 12 months, including reported effect sizes",
        es,
        s,
    )


def _eggenberger(w: _Writer, bundle: EvidenceBundle) -> None:
    """Try to reproduce Eggenberger 2019 from the accessible data (Cohen's d, DL)."""
    arms = bundle.motor_arms.set_index(["trial", "timepoint_months", "arm"])
    picks = [
        ("huang2018", 12, "UCB-MSC", "control"),
        ("kang2015", 6, "UCB-MNC", "control"),
        ("min2013", 6, "UCB + EPO", "placebo + placebo"),
        ("sun2017", 12, "autologous cord blood", "placebo"),
    ]
    cols = {k: [] for k in ("m1", "sd1", "n1", "m2", "sd2", "n2")}
    for trial, months, cells, control in picks:
        a, c = arms.loc[(trial, months, cells)], arms.loc[(trial, months, control)]
        for k, r in (("1", a), ("2", c)):
            cols[f"m{k}"].append(r["mean_change"])
            cols[f"sd{k}"].append(r["sd_change"])
            cols[f"n{k}"].append(r["n"])
    d, v = cohens_d(cols["m1"], cols["sd1"], cols["n1"], cols["m2"], cols["sd2"], cols["n2"])
    res = ev.rma(d, v, method="DL")
    pub = bundle.published_meta_analyses.set_index("review").loc["Eggenberger"]
    w.out.results["eggenberger_reconstruction"] = {
        "trials": [p[0] for p in picks],
        "estimate": res.estimate,
        "ci_lower": res.ci_lower,
        "ci_upper": res.ci_upper,
        "tau2": res.tau2,
        "q": res.q,
        "i2": res.i2,
        "published": {
            "estimate": pub["estimate"],
            "ci_lower": pub["ci_lower"],
            "ci_upper": pub["ci_upper"],
            "i2": pub["i2_percent"],
        },
    }
    w.doc.add(
        Para(
            f"Reconstruction of Eggenberger 2019 with its stated method (Cohen's d, random "
            f"effects, here DerSimonian-Laird) on the four trials with accessible mean +/- SD "
            f"(Huang 12 mo, Kang 6 mo, Min cells+EPO vs placebo 6 mo, Sun 12 mo): "
            f"{_ci(res.estimate, res.ci_lower, res.ci_upper)}, tau^2 = {res.tau2:.3f}, "
            f"I^2 = {res.i2:.1f}%. Published (5 trials, n = 282): "
            f"{_ci(pub['estimate'], pub['ci_lower'], pub['ci_upper'])}, I^2 = "
            f"{pub['i2_percent']:g}%. The published result cannot be reproduced from accessible "
            "material: the review does not name the five pooled trials or the n it used, and the "
            "fifth candidate (Liu 2017) published no SDs.",
            "note",
        )
    )


def _bundled_safety(w: _Writer, bundle: EvidenceBundle) -> list[tuple]:
    w.doc.add(Heading("Safety", 2))
    sae = bundle.safety[bundle.safety["event"] == "serious adverse event"]
    controlled = sae[sae["n_control"].notna()]
    labels = _labels(bundle, list(controlled["trial"]))
    table = pd.DataFrame(
        {
            "study": labels,
            "SAE cells": [
                f"{int(a)}/{int(n)}"
                for a, n in zip(controlled["events_cells"], controlled["n_cells"], strict=True)
            ],
            "SAE control": [
                f"{int(a)}/{int(n)}"
                for a, n in zip(controlled["events_control"], controlled["n_control"], strict=True)
            ],
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
        "MH risk difference": ev.rma_mh("RD", **cols),
        "MH risk ratio": ev.rma_mh("RR", **cols),
        "MH odds ratio": ev.rma_mh("OR", **cols),
        "Peto odds ratio": ev.rma_peto(**cols),
    }
    rows = []
    for name, p in pooled.items():
        ratio = p.measure in RATIO
        est, lo, hi = _pooled_tables(p)
        rows.append(
            {
                "method": name,
                "estimate [95% CI]": _ci(est, lo, hi, ".3f"),
                "p": _p(p.pval),
                "studies informing": p.k_yi if ratio else p.k,
            }
        )
        w.out.results.setdefault("safety", {})[name] = {
            "estimate": est,
            "ci_lower": lo,
            "ci_upper": hi,
            "pval": p.pval,
            "k": p.k,
            "k_with_events": with_events,
        }
    w.table(
        "safety_sae_pooled", pd.DataFrame(rows), "Risk of a serious adverse event, cells vs control"
    )
    w.doc.add(
        Para(
            f"{len(controlled)} controlled trials report serious adverse events; only "
            f"{with_events} had any. Double-zero trials carry no information on a ratio scale "
            "(they count for the risk difference). Events are too rare to show or exclude a "
            "difference: the intervals are wide. Min 2013 merged its two comparator arms and gave "
            "EPO to the cells arm; Liu 2017 merged its two cells arms.",
            "note",
        )
    )
    _single_arm(
        w,
        bundle,
        sae[sae["n_control"].isna()],
        "Serious adverse events in trials without a separate control arm (exact 95% CI)",
        "safety_sae_single_arm",
    )
    gu = bundle.safety[(bundle.safety["trial"] == "gu2020")]
    if not gu.empty:
        es = ev.effect_sizes(
            "RR",
            ai=gu["events_cells"],
            n1i=gu["n_cells"],
            ci=gu["events_control"],
            n2i=gu["n_control"],
        )
        z = stats.norm.ppf(0.975)
        frame = pd.DataFrame(
            {
                "event": gu["event"].tolist(),
                "cells": [
                    f"{int(a)}/{int(n)}"
                    for a, n in zip(gu["events_cells"], gu["n_cells"], strict=True)
                ],
                "control": [
                    f"{int(a)}/{int(n)}"
                    for a, n in zip(gu["events_control"], gu["n_control"], strict=True)
                ],
                "risk ratio [95% CI]": [
                    _ci(math.exp(y), math.exp(y - z * math.sqrt(v)), math.exp(y + z * math.sqrt(v)))
                    for y, v in zip(es.yi, es.vi, strict=True)
                ],
            }
        )
        w.table(
            "safety_gu2020_events",
            frame,
            "Non-serious adverse events, Gu 2020 (one trial: not pooled)",
        )
    other = bundle.safety[
        (bundle.safety["n_control"].isna()) & (bundle.safety["event"] != "serious adverse event")
    ]
    _single_arm(
        w,
        bundle,
        other,
        "Adverse events in single-arm studies (no comparator; exact 95% CI)",
        "safety_single_arm_events",
    )
    return []


def _pooled_tables(p: ev.PooledTables) -> tuple[float, float, float]:
    """Estimate and CI of a Mantel-Haenszel / Peto fit on the natural scale."""
    return tuple(_back(p.measure, x) for x in (p.estimate, p.ci_lower, p.ci_upper))


def _single_arm(
    w: _Writer, bundle: EvidenceBundle, rows: pd.DataFrame, caption: str, name: str
) -> None:
    if rows.empty:
        return
    out = []
    for r in rows.itertuples(index=False):
        k, n = int(r.events_cells), int(r.n_cells)
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        out.append(
            {
                "study": _labels(bundle, [r.trial])[0],
                "event": r.event,
                "events/n": f"{k}/{n}",
                "proportion [95% CI]": _ci(k / n, ci.low, ci.high, ".3f"),
            }
        )
    w.table(name, pd.DataFrame(out), caption)


def run_bundled(folder: Path, settings: Settings | None = None) -> ReportOutput:
    """Pool the bundled stem-cell trials in CP and write the report folder."""
    s = settings or Settings()
    if s.measure != "SMD":
        raise EvidenceError(
            "the bundled motor outcomes use different GMFM versions and units: "
            "only --measure SMD can pool them"
        )
    bundle = load_bundle()
    w = _Writer(folder, "Stem-cell therapy for cerebral palsy: pooled evidence")
    w.out.results["settings"] = s.__dict__ | {"data": "bundled", "cpstem": __version__}
    _intro(w, s, "the bundled, cited dataset of published trials (cpstem/evidence/data)")
    trials = bundle.trials
    w.table(
        "trials",
        trials[
            [
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
        ],
        "Trials in the bundled dataset",
    )
    excluded = _bundled_motor(w, bundle, s)
    w.doc.add(Heading("Published meta-analyses", 2))
    w.table(
        "published_meta_analyses",
        bundle.published_meta_analyses[
            [
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
        ],
        "Pooled results as published (for comparison)",
    )
    _eggenberger(w, bundle)
    _bundled_safety(w, bundle)
    _not_pooled(w, bundle, excluded)
    _methods(w, s, bundled=True)
    return w.finish()


def _not_pooled(w: _Writer, bundle: EvidenceBundle, excluded: list[tuple]) -> None:
    w.doc.add(Heading("What could not be pooled, and why", 2))
    reasons = bundle.not_poolable.set_index(["trial", "outcome"])["reason"]
    rows, seen = [], set()
    for trial, outcome, months, reason in excluded:
        detail = reasons.get((trial, outcome), reason)
        rows.append(
            {
                "study": _labels(bundle, [trial])[0],
                "outcome": outcome,
                "time point": f"{months} months",
                "reason": detail,
            }
        )
        seen.add(trial)
    for r in bundle.not_poolable.itertuples(index=False):
        if r.trial not in seen:
            rows.append(
                {
                    "study": _labels(bundle, [r.trial])[0],
                    "outcome": r.outcome,
                    "time point": "any",
                    "reason": r.reason,
                }
            )
    for r in bundle.motor_effects.itertuples(index=False):
        rows.append(
            {
                "study": _labels(bundle, [r.trial])[0],
                "outcome": r.outcome,
                "time point": f"{r.timepoint_months} months",
                "reason": "primary analysis: no arm-level means/SDs, only a published "
                f"effect size ({r.note}); included in the sensitivity analysis",
            }
        )
    frame = pd.DataFrame(rows)
    w.out.results["not_pooled"] = frame.to_dict(orient="records")
    w.table("not_pooled", frame, "Outcomes left out of the pooled analyses")


def _intro(w: _Writer, s: Settings, data: str) -> None:
    w.doc.add(
        Para(
            f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by cpstem {__version__} from "
            f"{data}. Model: random effects ({s.describe()})."
        )
    )


_KNHA = "Hartung-Knapp-Sidik-Jonkman t-based intervals (advisable when studies are few); "
_BUNDLED_METHODS = (
    "SMD = Hedges' g with the exact small-sample correction and the large-sample variance "
    "(metafor escalc defaults). Positive values favour the cells group.",
    "Outcomes are changes from baseline; the SD of change was reported, or derived from a "
    "published SEM as SEM x sqrt(n) where marked.",
    "Multi-arm trials contribute one comparison: cells arms sharing a control are combined "
    "(Cochrane Handbook 6.5.2.10); comparator arms not used are listed with the reason.",
    "Safety: Mantel-Haenszel (risk difference, ratio, odds ratio) and Peto odds ratio for "
    "sparse events; single-arm data are described, never compared.",
)


def _methods(w: _Writer, s: Settings, bundled: bool) -> None:
    model = (
        f"Random-effects models with the {s.method} estimator of tau^2; "
        + (_KNHA if s.test == "knha" else "z-based (Wald) intervals; ")
        + "prediction intervals as metafor's predict(). The engine reproduces R metafor 3.8 "
        "(checked in the test suite)."
    )
    bias = (
        f"Tests for small-study effects need at least {MIN_K_BIAS} studies; with fewer they "
        "are reported only for transparency."
    )
    items = [model, *(_BUNDLED_METHODS if bundled else ()), bias]
    w.doc.add(Heading("Methods and caveats", 2), Bullets(items))


# --------------------------------------------------------------------------- user data


def run_user(table: StudyTable, folder: Path, settings: Settings | None = None) -> ReportOutput:
    """Pool a user's own studies (see :mod:`cpstem.reports.evidence_input` for the format)."""
    s = settings or Settings(measure=table.measure)
    if s.measure != table.measure:
        raise EvidenceError(f"the table was read for {table.measure}, not {s.measure}")
    w = _Writer(folder, f"Meta-analysis of {table.source} ({table.measure})")
    w.out.results["settings"] = s.__dict__ | {"data": table.source, "cpstem": __version__}
    _intro(w, s, f"{table.source} ({table.k} studies)")
    cols = dict(table.columns)
    if table.measure == "GEN":
        es = ev.EffectSizes(
            "GEN",
            cols["yi"],
            cols["vi"] if "vi" in cols else cols["sei"] ** 2,
            tuple(table.studies),
            np.full(table.k, np.nan),
        )
    else:
        es = ev.effect_sizes(table.measure, labels=table.studies, **cols)
    usable = np.isfinite(es.yi) & np.isfinite(es.vi)
    if not usable.all():
        dropped = [lab for lab, ok in zip(table.studies, usable, strict=True) if not ok]
        w.doc.add(
            Para(
                "Left out (no estimable effect, e.g. no events in either group): "
                + ", ".join(dropped),
                "warning",
            )
        )
        w.out.results["not_pooled"] = dropped
    groups = None
    if table.subgroups is not None:
        groups = pd.DataFrame({"subgroup": table.subgroups})
    w.doc.add(Heading("Pooled analysis", 2))
    _analysis(
        w,
        "main",
        f"{table.measure} ({table.k} studies)",
        es,
        s,
        groups,
        None,
        {"subgroup": "subgroup"} if groups is not None else None,
    )
    if table.measure in BINARY and usable.sum() >= 1:
        _user_binary(w, table)
    if table.k >= 3 and usable.all():
        res = ev.rma(es, method=s.method, test=s.test, level=s.level)
        infl = ev.influence(res)
        flagged = [lab for lab, f in zip(infl.labels, infl.influential, strict=True) if f]
        w.doc.add(
            Para(
                "Influence diagnostics (metafor influence()): "
                + (
                    f"influential: {', '.join(flagged)}."
                    if flagged
                    else "no study is flagged as influential."
                )
            )
        )
    _methods(w, s, bundled=False)
    return w.finish()


def _user_binary(w: _Writer, table: StudyTable) -> None:
    cols = dict(table.columns)
    rows = []
    methods = [
        (
            "Mantel-Haenszel",
            lambda: ev.rma_mh(table.measure if table.measure != "PETO" else "OR", **cols),
        )
    ]
    if table.measure in ("OR", "PETO"):
        methods.append(("Peto", lambda: ev.rma_peto(**cols)))
    for name, fit in methods:
        p = fit()
        est, lo, hi = _pooled_tables(p)
        rows.append(
            {
                "method": f"{name} {p.measure}",
                "estimate [95% CI]": _ci(est, lo, hi, ".3f"),
                "p": _p(p.pval),
                "k": p.k,
            }
        )
    w.table(
        "main_fixed_effect_sparse",
        pd.DataFrame(rows),
        "Methods for sparse binary data (fixed effect)",
    )
