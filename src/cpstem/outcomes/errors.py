"""The exception family of :mod:`cpstem.outcomes`."""


class OutcomeError(ValueError):
    """Invalid input to an analysis (dose, dates, schedule): the message says what is allowed."""
