"""The registry's controlled comparison added to the bundled trials (``cpstem evidence run
--with-registry analysis.csv``).

The registry's comparison at each bundled time point is :func:`cpstem.outcomes.ipd.treatment_effect`
(ANCOVA of the change in GMFM-66 since baseline, adjusted for baseline GMFM-66, age and GMFCS,
HC3 robust SE): a mean difference in GMFM-66 points. The bundled trials are pooled as Hedges' g
of the change from baseline (different GMFM versions), so the registry's difference is
standardised the same way: ``g = J * MD / SD_pooled`` with ``SD_pooled`` the pooled SD of the
change in the two groups, ``J = 1 - 3 / (4 (n1 + n2 - 2) - 1)`` (the exact-correction's
approximation used by escalc for large df), variance ``J^2 (SE / SD_pooled)^2`` from the robust
SE of the adjusted difference. It is labelled as an observational study and pooled three ways:
the trials alone, trials plus registry, and trials plus registry with its variance multiplied by
the bias factor (``registry.toml``; ``--bias-factor``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from cpstem import evidence as ev
from cpstem.evidence.errors import EvidenceError
from cpstem.outcomes.errors import OutcomeError
from cpstem.reports.document import Heading, Para
from cpstem.reports.evidence import sections
from cpstem.reports.evidence.settings import Settings
from cpstem.reports.evidence.writer import ReportWriter

LABEL = "Registry cohort (observational)"


def bias_factor_default() -> tuple[float, str]:
    """The default bias factor and its source (``registry.toml``)."""
    path = resources.files("cpstem.reports.evidence").joinpath("registry.toml")
    with path.open("rb") as fh:
        spec = tomllib.load(fh)["bias_factor"]
    return float(spec["default"]), str(spec["source"])


@dataclass(frozen=True)
class RegistryComparison:
    """The registry's treated-vs-control comparison at one time point (MD and its SMD)."""

    months: int
    md: float
    se: float
    ci_lower: float
    ci_upper: float
    n_treated: int
    n_control: int
    yi: float  # Hedges' g
    vi: float

    @property
    def n(self) -> int:
        return self.n_treated + self.n_control


def hedges_from_md(md: float, se: float, smd: float, n1: int, n2: int) -> tuple[float, float]:
    """``(g, var g)`` of an adjusted mean difference ``md`` with robust ``se``, whose
    standardised value over the pooled SD is ``smd`` (see the module docs)."""
    df = n1 + n2 - 2
    j = 1 - 3 / (4 * df - 1)
    sd = md / smd
    return j * smd, (j * se / sd) ** 2


def comparison(table: pd.DataFrame, months: int) -> RegistryComparison:
    """The registry's comparison at ``months`` (raises ``OutcomeError`` when it cannot be made)."""
    from cpstem.outcomes.ipd import treatment_effect

    res = treatment_effect(table, months=months, method="ancova")
    if not np.isfinite(res.smd) or res.smd == 0:
        raise OutcomeError(
            "the registry's difference cannot be standardised (no spread or no difference)",
            code="degenerate",
            field="table",
        )
    g, v = hedges_from_md(res.estimate, res.se, res.smd, res.n_treated, res.n_control)
    return RegistryComparison(
        months, res.estimate, res.se, res.ci_lower, res.ci_upper, res.n_treated, res.n_control, g, v
    )


def check_bias_factor(factor: float) -> float:
    if not np.isfinite(factor) or factor < 1:
        raise EvidenceError(
            f"bias factor {factor:g}: must be 1 (naive pooling) or more",
            code="out_of_range",
            field="bias_factor",
            params={"value": factor},
        )
    return float(factor)


def with_registry(
    w: ReportWriter,
    trials: ev.EffectSizes,
    months: int,
    table: pd.DataFrame,
    s: Settings,
    bias_factor: float,
) -> None:
    """The registry comparison at ``months`` and the pooled SMD without it, with it, and with
    its variance inflated by ``bias_factor``."""
    key = f"motor_{months}mo"
    w.doc.add(Heading(f"GMFM change at {months} months with the registry cohort", 3))
    try:
        reg = comparison(table, months)
    except OutcomeError as exc:
        w.doc.add(Para(f"The registry has no comparison at {months} months: {exc}", "warning"))
        w.results.setdefault("registry", {})[key] = {"error": str(exc), "code": exc.code}
        return
    from cpstem.outcomes.ipd import OBSERVATIONAL_WARNING

    w.doc.add(
        Para(
            f"{LABEL}: treated {reg.n_treated} vs concurrent controls {reg.n_control}; "
            f"adjusted difference in GMFM-66 change {reg.md:.2f} points (95 % CI "
            f"{reg.ci_lower:.2f} to {reg.ci_upper:.2f}; ANCOVA for baseline GMFM-66, age and "
            f"GMFCS, HC3 SE), Hedges' g {reg.yi:.3f} (variance {reg.vi:.4f}). "
            + OBSERVATIONAL_WARNING
        )
    )
    rows = []
    variants = [("trials only", None, 1.0), ("trials + registry", reg.vi, 1.0)]
    if bias_factor != 1.0:  # 1 is the naive pooling already shown
        name = f"trials + registry, variance x {bias_factor:g}"
        variants.append((name, reg.vi * bias_factor, bias_factor))
    for name, vi, factor in variants:
        if vi is None:
            es = trials
        else:
            es = ev.EffectSizes(
                "SMD",
                np.append(trials.yi, reg.yi),
                np.append(trials.vi, vi),
                (*(trials.labels or ()), LABEL),
                None if trials.ni is None else np.append(trials.ni, reg.n),
            )
        res = ev.rma(es, method=s.method, test=s.test, level=s.level)
        rows.append(
            {
                "analysis": name,
                "k": res.k,
                "estimate": float(np.ravel(res.beta)[0]),
                "ci_lower": float(np.ravel(res.ci_lower)[0]),
                "ci_upper": float(np.ravel(res.ci_upper)[0]),
                "tau2": float(res.tau2),
                "registry_variance_factor": factor if vi is not None else None,
                "registry_weight_percent": None if vi is None else float(res.weights[-1]),
            }
        )
        if vi is not None and factor != 1.0:
            sections.analysis(
                w, f"{key}_with_registry_inflated", f"{name} ({months} months)", es, s
            )
        elif vi is not None:
            sections.analysis(w, f"{key}_with_registry", f"{name} ({months} months)", es, s)
    frame = pd.DataFrame(rows)
    w.table(
        f"{key}_registry_comparison",
        frame,
        f"Pooled SMD at {months} months without and with the registry cohort",
    )
    w.results.setdefault("registry", {})[key] = {
        "md": reg.md,
        "se": reg.se,
        "ci_lower": reg.ci_lower,
        "ci_upper": reg.ci_upper,
        "n_treated": reg.n_treated,
        "n_control": reg.n_control,
        "yi": reg.yi,
        "vi": reg.vi,
        "bias_factor": bias_factor,
        "pooled": rows,
    }
