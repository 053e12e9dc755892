"""The exception family of :mod:`cpstem.outcomes`."""

from cpstem.errors import CpstemError


class OutcomeError(CpstemError):
    """Invalid input to an analysis (dose, dates, schedule): the message says what is allowed."""
