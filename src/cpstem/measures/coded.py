"""String-coded clinical categories whose labels live in the classifications catalogue."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar

from cpstem.measures.catalog import classifications
from cpstem.measures.errors import MeasureError

C = TypeVar("C", bound="CodedCategory")


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def catalogued(section: str, key: str, what: str) -> Callable[[type[C]], type[C]]:
    """Class decorator: where a :class:`CodedCategory`'s entries live, and what it is called."""

    def attach(cls: type[C]) -> type[C]:
        cls._catalogue = (section, key, what)  # set after creation: not an enum member
        return cls

    return attach


class CodedCategory(StrEnum):
    """Base for categories coded by a short string (value) with a catalogue label."""

    _catalogue: ClassVar[tuple[str, str, str]]
    _value_: str

    @classmethod
    def catalogue(cls) -> tuple[str, str, str]:
        """(catalogue section, list key, human name of the category)."""
        return cls._catalogue

    @classmethod
    def entries(cls) -> dict[str, dict[str, Any]]:
        section, key, _ = cls.catalogue()
        return {e["code"]: e for e in classifications()[section][key]}

    @property
    def label(self) -> str:
        return self.entries()[self.value]["label"]

    @classmethod
    def parse(cls, value: Any) -> Self:
        """A member from its code or label, ignoring case, spaces and punctuation."""
        if isinstance(value, cls):
            return value
        what = cls.catalogue()[2]
        if isinstance(value, str):
            wanted = _norm(value)
            for member in cls:
                if wanted and wanted in (_norm(member.value), _norm(member.label)):
                    return member
        allowed = ", ".join(m.value for m in cls)
        raise MeasureError(
            f"{what} {value!r} is not valid: use one of {allowed}",
            code="invalid_choice",
            params={"value": value, "allowed": [m.value for m in cls]},
        )

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(code, label) pairs, e.g. for form select boxes."""
        return [(m.value, m.label) for m in cls]
