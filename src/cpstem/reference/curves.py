"""Stable-limit motor-development curves of GMFM-66 by GMFCS level.

``expected(age) = limit * (1 - exp(-age * ln(10) / age90))``: the curve reaches 90 % of its
limit at ``age90`` years. Two ways to form an expected change between two ages:

* population: ``expected(age_to) - expected(age_from)``;
* child-anchored: the child keeps its own limit ``L_i = baseline / (1 - exp(-age_from * ln(10)
  / age90))`` on the level's rate, and the change is ``L_i * (1 - exp(-age_to * ln(10) /
  age90)) - baseline``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.measures import MeasureError
from cpstem.measures.gmfcs import Level
from cpstem.measures.levels import FunctionLevel
from cpstem.numbers import finite_float
from cpstem.reference.errors import CurveError
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd

LN10 = math.log(10.0)
#: The GMFM-66 scale runs from 0 to 100.
SCALE_MAX = 100.0


def _field(what: str) -> str:
    """The field name of a value described as ``what`` ("baseline age" -> "baseline_age")."""
    return what.replace(" ", "_")


def parse_level(level: Any) -> FunctionLevel:
    """A GMFCS level (see :meth:`cpstem.measures.levels.FunctionLevel.parse`)."""
    try:
        return Level.parse(level)
    except MeasureError as exc:
        raise CurveError(str(exc), code=exc.code, field="level", params=exc.params) from None


def check_age(age_years: Any, what: str = "age") -> float:
    """A finite, non-negative age in years."""
    age = finite_float(
        age_years, what, CurveError, field=_field(what), noun="a number of years", finite=False
    )
    if not math.isfinite(age) or age < 0:
        raise CurveError(
            f"{what} {age_years!r} years is not valid: use an age of 0 years or more",
            code="out_of_range",
            field=_field(what),
            params={"value": age},
        )
    return age


def check_score(score: Any, what: str = "GMFM-66 score") -> float:
    """A GMFM-66 score between 0 and 100."""
    value = finite_float(score, what, CurveError, field=_field(what), finite=False)
    if not math.isfinite(value) or not 0 <= value <= SCALE_MAX:
        raise CurveError(
            f"{what} {score!r} is not valid: GMFM-66 runs from 0 to 100",
            code="out_of_range",
            field=_field(what),
            params={"value": value},
        )
    return value


@dataclass(frozen=True)
class LevelCurve(Result):
    """The stable-limit curve of one GMFCS level.

    ``to_dict()``/``to_frame()`` (one row): ``level`` (1-5), ``limit``, ``age90_years``,
    ``source`` and ``rate_per_year``.
    """

    _dict_properties = ("rate_per_year",)

    level: FunctionLevel
    limit: float
    age90_years: float
    source: str = ""

    @property
    def rate_per_year(self) -> float:
        """Exponential rate: ln(10) / age90."""
        return LN10 / self.age90_years

    def fraction(self, age_years: Any) -> Any:
        """Share of the limit reached at an age: 1 - exp(-age * ln(10) / age90)."""
        return -np.expm1(-np.asarray(age_years, dtype=float) * self.rate_per_year)

    def expected(self, age_years: Any) -> Any:
        """Expected GMFM-66 at ``age_years`` (scalar or array)."""
        value = self.limit * self.fraction(age_years)
        return float(value) if np.ndim(value) == 0 else value


@dataclass(frozen=True)
class CurveSet(Result):
    """A named set of five level curves with its provenance.

    ``to_frame()``: one row per GMFCS level, columns ``gmfcs`` (roman numeral), ``limit``,
    ``age90_years``, ``rate_per_year``, ``source``.
    """

    name: str
    curves: Mapping[FunctionLevel, LevelCurve]
    title: str = ""
    scale: str = "GMFM-66"
    model: str = "stable-limit"
    citation: str = ""
    population: str = ""
    verified: str = "unknown"
    verification: str = ""

    def curve(self, level: Any) -> LevelCurve:
        """The curve of a GMFCS level (``"III"``, ``3``, ...)."""
        return self.curves[parse_level(level)]

    def to_frame(self) -> pd.DataFrame:
        """One row per GMFCS level (see the class documentation for the columns)."""
        curves = list(self.curves.values())
        return frame_of(
            {
                "gmfcs": [str(c.level) for c in curves],
                "limit": [c.limit for c in curves],
                "age90_years": [c.age90_years for c in curves],
                "rate_per_year": [c.rate_per_year for c in curves],
                "source": [c.source for c in curves],
            }
        )

    def expected(self, level: Any, age_years: Any) -> Any:
        """Expected score for a GMFCS level at an age (scalar or array of ages)."""
        if np.ndim(age_years) == 0:
            return self.curve(level).expected(check_age(age_years))
        ages = np.asarray(age_years, dtype=float)
        if not np.all(np.isfinite(ages)) or np.any(ages < 0):
            raise CurveError(
                "ages must be finite and 0 years or more", code="out_of_range", field="age_years"
            )
        return self.curve(level).expected(ages)

    def child_limit(self, level: Any, age_years: Any, score: Any) -> float:
        """The limit of a child who scores ``score`` at ``age_years`` on this level's rate."""
        age = check_age(age_years, "baseline age")
        if age == 0:
            raise CurveError(
                "a child's own limit needs a baseline age above 0 years",
                code="out_of_range",
                field="age_years",
                params={"value": age},
            )
        return check_score(score, "baseline score") / float(self.curve(level).fraction(age))

    def expected_change(
        self, level: Any, age_from: Any, age_to: Any, baseline: Any = None
    ) -> float:
        """Expected change from ``age_from`` to ``age_to`` (population, or child-anchored)."""
        start, end = check_age(age_from, "age_from"), check_age(age_to, "age_to")
        if end < start:
            raise CurveError(
                f"age_to ({end:g} y) is before age_from ({start:g} y)",
                code="inconsistent",
                field="age_to",
                params={"age_from": start, "age_to": end},
            )
        curve = self.curve(level)
        if baseline is None:
            return curve.expected(end) - curve.expected(start)
        own_limit = self.child_limit(level, start, baseline)
        return own_limit * float(curve.fraction(end)) - check_score(baseline, "baseline score")

    def summary(self) -> str:
        lines = [
            f"{self.name}: {self.title} ({self.scale}, {self.model}; verified: {self.verified})"
        ]
        for level, c in self.curves.items():
            lines.append(f"  GMFCS {level!s:<3} limit {c.limit:5.1f}  age-90 {c.age90_years:.1f} y")
        return "\n".join(lines)
