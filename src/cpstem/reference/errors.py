"""The exception family of :mod:`cpstem.reference`."""

from cpstem.errors import CpstemError


class CurveError(CpstemError):
    """Invalid curve-set file, level, age or score: the message says what is allowed."""
