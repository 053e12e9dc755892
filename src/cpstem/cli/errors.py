"""Which exceptions are user mistakes: printed as one line, exit status 1, no traceback."""

from __future__ import annotations

from cpstem.evidence.errors import EvidenceError
from cpstem.measures import MeasureError
from cpstem.outcomes import OutcomeError
from cpstem.reference import CurveError
from cpstem.registry.errors import RegistryError


class InputFileError(ValueError):
    """A file given on the command line is missing or malformed."""


USER_ERRORS: tuple[type[Exception], ...] = (
    MeasureError,
    CurveError,
    EvidenceError,
    InputFileError,
    OutcomeError,
    RegistryError,
)
