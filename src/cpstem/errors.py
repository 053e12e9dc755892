"""The root of cpstem's exception families.

Each layer has its own family (``MeasureError``, ``CurveError``, ``EvidenceError``,
``OutcomeError``, ``RegistryError``, ...), all derived from :class:`CpstemError`, itself a
``ValueError``: a user's input was invalid, and the message says what is allowed. The command
line prints such errors as one line; anything else is a bug and keeps its traceback.
"""


class CpstemError(ValueError):
    """Invalid input to cpstem: the message tells the user what was wrong and what is allowed."""
