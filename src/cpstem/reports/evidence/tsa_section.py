"""Trial sequential analysis section of the evidence report (cpstem.design.tsa).

For a standardised mean difference the outcome's SD is 1 by definition, and the anticipated
effect is ``Settings.tsa_delta`` when given, else the pooled random-effects estimate of the
same analysis (the "anticipated intervention effect" may be the meta-analysis's own estimate:
Thorlund et al., User manual for Trial Sequential Analysis, Copenhagen Trial Unit 2011). For
a mean difference on GMFM-66 points the anticipated effect is the MCID, ``Settings.mcid``: no
verified GMFM-66 MCID is bundled (``cpstem/outcomes/data/mcid.toml``), so without ``--mcid``
no MD TSA is made.

:func:`sae_tsa_section` is the TSA of serious adverse events (risk ratio, counts per trial;
assumptions and their sources in ``cpstem/design/data/tsa_defaults.toml``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cpstem.datafiles import toml_data
from cpstem.reports.document import Heading, Para
from cpstem.reports.evidence.writer import ReportWriter


def tsa_section(
    w: ReportWriter,
    key: str,
    title: str,
    res: Any,
    n: Any,
    years: Any,
    measure: str,
    delta: float | None = None,
    sd: float | None = None,
) -> Any:
    """TSA of the trials of ``res`` (in ``years`` order, ``n`` participants each): a paragraph,
    the TSA plot (``figures/<key>_tsa.png``) and the numbers in ``results.json``."""
    from cpstem.design import tsa
    from cpstem.plotting import save_figure

    if measure == "SMD":
        sd = 1.0
        source = "given" if delta is not None else "the pooled estimate"
        if delta is None:
            delta = abs(float(np.atleast_1d(res.beta)[0]))
    elif delta is None or sd is None:
        return None
    else:
        source = "the MCID given (--mcid)"
    if not delta or res.k < 2:
        return None
    out = tsa(res.yi, res.vi, list(n), list(years), labels=list(getattr(res, "labels", []) or [])
              or None, delta=delta, sd=sd, alpha=0.05, beta=0.2, futility=True)  # fmt: skip
    w.doc.add(Heading(f"Trial sequential analysis: {title}", 4))
    w.doc.add(
        Para(
            f"Anticipated effect {delta:.3g} ({measure}; {source}), SD {sd:g}, two-sided alpha "
            f"0.05, power 80%, diversity-adjusted required information size "
            f"{out.information.required:.0f} participants (D² = "
            f"{out.heterogeneity.d2:.0%}); Lan-DeMets O'Brien-Fleming boundaries (Wetterslev "
            f"2008, J Clin Epidemiol 61:64; 2009, BMC Med Res Methodol 9:86). {out.verdict}"
        )
    )
    w.figure(
        f"{key}_tsa",
        lambda path: save_figure(out.plot(), path),
        f"Trial sequential analysis: {title}",
    )
    w.results.setdefault("tsa", {})[key] = {
        "delta": delta,
        "sd": sd,
        "delta_source": source,
        "required": float(out.information.required),
        "accrued": float(out.accrued[-1]),
        "status": out.status,
        "more_needed": int(out.more_needed),
        "verdict": out.verdict,
        "tsa_ci": [out.tsa_ci_lower, out.tsa_ci_upper],
    }
    return out


def md_tsa_section(
    w: ReportWriter,
    key: str,
    title: str,
    res: Any,
    rows: Any,
    years: Any,
    mcid: float | None,
) -> Any:
    """TSA of a mean difference on GMFM-66 points (the primary analysis): anticipated effect
    the MCID given (``--mcid``; none is bundled, so without it a note and no TSA), SD implied
    by the trials' variances (:func:`cpstem.design.implied_sd`). ``rows`` has ``vi_md``,
    ``n1i``, ``n2i``."""
    from cpstem.design import implied_sd

    if mcid is None:
        w.doc.add(
            Para(
                "No trial sequential analysis of the mean difference: it needs the GMFM-66 MCID "
                "(--mcid); no verified value is bundled (cpstem/outcomes/data/mcid.toml).",
                "note",
            )
        )
        return None
    sd = implied_sd(rows["vi_md"], rows["n1i"], rows["n2i"])
    return tsa_section(
        w, key, title, res, (rows["n1i"] + rows["n2i"]).to_numpy(float), years, "MD",
        delta=mcid, sd=sd,
    )  # fmt: skip


def tsa_defaults() -> dict[str, Any]:
    """``cpstem/design/data/tsa_defaults.toml``: the assumptions of the bundled TSAs (read,
    source-checked and cached by :func:`cpstem.datafiles.toml_data`; do not modify)."""
    return toml_data("cpstem.design", "data/tsa_defaults.toml")


def sae_tsa_section(
    w: ReportWriter,
    rows: Any,
    years: Any,
    key: str = "sae",
    title: str = "serious adverse events",
    labels: Any = None,
    rrr: float | None = None,
    control_risk: float | None = None,
) -> Any:
    """TSA of serious adverse events: ``rows`` has ``events_cells``, ``n_cells``,
    ``events_control``, ``n_control`` (one randomised trial each, in any order; ``years`` sorts
    them). A paragraph, ``figures/<key>_tsa.png`` and ``results.json["tsa"][key]``. None when
    no trial has an event (nothing to analyse)."""
    return binary_tsa_section(
        w, rows["events_cells"], rows["n_cells"], rows["events_control"], rows["n_control"],
        years, key=key, title=title, labels=labels, rrr=rrr, control_risk=control_risk,
        what="cells vs control",
    )  # fmt: skip


def binary_tsa_section(
    w: ReportWriter,
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    years: Any,
    key: str = "main",
    title: str = "binary outcome",
    labels: Any = None,
    measure: str | None = None,
    rrr: float | None = None,
    control_risk: float | None = None,
    what: str = "intervention vs control",
) -> Any:
    """TSA of a binary outcome from 2x2 counts (``measure`` RR or RD; default and the other
    assumptions from ``tsa_defaults.toml`` [sae]): a paragraph, the plot and
    ``results.json["tsa"][key]``; a note and None when it cannot be made."""
    from cpstem.design import DesignError, tsa_binary
    from cpstem.plotting import save_figure

    d = tsa_defaults()["sae"]
    rrr = float(d["rrr"]) if rrr is None else rrr
    measure = d["measure"] if measure is None else measure
    w.doc.add(Heading(f"Trial sequential analysis: {title}", 4))
    try:
        out = tsa_binary(
            np.asarray(ai, float), np.asarray(n1i, float), np.asarray(ci, float),
            np.asarray(n2i, float), list(years), rrr=rrr, control_risk=control_risk,
            measure=measure, zero=float(d["zero"]), double_zero=d["double_zero"],
            alpha=float(d["alpha"]), beta=float(d["beta"]),
            labels=None if labels is None else list(labels),
        )  # fmt: skip
    except DesignError as exc:
        w.doc.add(Para(f"No trial sequential analysis: {exc.message}.", "note"))
        return None
    info = out.information
    if measure == "RR":
        effect = (
            f"Risk ratio {math.exp(out.estimate):.2f}, TSA-adjusted CI "
            f"{_exp_text(out.tsa_ci_lower)} to {_exp_text(out.tsa_ci_upper)}"
        )
        name = "Risk ratio"
    else:
        effect = (
            f"Risk difference {out.estimate:.3f}, TSA-adjusted CI "
            f"{_num_text(out.tsa_ci_lower)} to {_num_text(out.tsa_ci_upper)}"
        )
        name = "Risk difference"
    w.doc.add(
        Para(
            f"{name} ({what}), random-effects (DerSimonian-Laird) cumulative meta-analysis of "
            f"{_trials(len(out.n))} with events ({int(out.accrued[-1])} participants). Control "
            f"risk {info.control_risk:.1%}, relative risk change {rrr:.0%} (either direction), "
            f"two-sided alpha {out.alpha:g}, power {1 - out.beta:.0%}: required information "
            f"size {math.ceil(info.ris)}, diversity-adjusted (D² = {out.heterogeneity.d2:.0%}) "
            f"{math.ceil(info.required)} participants; Lan-DeMets O'Brien-Fleming boundaries. "
            f"{'; '.join(out.notes)}. {effect}{_no_boundary(out)}. {out.verdict} "
            f"Sources of the assumptions: {d['rrr_source']}; {d['control_risk_source']}; "
            f"{d['zero_source']}."
        )
    )
    w.figure(
        f"{key}_tsa",
        lambda path: save_figure(out.plot(), path),
        f"Trial sequential analysis: {title}",
    )
    tsa_ci = (
        [_exp(out.tsa_ci_lower), _exp(out.tsa_ci_upper)]
        if measure == "RR"
        else [out.tsa_ci_lower, out.tsa_ci_upper]
    )
    w.results.setdefault("tsa", {})[key] = {
        "measure": measure,
        "rrr": rrr,
        "control_risk": info.control_risk,
        "required": float(info.required),
        "accrued": float(out.accrued[-1]),
        "status": out.status,
        "more_needed": int(out.more_needed),
        "verdict": out.verdict,
        "notes": list(out.notes),
        "tsa_ci": tsa_ci,
    }
    return out


def _trials(k: int) -> str:
    return f"{k} trial" if k == 1 else f"{k} trials"


def _num_text(v: float) -> str:
    return f"{v:.3f}" if math.isfinite(v) else "not available"


def _no_boundary(out: Any) -> str:
    if math.isfinite(out.tsa_ci_lower):
        return ""
    return " (too little information for a monitoring boundary: no alpha spent yet)"


def _exp(v: float) -> float:
    return math.exp(v) if math.isfinite(v) else (0.0 if v < 0 else math.inf)


def _exp_text(v: float) -> str:
    return f"{math.exp(v):.2f}" if math.isfinite(v) else "not available"
