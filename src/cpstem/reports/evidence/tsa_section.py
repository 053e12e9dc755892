"""Trial sequential analysis section of the evidence report (cpstem.design.tsa).

For a standardised mean difference the outcome's SD is 1 by definition, and the anticipated
effect is ``Settings.tsa_delta`` when given, else the pooled random-effects estimate of the
same analysis (the "anticipated intervention effect" may be the meta-analysis's own estimate:
Thorlund et al., User manual for Trial Sequential Analysis, Copenhagen Trial Unit 2011). For
a mean difference on GMFM-66 points the anticipated effect is the MCID, ``Settings.mcid``: no
verified GMFM-66 MCID is bundled (``cpstem/outcomes/data/mcid.toml``), so without ``--mcid``
no MD TSA is made.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
