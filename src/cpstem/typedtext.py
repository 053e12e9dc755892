"""Characters that have no place in a typed code or number.

A GMFCS level, a score, a date, a weight or a product code is typed (or pasted) as a few ASCII
characters. Two kinds of characters slip in unseen and change what is stored:

* **digits of other scripts** -- Arabic-Indic ``٠-٩``, extended Arabic-Indic (Persian) ``۰-۹``,
  Devanagari, full-width, superscripts ... Python's ``int`` and ``float`` read ``"٣"`` as 3, so
  a value nobody typed as 3 on a score sheet would be stored as 3 (code ``non_ascii_digit``);
* **invisible control and formatting characters** -- C0 and C1 controls, the bidirectional
  marks and overrides (U+200E/F, U+061C, U+202A-U+202E, U+2066-U+2069), zero-width characters
  (U+200B-U+200D, U+2060) and the byte-order mark U+FEFF: they reorder what is displayed or
  make two equal-looking codes differ (code ``control_character``).

Free text (notes, an event's name) may contain any script; only coded and numeric fields are
checked. :func:`problem` finds the first such character; :func:`check` raises.

>>> problem("III")
>>> problem("\u0663")[0]
'non_ascii_digit'
>>> problem("III\u200f")[0]
'control_character'
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from cpstem.errors import CpstemError

__all__ = ["SUSPECT", "check", "problem"]

#: Invisible formatting characters refused besides the C0/C1 controls (category Cc).
FORMAT_CHARACTERS = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)

#: A fast pre-filter: text without any of these characters needs no closer look.
SUSPECT = re.compile(r"[^\x20-\x7e]")


def _name(ch: str) -> str:
    return unicodedata.name(ch, "control character")


def problem(text: str) -> tuple[str, str] | None:
    """``(code, message)`` for the first digit of another script or invisible character in
    ``text``, else ``None``."""
    if not SUSPECT.search(text):
        return None
    for pos, ch in enumerate(text, start=1):
        point = f"U+{ord(ch):04X}"
        if unicodedata.category(ch) == "Cc" or ch in FORMAT_CHARACTERS:
            return (
                "control_character",
                f"contains an invisible character ({point} {_name(ch)}) at position {pos}: "
                "retype the value",
            )
        if (ch.isdigit() or ch.isdecimal() or ch.isnumeric()) and not ch.isascii():
            return (
                "non_ascii_digit",
                f"contains the digit {ch!r} ({point} {_name(ch)}) at position {pos}: type the "
                "digits 0-9",
            )
    return None


def check(
    value: Any,
    what: str,
    *,
    field: str | None = None,
    error: type[CpstemError] = CpstemError,
) -> None:
    """Raise ``error`` (code ``non_ascii_digit`` or ``control_character``, ``field``) when the
    text ``value`` has a digit of another script or an invisible character; anything that is not
    text passes."""
    if not isinstance(value, str):
        return
    found = problem(value)
    if found is not None:
        code, message = found
        raise error(
            f"{what} {value!r} {message}",
            code=code,
            field=field,
            params={"value": value},
        )
