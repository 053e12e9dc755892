"""Shared machinery for the five-level functional classifications (GMFCS, MACS, CFCS).

Each system's ``Level`` class is made by :func:`level_class` from its catalogue key; members
``I`` .. ``V`` compare as 1-5 and print as roman numerals. Type checkers see each such class
as ``type[FunctionLevel]`` (so ``Level.parse(...)`` is a :class:`FunctionLevel`).
"""

from __future__ import annotations

import math
import re
from enum import IntEnum
from typing import Any, ClassVar, Self

from cpstem.measures.catalog import classifications
from cpstem.measures.digits import ascii_digits
from cpstem.measures.errors import MeasureError

ROMAN = ("I", "II", "III", "IV", "V")
_ALLOWED = "use I, II, III, IV or V (or 1-5)"


class FunctionLevel(IntEnum):
    """Base of the I-V classifications; members compare as 1-5 and print as roman numerals."""

    _system: ClassVar[str]
    _value_: int

    @classmethod
    def system(cls) -> str:
        """Catalogue key, e.g. ``"gmfcs"``."""
        return cls._system

    @classmethod
    def system_name(cls) -> str:
        return cls.system().upper()

    @classmethod
    def _invalid(cls, value: Any) -> MeasureError:
        shown = value if isinstance(value, int) and not isinstance(value, bool) else repr(value)
        return MeasureError(
            f"{cls.system_name()} level {shown} is not valid: {_ALLOWED}",
            code="invalid_choice",
            field=cls.system(),
            params={"value": str(value), "allowed": list(ROMAN)},
        )

    @classmethod
    def parse(cls, value: Any) -> Self:
        """A level from ``"III"``, ``"3"``, ``3``, ``"GMFCS III"`` or ``"level 3"``."""
        if isinstance(value, cls):
            return value
        name = cls.system_name()
        if isinstance(value, bool) or value is None:
            raise cls._invalid(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            if 1 <= value <= 5:
                return cls(value)
            raise cls._invalid(value)
        if isinstance(value, str):
            text = re.sub(rf"^\s*({name}|level)\s*", "", value.strip(), flags=re.IGNORECASE)
            text = re.sub(r"^\s*level\s*", "", text, flags=re.IGNORECASE).strip().upper()
            if text in ROMAN:
                return cls(ROMAN.index(text) + 1)
            if ascii_digits(text) and 1 <= int(text) <= 5:
                return cls(int(text))
        raise cls._invalid(value)

    @property
    def roman(self) -> str:
        return ROMAN[self.value - 1]

    @property
    def descriptor(self) -> str:
        """Short description of the level (our own wording; source in the catalogue)."""
        text: str = classifications()[self.system()]["levels"][self.value - 1]["descriptor"]
        return text

    def __str__(self) -> str:
        return self.roman

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def level_class(system: str, module: str, doc: str) -> type[FunctionLevel]:
    """The ``Level`` enum (members ``I`` .. ``V`` = 1 .. 5) of the catalogue section ``system``.

    ``module`` is the defining module's ``__name__`` (for pickling and ``repr``).
    """
    if system not in classifications():
        raise MeasureError(
            f"no classification {system!r} in the catalogue",
            code="not_found",
            params={"system": system},
        )

    class Level(FunctionLevel):
        I = 1  # noqa: E741
        II = 2
        III = 3
        IV = 4
        V = 5

    Level._system = system  # set after creation so that it is not an enum member
    Level.__module__ = module
    Level.__qualname__ = "Level"
    Level.__doc__ = doc
    return Level
