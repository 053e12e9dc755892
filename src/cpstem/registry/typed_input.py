"""The registry's checks of raw typed input, before a value is read as a number, date or code.

Digits of other scripts and invisible control characters (:mod:`cpstem.typedtext`) are refused
in every coded and numeric field -- on the web forms, in API bodies and in import files -- with
the codes ``non_ascii_digit`` and ``control_character``; free text (:data:`FREE_TEXT`) may hold
any script. Reading ``"٣"`` as 3 happens inside Python's ``int``/``float`` and Django's and
pydantic's parsers, so the check runs on the text as typed, before those.

API bodies also refuse JSON ``true``/``false`` where a number or code is expected (pydantic
would read ``true`` as 1: a score nobody gave), code ``bool_not_allowed``.
"""

from __future__ import annotations

from typing import Any

from cpstem import typedtext

#: Fields (model, form, API body and import column names) of free text: any script allowed.
FREE_TEXT = frozenset(
    {
        "notes",
        "term",
        "analyte",
        "unit",
        "lot",
        "product_other",
        "route_other",
        "therapy_other",
        "adjunct_other",
        "risk_other",
        "consent_version",
        "reason",
        "change_reason",
    }
)

#: Codes of the refusals.
CODES = ("non_ascii_digit", "control_character")


def is_typed(name: str) -> bool:
    """A coded or numeric field (checked), not free text."""
    return name not in FREE_TEXT


def problem(value: Any) -> tuple[str, str] | None:
    """``(code, message)`` when the typed text ``value`` (or a text inside a list or a dict's
    keys and values) holds a digit of another script or an invisible character."""
    if isinstance(value, str):
        return typedtext.problem(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        for v in value:
            found = problem(v)
            if found is not None:
                return found
    return None


def refusal(name: str, value: Any) -> tuple[str, str] | None:
    """``(code, message)`` for field ``name``'s raw ``value``, else ``None`` (free text and
    clean values)."""
    if not is_typed(name):
        return None
    found = problem(value)
    if found is None:
        return None
    code, message = found
    shown = value if isinstance(value, str) else "the value"
    return code, f"{name.replace('_', ' ')} {shown!r} {message}"


def has_bool(value: Any) -> bool:
    """A JSON ``true``/``false`` where a number or code is expected (also inside a dict of
    scores or a list)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, dict):
        return any(isinstance(v, bool) for v in value.values())
    if isinstance(value, list | tuple):
        return any(isinstance(v, bool) for v in value)
    return False
