"""The root of cpstem's exception families.

Each layer has its own family (``MeasureError``, ``CurveError``, ``EvidenceError``,
``OutcomeError``, ``RegistryError``, ...), all derived from :class:`CpstemError`, itself a
``ValueError``: a user's input was invalid, and the message says what is allowed. The command
line prints such errors as one line; anything else is a bug and keeps its traceback.

Every error carries a machine-readable ``code`` (a short snake_case word such as
``"out_of_range"``), the ``field`` it concerns (``None`` for the input as a whole) and the
``params`` its message was built from, so that callers (the registry's forms and API, the
import) route on the code and field, never on the English text.

Codes shared by the pure layers (``measures``, ``reference``, ``evidence``, ``outcomes``) and
the data-file loader; a layer may add its own specific ones (e.g. ``invalid_score``):

=======================  ==============================================================
``required``             a needed value or column is missing
``not_a_number``         text that is not a number; ``not_finite`` for inf/NaN
``out_of_range``         a number outside what is allowed (``params``: ``value``)
``invalid_choice``       a value outside its allowed set (``params``: ``value``, ``allowed``)
``not_allowed``          a combination of inputs that cannot be used together
``not_applicable``       the operation does not apply to this model or result
``inconsistent``         values that contradict each other (R1 > R2, min > median, ...)
``length_mismatch``      arrays of different lengths; ``bad_shape`` a wrong array shape
``duplicate``            a value given twice
``too_few_studies``      not enough studies for the model (``params``: ``k``, ``needed``)
``not_converged``        an iteration stopped without converging; ``no_optimum`` none exists
``not_found``            an unknown name or a missing file
``malformed_file``       a file that cannot be read as its format says
``missing_source``       a data-file record without a source (``params``: ``file``, ``row``)
=======================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CpstemError(ValueError):
    """Invalid input to cpstem: the message tells the user what was wrong and what is allowed.

    ``CpstemError("weight 0 kg: must be above 0", code="out_of_range", field="weight_kg",
    params={"value": 0})``. ``code`` defaults to ``"invalid"``.
    """

    default_code = "invalid"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        field: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.params: dict[str, Any] = dict(params or {})

    def to_dict(self) -> dict[str, Any]:
        """``{"code", "field", "message", "params"}``: the error as data (e.g. for an API)."""
        return {
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "params": dict(self.params),
        }
