"""A patient's GMFM-66 trajectory compared with the reference curve (both methods)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Trajectory:
    level: str | None
    observations: list[Observation]
    changes: list[AdministrationChange]

    def to_dict(self) -> dict:
        cs = curve_set()
        return {
            "curve_set": cs.name,
            "curve_set_verified": cs.verified,
            "gmfcs": self.level,
            "observations": [
                {"date": o.day.isoformat(), "gmfm66": o.score, "se": o.se}
                for o in self.observations
            ],
            "administrations": [c.to_dict() for c in self.changes],
        }


def trajectory(patient: Patient) -> Trajectory:
    """Observed GMFM-66 and observed-vs-expected change after each administration.

    The GMFCS level used is the one recorded on or before the first administration (a
    control's enrolment; else the current one): the level at baseline defines the expected
    course.
    """
    obs = [
        Observation(d, s, se)
        for d, s, se in patient.gmfm66assessment_set.order_by("date").values_list(
            "date", "score", "se"
        )
    ]
    admins = patient.schedule_anchors()  # a control's: its enrolment (key None)
    level = patient.level_on("gmfcs", admins[0][1]) if admins else patient.gmfcs
    roman = None if level is None else str(Level(level))
    changes = compare(patient.birth_date, roman, admins, obs, curve_set(), rules())
    return Trajectory(roman, obs, changes)


def chart(patient: Patient, fmt: str = "svg", projection: Projection | None = None) -> bytes:
    """The trajectory chart as the role sees it (``projection``; default: full data). For
    researchers the ages are whole months and nothing carries a calendar date."""
    t = trajectory(patient)
    birth, observations, changes = (
        projection.plot_inputs(patient.birth_date, t.observations, t.changes)
        if projection is not None
        else (patient.birth_date, t.observations, t.changes)
    )
    fig = trajectory_figure(birth, observations, changes, curve_set(), t.level)
    return figure_bytes(fig, fmt)
