"""GRADE certainty of evidence and a summary-of-findings row per outcome (pure functions).

:func:`grade_outcome` takes the pooled numbers of one outcome (estimate, CI, heterogeneity,
prediction interval, weights), the RoB 2 overall judgement of each study, the number of
participants and the optimal information size (OIS; the caller computes it, e.g. with
``cpstem.design.tsa.required_information_size``, which is the same sample size) and returns a
:class:`GradeRow`: certainty (high, moderate, low, very low) with every downgrade explained.

Rules (thresholds and sources in ``data/grade.toml``; Guyatt et al., GRADE guidelines,
J Clin Epidemiol 2011-2013):

* risk of bias - one level when trials judged "some concerns" or "high" carry more than half of
  the weight, two when "high" alone does (GRADE 4);
* inconsistency - one level for I^2 >= 50 %, or a prediction interval that includes no effect
  when the CI does not; two for I^2 >= 75 % with a prediction interval including no effect
  (GRADE 7);
* indirectness - the caller's judgement (GRADE 8);
* imprecision - one level for fewer participants than the OIS and one for a CI including no
  effect, at most two (GRADE 6);
* publication bias - with at least 10 studies, one level for Egger's test p < 0.10; below 10
  the tests are not informative and nothing is deducted, which the row says (GRADE 5).

Randomised trials start at high certainty; the total is capped at very low.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from cpstem.datafiles import toml_data
from cpstem.evidence.errors import EvidenceError
from cpstem.results import Result

__all__ = ["CERTAINTY", "Downgrade", "GradeRow", "grade_outcome", "rules"]

#: Certainty levels, highest first.
CERTAINTY = ("high", "moderate", "low", "very low")
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")


@cache
def rules() -> dict[str, Any]:
    """The parsed ``data/grade.toml``."""
    return toml_data("cpstem.evidence", "data/grade.toml")


@dataclass(frozen=True)
class Downgrade(Result):
    """Levels (0, 1 or 2) taken off in one GRADE domain, and why."""

    domain: str
    levels: int
    reason: str


@dataclass(frozen=True)
class GradeRow(Result):
    """One outcome of a summary-of-findings table.

    ``effect`` is the pooled estimate on the analysis scale (a mean difference, a standardised
    mean difference, or a risk ratio); ``anticipated`` says what it means in absolute terms,
    ``relative`` the relative effect (binary outcomes) or ``None``.
    """

    outcome: str
    measure: str
    estimate: float
    ci_lower: float
    ci_upper: float
    participants: int
    studies: int
    certainty: str
    downgrades: tuple[Downgrade, ...]
    anticipated: str
    relative: str | None

    def summary(self) -> str:
        why = "; ".join(f"{d.domain} -{d.levels}: {d.reason}" for d in self.downgrades if d.levels)
        return (
            f"{self.outcome}: {self.measure} {self.estimate:.2f} [{self.ci_lower:.2f}, "
            f"{self.ci_upper:.2f}], {self.participants} participants ({self.studies} studies); "
            f"certainty {self.certainty.upper()}" + (f" ({why})" if why else "")
        )

    def to_frame(self) -> Any:
        """One row per GRADE domain: ``domain, levels, reason``."""
        import pandas as pd

        return pd.DataFrame([d.to_dict() for d in self.downgrades])


def _share(weights: np.ndarray, mask: np.ndarray) -> float:
    return float(100 * weights[mask].sum() / weights.sum()) if weights.sum() > 0 else 0.0


def risk_of_bias(
    weights: Sequence[float], rob: Sequence[str | None], labels: Sequence[str]
) -> Downgrade:
    """GRADE 4 from the RoB 2 overall judgements weighted by the model's weights."""
    r = rules()["risk_of_bias"]
    w = np.asarray(weights, dtype=float)
    judged = np.array([j if j is not None else "some concerns" for j in rob])
    high = judged == "high"
    concerns = (judged == "some concerns") | high
    s_high, s_conc = _share(w, high), _share(w, concerns)
    unjudged = [lab for lab, j in zip(labels, rob, strict=True) if j is None]
    extra = f"; not judged (counted as some concerns): {', '.join(unjudged)}" if unjudged else ""
    text = (
        f"{s_conc:.0f}% of the weight from trials at some concerns or high risk, "
        f"{s_high:.0f}% from trials at high risk (RoB 2 overall){extra}"
    )
    if s_high > r["very_serious_share"]:
        return Downgrade("risk_of_bias", 2, "very serious: " + text)
    if s_conc > r["serious_share"]:
        return Downgrade("risk_of_bias", 1, "serious: " + text)
    return Downgrade("risk_of_bias", 0, "not serious: " + text)


def _includes(lo: float | None, hi: float | None, null: float) -> bool:
    return lo is not None and hi is not None and lo <= null <= hi


