"""Shared machinery for the five-level functional classifications (GMFCS, MACS, CFCS)."""

from __future__ import annotations

import math
import re
from enum import IntEnum
from typing import Any, ClassVar, Self

from cpstem.measures.catalog import classifications
from cpstem.measures.digits import ascii_digits
from cpstem.measures.errors import MeasureError

ROMAN = ("I", "II", "III", "IV", "V")


def classification(key: str):
    """Class decorator naming the catalogue section of a :class:`FunctionLevel` subclass."""

    def attach(cls: type[FunctionLevel]) -> type[FunctionLevel]:
        cls._system = key  # set after creation so that it is not an enum member
        return cls

    return attach


class FunctionLevel(IntEnum):
    """Base of the I-V classifications; members compare as 1-5 and print as roman numerals."""

    _system: ClassVar[str]

    @classmethod
    def system(cls) -> str:
        """Catalogue key, e.g. ``"gmfcs"``."""
        return cls._system

    @classmethod
    def system_name(cls) -> str:
        return cls.system().upper()

    @classmethod
    def parse(cls, value: Any) -> Self:
        """A level from ``"III"``, ``"3"``, ``3``, ``"GMFCS III"`` or ``"level 3"``."""
        if isinstance(value, cls):
            return value
        name = cls.system_name()
        allowed = "use I, II, III, IV or V (or 1-5)"
        if isinstance(value, bool) or value is None:
            raise MeasureError(f"{name} level {value!r} is not valid: {allowed}")
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            if 1 <= value <= 5:
                return cls(value)
            raise MeasureError(f"{name} level {value} is not valid: {allowed}")
        if isinstance(value, str):
            text = re.sub(rf"^\s*({name}|level)\s*", "", value.strip(), flags=re.IGNORECASE)
            text = re.sub(r"^\s*level\s*", "", text, flags=re.IGNORECASE).strip().upper()
            if text in ROMAN:
                return cls(ROMAN.index(text) + 1)
            if ascii_digits(text) and 1 <= int(text) <= 5:
                return cls(int(text))
        raise MeasureError(f"{name} level {value!r} is not valid: {allowed}")

    @property
    def roman(self) -> str:
        return ROMAN[self.value - 1]

    @property
    def descriptor(self) -> str:
        """Short description of the level (our own wording; source in the catalogue)."""
        return classifications()[self.system()]["levels"][self.value - 1]["descriptor"]

    def __str__(self) -> str:
        return self.roman

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)
