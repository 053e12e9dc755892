"""A patient's GMFM-66 trajectory compared with the reference curve (both methods).

Several GMFM-66 scores of one day (a second assessment confirmed on entry, or a GMAE score
beside the one computed from that day's GMFM-88 sheet) count as one observation: their
**mean** (:data:`SAME_DAY_RULE`). They measure the same child's ability on the same day, so
neither is preferred and their mean has the smaller measurement error: its standard error is
sqrt(sum of SE^2) / n when every score has one, else unknown. The answer says, per observation,
how many scores were combined and which.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

from cpstem import reference
from cpstem.measures.gmfcs import Level
from cpstem.outcomes.change import AdministrationChange, Observation, compare
from cpstem.outcomes.plots import figure_bytes, trajectory_figure
from cpstem.registry.models import Patient
from cpstem.registry.services.schedule import rules

if TYPE_CHECKING:
    from cpstem.registry.privacy import Projection


@cache
def curve_set() -> reference.CurveSet:
    """The configured reference curves (``CPSTEM_CURVE_SET``: bundled name or file)."""
    name = settings.CPSTEM["CURVE_SET"]
    if name.lower().endswith((".toml", ".csv")):
        return reference.load_file(name)
    return reference.load(name)


#: How several GMFM-66 scores of one day are used (documented in the API answer).
SAME_DAY_RULE = (
    "several GMFM-66 scores on one day: their mean is used (SE sqrt(sum SE^2)/n when every "
    "score has an SE); n_scores and scores say which were combined"
)


@dataclass(frozen=True)
class Trajectory:
    level: str | None
    observations: list[Observation]
    changes: list[AdministrationChange]
    #: day -> the scores combined into that day's observation (days with one score too)
    scores: dict[date, tuple[float, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        cs = curve_set()
        return {
            "curve_set": cs.name,
            "curve_set_verified": cs.verified,
            "gmfcs": self.level,
            "same_day_rule": SAME_DAY_RULE,
            "observations": [
                {"date": o.day.isoformat(), "gmfm66": o.score, "se": o.se} | self.combined(o.day)
                for o in self.observations
            ],
            "administrations": [c.to_dict() for c in self.changes],
        }

    def combined(self, day: date) -> dict:
        """``{"n_scores", "scores"}`` of a day's observation."""
        scores = list(self.scores.get(day, ()))
        return {"n_scores": len(scores) or 1, "scores": scores}


def same_day_mean(rows: list[tuple[date, float, float | None]]) -> list[Observation]:
    """One observation per day (:data:`SAME_DAY_RULE`), in date order."""
    by_day: dict[date, list[tuple[float, float | None]]] = defaultdict(list)
    for day, score, se in rows:
        by_day[day].append((score, se))
    out = []
    for day in sorted(by_day):
        values = by_day[day]
        n = len(values)
        if n == 1:
            out.append(Observation(day, values[0][0], values[0][1]))
            continue
        ses = [se for _, se in values]
        se = None if any(v is None for v in ses) else math.sqrt(sum(v * v for v in ses)) / n
        out.append(Observation(day, sum(v for v, _ in values) / n, se))
    return out


def trajectory(patient: Patient) -> Trajectory:
    """Observed GMFM-66 and observed-vs-expected change after each administration.

    Several scores on one day are combined (:data:`SAME_DAY_RULE`). The GMFCS level used is the
    one recorded on or before the first administration (a control's enrolment; else the
    current one): the level at baseline defines the expected course.
    """
    rows = list(
        patient.gmfm66assessment_set.order_by("date", "id").values_list("date", "score", "se")
    )
    obs = same_day_mean(rows)
    scores: dict[date, tuple[float, ...]] = {}
    for d, s, _ in rows:
        scores[d] = (*scores.get(d, ()), s)
    admins = patient.schedule_anchors()  # a control's: its enrolment (key None)
    level = patient.level_on("gmfcs", admins[0][1]) if admins else patient.gmfcs
    roman = None if level is None else str(Level(level))
    changes = compare(patient.birth_date, roman, admins, obs, curve_set(), rules())
    return Trajectory(roman, obs, changes, scores)


def chart(patient: Patient, fmt: str = "svg", projection: Projection | None = None) -> bytes:
    """The trajectory chart as the role sees it (``projection``; default: full data). For
    researchers the ages are whole months and nothing carries a calendar date."""
    t = trajectory(patient)
    if projection is not None and projection.masks(patient):
        t = replace(t, changes=[])  # a blinded role: no administrations on the chart
    birth, observations, changes = (
        projection.plot_inputs(patient.birth_date, t.observations, t.changes)
        if projection is not None
        else (patient.birth_date, t.observations, t.changes)
    )
    fig = trajectory_figure(birth, observations, changes, curve_set(), t.level)
    return figure_bytes(fig, fmt)