def inconsistency(
    k: int,
    i2: float,
    tau2: float,
    ci: tuple[float, float],
    pi: tuple[float | None, float | None],
    null: float,
) -> Downgrade:
    """GRADE 7 from I^2 and the prediction interval."""
    r = rules()["inconsistency"]
    if k < 2:
        return Downgrade("inconsistency", 0, "not assessable: one study")
    pi_null = tau2 > 0 and _includes(*pi, null) and not _includes(*ci, null)
    pi_text = (
        f"; the prediction interval {pi[0]:.2f} to {pi[1]:.2f} includes no effect"
        if pi[0] is not None and _includes(*pi, null)
        else ""
    )
    base = f"I^2 = {i2:.0f}%{pi_text}"
    if i2 >= r["very_serious_i2"] and _includes(*pi, null):
        return Downgrade("inconsistency", 2, "very serious: " + base)
    if i2 >= r["serious_i2"] or pi_null:
        return Downgrade("inconsistency", 1, "serious: " + base)
    return Downgrade("inconsistency", 0, "not serious: " + base)


def imprecision(
    participants: float, ois: float | None, ci: tuple[float, float], null: float
) -> Downgrade:
    """GRADE 6: the optimal information size and whether the CI includes no effect."""
    parts, levels = [], 0
    if ois is not None:
        if participants < ois:
            levels += 1
            parts.append(f"{participants:.0f} participants, below the OIS of {np.ceil(ois):.0f}")
        else:
            parts.append(f"{participants:.0f} participants meet the OIS of {np.ceil(ois):.0f}")
    if _includes(*ci, null):
        levels += 1
        parts.append(f"the CI {ci[0]:.2f} to {ci[1]:.2f} includes no effect")
    levels = min(levels, 2)
    kind = ("not serious", "serious", "very serious")[levels]
    return Downgrade("imprecision", levels, f"{kind}: " + "; ".join(parts))


def publication_bias(k: int, egger_p: float | None) -> Downgrade:
    """GRADE 5: Egger's test with at least ``min_k`` studies."""
    r = rules()["publication_bias"]
    if k < r["min_k"] or egger_p is None:
        return Downgrade(
            "publication_bias",
            0,
            f"not assessable: {k} studies (tests need at least {r['min_k']}); "
            "small trials dominate this field, so bias cannot be excluded",
        )
    if egger_p < r["p_max"]:
        return Downgrade("publication_bias", 1, f"suspected: Egger's test p = {egger_p:.3f}")
    return Downgrade("publication_bias", 0, f"undetected: Egger's test p = {egger_p:.3f}")


def grade_outcome(
    outcome: str,
    measure: str,
    *,
    estimate: float,
    ci: tuple[float, float],
    k: int,
    participants: float,
    weights: Sequence[float],
    rob: Sequence[str | None],
    labels: Sequence[str],
    i2: float = 0.0,
    tau2: float = 0.0,
    pi: tuple[float | None, float | None] = (None, None),
    ois: float | None = None,
    indirectness: tuple[int, str] = (0, "not serious"),
    egger_p: float | None = None,
    null: float = 0.0,
    anticipated: str = "",
    relative: str | None = None,
    start: str = "high",
) -> GradeRow:
    """The GRADE certainty of one outcome and its summary-of-findings row (see the module).

    ``weights`` (any scale), ``rob`` (RoB 2 overall per study: ``"low"``, ``"some concerns"``,
    ``"high"`` or None) and ``labels`` are aligned with the studies of the model. ``null`` is
    the value of no effect on the analysis scale (0; 1 for a ratio given unlogged).
    """
    if start not in CERTAINTY:
        raise EvidenceError(
            f"start {start!r}: allowed {', '.join(CERTAINTY)}",
            code="invalid_choice",
            field="start",
            params={"value": start, "allowed": list(CERTAINTY)},
        )
    if not (len(weights) == len(rob) == len(labels)):
        raise EvidenceError(
            "weights, rob and labels must have one entry per study",
            code="inconsistent",
            field="rob",
            params={"weights": len(weights), "rob": len(rob), "labels": len(labels)},
        )
    ind_levels, ind_reason = indirectness
    kind = ("not serious", "serious", "very serious")[min(max(int(ind_levels), 0), 2)]
    downs = (
        risk_of_bias(weights, rob, labels),
        inconsistency(k, i2, tau2, ci, pi, null),
        Downgrade("indirectness", int(ind_levels), f"{kind}: {ind_reason}"),
        imprecision(participants, ois, ci, null),
        publication_bias(k, egger_p),
    )
    total = sum(d.levels for d in downs)
    level = min(CERTAINTY.index(start) + total, len(CERTAINTY) - 1)
    return GradeRow(
        outcome=outcome,
        measure=measure,
        estimate=float(estimate),
        ci_lower=float(ci[0]),
        ci_upper=float(ci[1]),
        participants=round(float(participants)),
        studies=int(k),
        certainty=CERTAINTY[level],
        downgrades=downs,
        anticipated=anticipated,
        relative=relative,
    )


def per_thousand(control_risk: float, rr: tuple[float, float, float]) -> str:
    """Anticipated absolute effect of a risk ratio: ``"26 per 1000 vs 32 per 1000 (9 to
    113)"`` from the control risk (GRADE 12: the assumed control risk times the RR)."""
    c = 1000 * control_risk
    e, lo, hi = (1000 * control_risk * x for x in rr)
    return f"control {c:.0f} per 1000; cells {e:.0f} per 1000 ({lo:.0f} to {hi:.0f})"
