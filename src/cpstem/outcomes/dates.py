"""Calendar arithmetic for follow-up: months after a date, ages in years and months."""

from __future__ import annotations

import calendar
from datetime import date

#: Mean length of a Gregorian year in days (365.2425), used for ages in years.
DAYS_PER_YEAR = 365.2425


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (clamped to the month's last day)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_years(birth: date, on: date) -> float:
    """Age in (fractional) years on a day."""
    return (on - birth).days / DAYS_PER_YEAR


def age_months(birth: date, on: date) -> int:
    """Completed months of age on a day (as clinicians count them)."""
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if on.day < birth.day and not (
        on.day == calendar.monthrange(on.year, on.month)[1] and birth.day > on.day
    ):
        months -= 1
    return max(months, 0)
