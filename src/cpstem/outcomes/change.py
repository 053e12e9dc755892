"""Observed versus expected GMFM-66 change after each cell administration.

For every administration the baseline is the GMFM-66 in the baseline window of the schedule
(the latest on or before the administration, else the nearest after it). For every later
GMFM-66 the observed change is compared with the change expected for the child's age and
GMFCS level, by both methods of :class:`cpstem.reference.CurveSet`: the *population* change of
the average child of that level, and the *child-anchored* change of a child who keeps its own
limit. ``excess`` = observed - expected: above 0 means more progress than expected.

Whether an excess is larger than measurement error is judged like a reliable change index
(Jacobson & Truax 1991, J Consult Clin Psychol 59:12-19): with the GMAE standard errors of the
baseline and follow-up scores, ``se_change = sqrt(se_baseline^2 + se_followup^2)`` and the excess
is "above" (or "below") expected when it exceeds ``z * se_change`` (z = 1.96 for 95 %). The
reference curves publish no uncertainty, so the expected change is treated as exact; without
both standard errors no verdict is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from scipy import stats

from cpstem.outcomes.dates import DAYS_PER_YEAR, age_years
from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.schedule import VisitRule, rules_or_default
from cpstem.reference import CurveError, CurveSet
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Observation(Result):
    """A GMFM-66 score on a day (``se`` from the GMAE when known)."""

    day: date
    score: float
    se: float | None = None


#: Two-sided 95 % normal quantile used for the measurement-error verdict.
Z95 = float(stats.norm.ppf(0.975))


def error_verdict(excess: float | None, se_change: float | None, z: float = Z95) -> str | None:
    """ "above", "below" or "within" measurement error; ``None`` without a standard error."""
    if excess is None or se_change is None or se_change <= 0:
        return None
    if excess > z * se_change:
        return "above"
    if excess < -z * se_change:
        return "below"
    return "within"


_ROW_COLUMNS = (
    "date",
    "age_years",
    "months_since",
    "score",
    "observed_change",
    "expected_population",
    "expected_anchored",
    "excess_population",
    "excess_anchored",
    "se_change",
    "verdict_population",
    "verdict_anchored",
)


@dataclass(frozen=True)
class ChangeRow(Result):
    """One follow-up GMFM-66 compared with its baseline.

    ``to_dict()`` (the registry's API format): ``date`` (ISO text), ``age_years``,
    ``months_since``, ``score``, ``observed_change``, ``expected_population``,
    ``expected_anchored``, ``excess_population``, ``excess_anchored``, ``se_change``,
    ``verdict_population``, ``verdict_anchored``. ``to_frame()``: one row of the same columns,
    ``date`` as a :class:`datetime.date`.
    """

    day: date
    age_years: float
    months_since: float
    score: float
    observed_change: float
    expected_population: float
    expected_anchored: float | None
    se_change: float | None = None

    @property
    def verdict_population(self) -> str | None:
        """Excess over the population expectation vs measurement error (see module docs)."""
        return error_verdict(self.excess_population, self.se_change)

    @property
    def verdict_anchored(self) -> str | None:
        return error_verdict(self.excess_anchored, self.se_change)

    @property
    def excess_population(self) -> float:
        return self.observed_change - self.expected_population

    @property
    def excess_anchored(self) -> float | None:
        if self.expected_anchored is None:
            return None
        return self.observed_change - self.expected_anchored

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "age_years": self.age_years,
            "months_since": self.months_since,
            "score": self.score,
            "observed_change": self.observed_change,
            "expected_population": self.expected_population,
            "expected_anchored": self.expected_anchored,
            "excess_population": self.excess_population,
            "excess_anchored": self.excess_anchored,
            "se_change": self.se_change,
            "verdict_population": self.verdict_population,
            "verdict_anchored": self.verdict_anchored,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row (see the class documentation for the columns)."""
        row = self.to_dict() | {"date": self.day}
        return frame_of({k: [v] for k, v in row.items()})


@dataclass(frozen=True)
class AdministrationChange(Result):
    """The baseline and follow-up comparisons of one administration.

    ``to_dict()`` is the registry's API format. ``to_frame()``: one row per follow-up
    comparison, columns ``administration, administration_date, administration_age_years,
    gmfcs, baseline_date, baseline_score`` then the columns of :meth:`ChangeRow.to_frame`
    (no rows when there is no follow-up).
    """

    anchor: Any
    day: date
    age_years: float
    level: str | None
    baseline: Observation | None
    rows: tuple[ChangeRow, ...] = field(default_factory=tuple)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "administration": self.anchor,
            "date": self.day.isoformat(),
            "age_years": self.age_years,
            "gmfcs": self.level,
            "baseline": None
            if self.baseline is None
            else {"date": self.baseline.day.isoformat(), "score": self.baseline.score},
            "follow_up": [r.to_dict() for r in self.rows],
            "note": self.note,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per follow-up comparison (see the class documentation for the columns)."""
        head = {
            "administration": self.anchor,
            "administration_date": self.day,
            "administration_age_years": self.age_years,
            "gmfcs": self.level,
            "baseline_date": None if self.baseline is None else self.baseline.day,
            "baseline_score": None if self.baseline is None else self.baseline.score,
        }
        rows = [head | r.to_dict() | {"date": r.day} for r in self.rows]
        columns = [*head, *_ROW_COLUMNS]
        return frame_of({k: [row[k] for row in rows] for k in columns})


def _baseline(
    observations: Sequence[Observation], day: date, rule: VisitRule
) -> Observation | None:
    start, end = day - timedelta(days=rule.days_before), day + timedelta(days=rule.days_after)
    inside = [o for o in observations if start <= o.day <= end]
    before = [o for o in inside if o.day <= day]
    if before:
        return max(before, key=lambda o: o.day)
    return min(inside, key=lambda o: o.day, default=None)


def compare(
    birth: date,
    level: Any,
    administrations: Iterable[tuple[Any, date]],
    observations: Iterable[Observation],
    curves: CurveSet,
    rules: Sequence[VisitRule] | None = None,
) -> list[AdministrationChange]:
    """Observed vs expected change after each administration (``level``: GMFCS, or None)."""
    rules = rules_or_default(rules)
    base_rule = next((r for r in rules if r.months == 0), None)
    if base_rule is None:
        raise OutcomeError(
            "the schedule has no baseline visit (months = 0)", code="required", field="rules"
        )
    obs = sorted(observations, key=lambda o: o.day)
    if any(o.day < birth for o in obs):
        raise OutcomeError(
            "a GMFM-66 is dated before the child's birth", code="inconsistent", field="observations"
        )
    out = []
    for anchor, day in sorted(administrations, key=lambda a: a[1]):
        age = age_years(birth, day)
        lv = None if level is None else str(curves.curve(level).level)
        base = _baseline(obs, day, base_rule)
        if lv is None:
            out.append(AdministrationChange(anchor, day, age, None, base, (), "no GMFCS level"))
            continue
        if base is None:
            out.append(
                AdministrationChange(
                    anchor, day, age, lv, None, (), "no GMFM-66 in the baseline window"
                )
            )
            continue
        base_age = age_years(birth, base.day)
        rows = []
        for o in obs:
            if o.day <= max(day, base.day):
                continue
            a = age_years(birth, o.day)
            pop = curves.expected_change(lv, base_age, a)
            try:
                anchored = curves.expected_change(lv, base_age, a, baseline=base.score)
            except CurveError:
                anchored = None  # baseline at age 0 or outside 0-100: no own limit
            rows.append(
                ChangeRow(
                    day=o.day,
                    age_years=a,
                    months_since=(o.day - day).days / (DAYS_PER_YEAR / 12),
                    score=o.score,
                    observed_change=o.score - base.score,
                    expected_population=pop,
                    expected_anchored=anchored,
                    se_change=(
                        None if o.se is None or base.se is None else (o.se**2 + base.se**2) ** 0.5
                    ),
                )
            )
        out.append(AdministrationChange(anchor, day, age, lv, base, tuple(rows)))
    return out


def at_visit(change: AdministrationChange, rule: VisitRule) -> ChangeRow | None:
    """The follow-up row inside a visit's window (nearest to its target), if any."""
    from cpstem.outcomes.dates import add_months

    target = add_months(change.day, rule.months)
    start, end = target - timedelta(days=rule.days_before), target + timedelta(days=rule.days_after)
    inside = [r for r in change.rows if start <= r.day <= end]
    return min(inside, key=lambda r: abs((r.day - target).days), default=None)
