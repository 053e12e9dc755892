"""The exception family of :mod:`cpstem.measures`."""


class MeasureError(ValueError):
    """An invalid clinical input: the message says what was wrong and what is allowed."""
