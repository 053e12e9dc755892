"""Which exceptions are user mistakes: printed as one line, exit status 1, no traceback."""

from __future__ import annotations

from cpstem.errors import CpstemError


class InputFileError(CpstemError):
    """A file given on the command line is missing or malformed."""


#: Every layer's error family derives from CpstemError (see :mod:`cpstem.errors`).
USER_ERRORS: tuple[type[Exception], ...] = (CpstemError,)
