"""Follow-up schedule anchored to each cell administration: what is done, due and overdue.

Visit months and windows come from ``data/schedule.toml`` (the windows are a site policy) or a
site's own TOML file of the same form. A visit is *done* when an assessment falls in its window;
otherwise it is *upcoming* before the window opens, *due* from the window's start to the target
date, *overdue* after the target date while the window is still open, and *missed* once the
window has closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpstem.outcomes.catalog import data, read_toml
from cpstem.outcomes.dates import add_months
from cpstem.outcomes.errors import OutcomeError
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class VisitRule(Result):
    """One planned visit: months after the administration and its window (days)."""

    label: str
    months: int
    days_before: int
    days_after: int


class Status(StrEnum):
    """Status of a planned visit on a given day (see the module documentation)."""

    DONE = "done"
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"


@dataclass(frozen=True)
class Visit(Result):
    """A planned visit of one administration, with its status on a given day.

    ``to_frame()``: one row, columns ``anchor, anchor_date, label, months, target,
    window_start, window_end, done_on, status`` (dates as :class:`datetime.date`, status as
    text); :func:`cpstem.results.records_frame` stacks the rows of a list of visits.
    """

    anchor: Any  # the administration's key (e.g. its database id)
    anchor_date: date
    rule: VisitRule
    target: date
    window_start: date
    window_end: date
    done_on: date | None
    status: Status

    @property
    def label(self) -> str:
        return self.rule.label

    def to_frame(self) -> pd.DataFrame:
        """One row (see the class documentation for the columns)."""
        row = {
            "anchor": self.anchor,
            "anchor_date": self.anchor_date,
            "label": self.rule.label,
            "months": self.rule.months,
            "target": self.target,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "done_on": self.done_on,
            "status": self.status.value,
        }
        return frame_of({k: [v] for k, v in row.items()})


def _int(row: Mapping[str, Any], key: str, where: str) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OutcomeError(
            f"{where}: {key} must be a whole number of 0 or more",
            code="out_of_range",
            field=key,
            params={"where": where, "value": str(value)},
        )
    return value


def rules_from(raw: Mapping[str, Any], where: str = "schedule") -> tuple[VisitRule, ...]:
    """Visit rules from a parsed schedule file (``[[visits]]`` tables)."""
    visits = raw.get("visits")
    if not isinstance(visits, list) or not visits:
        raise OutcomeError(
            f"{where}: needs at least one [[visits]] table",
            code="malformed_file",
            field="visits",
            params={"where": where},
        )
    rules = []
    for i, row in enumerate(visits):
        at = f"{where}, visits[{i}]"
        label = str(row.get("label", "")).strip()
        if not label:
            raise OutcomeError(
                f"{at}: label is missing", code="required", field="label", params={"where": at}
            )
        rules.append(
            VisitRule(
                label,
                _int(row, "months", at),
                _int(row, "days_before", at),
                _int(row, "days_after", at),
            )
        )
    if len({r.months for r in rules}) != len(rules):
        raise OutcomeError(
            f"{where}: two visits have the same month",
            code="duplicate",
            field="months",
            params={"where": where},
        )
    return tuple(sorted(rules, key=lambda r: r.months))


def load_rules(path: str | Path | None = None) -> tuple[VisitRule, ...]:
    """The default schedule, or a site's schedule TOML file."""
    if path is None:
        return rules_from(data("schedule"), "default schedule")
    return rules_from(read_toml(path), str(path))


def rules_or_default(rules: Iterable[VisitRule] | None) -> tuple[VisitRule, ...]:
    """The given visit rules, or the default schedule (:func:`load_rules`) when ``None``."""
    return tuple(rules) if rules is not None else load_rules()


def status(target: date, start: date, end: date, done_on: date | None, today: date) -> Status:
    """The status of one visit on ``today``."""
    if done_on is not None:
        return Status.DONE
    if today < start:
        return Status.UPCOMING
    if today <= target:
        return Status.DUE
    if today <= end:
        return Status.OVERDUE
    return Status.MISSED


def plan(
    administrations: Iterable[tuple[Any, date]],
    assessment_dates: Iterable[date],
    today: date,
    rules: Sequence[VisitRule] | None = None,
) -> list[Visit]:
    """All visits of all administrations with their status on ``today``, by target date."""
    rules = rules_or_default(rules)
    done_days = sorted(set(assessment_dates))
    visits = []
    for anchor, day in administrations:
        for rule in rules:
            target = add_months(day, rule.months)
            start = target - timedelta(days=rule.days_before)
            end = target + timedelta(days=rule.days_after)
            done_on = next((d for d in done_days if start <= d <= end), None)
            visits.append(
                Visit(
                    anchor,
                    day,
                    rule,
                    target,
                    start,
                    end,
                    done_on,
                    status(target, start, end, done_on, today),
                )
            )
    return sorted(visits, key=lambda v: (v.target, v.rule.months))


def next_open(visits: Iterable[Visit]) -> Visit | None:
    """The earliest visit that is still to be done (due, overdue or upcoming)."""
    open_ = [v for v in visits if v.status in (Status.DUE, Status.OVERDUE, Status.UPCOMING)]
    return min(open_, key=lambda v: v.target, default=None)
