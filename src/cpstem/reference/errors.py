"""The exception family of :mod:`cpstem.reference`."""


class CurveError(ValueError):
    """Invalid curve-set file, level, age or score: the message says what is allowed."""
