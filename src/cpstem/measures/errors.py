"""The exception family of :mod:`cpstem.measures`."""

from cpstem.errors import CpstemError


class MeasureError(CpstemError):
    """An invalid clinical input: the message says what was wrong and what is allowed."""
