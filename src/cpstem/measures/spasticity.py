"""Spasticity scales: Modified Ashworth (MAS) and Modified Tardieu, per muscle group and side."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import total_ordering
from typing import Any, Self, TypeVar

from cpstem.measures.catalog import classifications
from cpstem.measures.coded import CodedCategory, catalogued
from cpstem.measures.digits import ascii_digits
from cpstem.measures.errors import MeasureError
from cpstem.numbers import finite_float
from cpstem.results import Result

#: Largest joint angle accepted, in degrees (either sign).
MAX_ANGLE_DEG = 180.0


@catalogued("muscles", "groups", "muscle group")
class MuscleGroup(CodedCategory):
    """Muscle groups commonly assessed for spasticity in CP."""

    GASTROCNEMIUS_SOLEUS = "gastrocnemius_soleus"
    HAMSTRINGS = "hamstrings"
    RECTUS_FEMORIS = "rectus_femoris"
    HIP_ADDUCTORS = "hip_adductors"
    ILIOPSOAS = "iliopsoas"
    ELBOW_FLEXORS = "elbow_flexors"
    WRIST_FLEXORS = "wrist_flexors"
    FINGER_FLEXORS = "finger_flexors"
    FOREARM_PRONATORS = "forearm_pronators"
    SHOULDER_ROTATORS = "shoulder_rotators"

    @property
    def limb(self) -> str:
        """ "upper" or "lower"."""
        return self.entries()[self.value]["limb"]


class Side(StrEnum):
    """Body side of a measurement."""

    LEFT = "left"
    RIGHT = "right"

    @classmethod
    def parse(cls, value: Any) -> Side:
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower() if isinstance(value, str) else ""
        for member in cls:
            if text in (member.value, member.value[0]):
                return member
        raise MeasureError(
            f"side {value!r} is not valid: use left (L) or right (R)",
            code="invalid_side",
            field="side",
            params={"value": value},
        )


_E = TypeVar("_E", bound=Enum)


def _parse_member(
    cls: type[_E],
    value: Any,
    normalise: Callable[[str], str],
    message: str,
    code: str,
    field: str,
) -> _E:
    """The member of ``cls`` that is ``value`` or whose value is ``normalise(text)`` (``value``
    a code as text or a whole number, stripped); else a :class:`MeasureError` with ``message``,
    ``code`` and ``field``."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = normalise(str(value).strip())
        for member in cls:
            if member.value == text:
                return member
    raise MeasureError(message, code=code, field=field, params={"value": value})


def _mas_grades() -> list[dict[str, Any]]:
    return classifications()["mas"]["grades"]


@total_ordering
class MAS(Enum):
    """Modified Ashworth grade. ``str()`` is the clinical label, ``.ordinal`` the 0-5 coding."""

    G0 = "0"
    G1 = "1"
    G1_PLUS = "1+"
    G2 = "2"
    G3 = "3"
    G4 = "4"

    @classmethod
    def parse(cls, value: Any) -> MAS:
        """A grade from "0", "1", "1+", "2", "3", "4" (or the integers 0, 1, 2, 3, 4)."""
        return _parse_member(
            cls,
            value,
            lambda text: text.replace(" ", ""),
            f"Modified Ashworth grade {value!r} is not valid: use 0, 1, 1+, 2, 3 or 4",
            "invalid_grade",
            "grade",
        )

    @classmethod
    def from_ordinal(cls, ordinal: int) -> MAS:
        """The grade with explicit ordinal code 0-5 (0, 1, 1+, 2, 3, 4)."""
        for member in cls:
            if member.ordinal == ordinal and not isinstance(ordinal, bool):
                return member
        raise MeasureError(
            f"Modified Ashworth ordinal {ordinal!r} is not valid: use 0 to 5",
            code="invalid_grade",
            field="grade",
            params={"value": ordinal},
        )

    @property
    def ordinal(self) -> int:
        """Explicit ordinal coding: 0, 1, 1+ -> 2, 2 -> 3, 3 -> 4, 4 -> 5."""
        return next(int(g["ordinal"]) for g in _mas_grades() if g["label"] == self.value)

    @property
    def descriptor(self) -> str:
        return next(g["descriptor"] for g in _mas_grades() if g["label"] == self.value)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, MAS):
            return NotImplemented
        return self.ordinal < other.ordinal

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class MASMeasurement(Result):
    """One Modified Ashworth grading of a muscle group on one side.

    ``to_dict()``/``to_frame()`` (one row): ``muscle``, ``side`` and ``grade`` as their codes
    (``"1+"``), plus ``ordinal`` (0-5).
    """

    _dict_properties = ("ordinal",)

    muscle: MuscleGroup
    side: Side
    grade: MAS

    @classmethod
    def create(cls, muscle: Any, side: Any, grade: Any) -> Self:
        """Parse loosely typed input (codes or labels) into a measurement."""
        return cls(MuscleGroup.parse(muscle), Side.parse(side), MAS.parse(grade))

    @property
    def ordinal(self) -> int:
        """The grade's explicit ordinal code 0-5 (see :attr:`MAS.ordinal`)."""
        return self.grade.ordinal


class TardieuVelocity(StrEnum):
    """Stretch velocity: V1 slow (passive range), V2 gravity, V3 fast."""

    V1 = "V1"
    V2 = "V2"
    V3 = "V3"

    @classmethod
    def parse(cls, value: Any) -> TardieuVelocity:
        """A velocity from "V1", "v2", "3" or the integers 1, 2, 3."""
        return _parse_member(
            cls,
            value,
            lambda text: text.upper() if text.upper().startswith("V") else f"V{text}",
            f"Tardieu velocity {value!r} is not valid: use V1, V2 or V3",
            "invalid_velocity",
            "velocity",
        )

    @property
    def label(self) -> str:
        return next(
            v["label"]
            for v in classifications()["tardieu"]["velocities"]
            if v["code"] == self.value
        )


def tardieu_versions() -> dict[str, int]:
    """Scale version -> highest quality grade (``"0-5"`` default, ``"0-4"``)."""
    return {v["code"]: int(v["max_grade"]) for v in classifications()["tardieu"]["versions"]}


def _angle(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    field = f"{what.lower()}_deg"
    angle = finite_float(
        value,
        f"Tardieu {what}",
        MeasureError,
        field=field,
        noun="an angle in degrees",
        code="not_an_angle",
        finite=False,
    )
    if not math.isfinite(angle) or abs(angle) > MAX_ANGLE_DEG:
        raise MeasureError(
            f"Tardieu {what} {value!r}: angle must lie between -{MAX_ANGLE_DEG:g} and "
            f"{MAX_ANGLE_DEG:g} degrees",
            code="out_of_range",
            field=field,
            params={"value": value, "max": MAX_ANGLE_DEG},
        )
    return angle


@dataclass(frozen=True)
class Tardieu(Result):
    """A Modified Tardieu assessment of one muscle group and side.

    ``r1_deg`` is the angle of catch (fast stretch, V2/V3), ``r2_deg`` the full passive range (V1),
    both measured in the direction of stretch so that R1 <= R2. ``quality`` is the X grade; its
    allowed range depends on ``scale_version`` ("0-5" or "0-4"), which is recorded.
    ``to_dict()``/``to_frame()`` (one row) add ``dynamic_component_deg``.
    """

    _dict_properties = ("dynamic_component_deg",)

    muscle: MuscleGroup
    side: Side
    r1_deg: float | None = None
    r2_deg: float | None = None
    quality: int | None = None
    velocity: TardieuVelocity = TardieuVelocity.V3
    scale_version: str = "0-5"

    def __post_init__(self) -> None:
        super().__post_init__()
        versions = tardieu_versions()
        if self.scale_version not in versions:
            raise MeasureError(
                f"Tardieu scale version {self.scale_version!r} is not valid: use "
                + " or ".join(versions),
                code="invalid_scale_version",
                field="scale_version",
                params={"value": self.scale_version},
            )
        top = versions[self.scale_version]
        q = self.quality
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= top):
            raise MeasureError(
                f"Tardieu quality grade {q!r} is not valid on the {self.scale_version} scale: "
                f"use a whole number from 0 to {top}",
                code="invalid_quality",
                field="quality",
                params={"value": q, "max": top},
            )
        if self.r1_deg is not None and self.r2_deg is not None and self.r1_deg > self.r2_deg:
            raise MeasureError(
                f"Tardieu R1 (catch, {self.r1_deg:g}°) lies beyond R2 (full range, "
                f"{self.r2_deg:g}°): record both angles in the direction of stretch, R1 <= R2",
                code="r1_beyond_r2",
                field="r1_deg",
                params={"r1_deg": self.r1_deg, "r2_deg": self.r2_deg},
            )

    @classmethod
    def create(
        cls,
        muscle: Any,
        side: Any,
        r1_deg: Any = None,
        r2_deg: Any = None,
        quality: Any = None,
        velocity: Any = "V3",
        scale_version: str = "0-5",
    ) -> Self:
        """Parse loosely typed input (e.g. form or CSV text) into a validated measurement."""
        if isinstance(quality, str):
            text = quality.strip()
            if text and not ascii_digits(text):
                raise MeasureError(
                    f"Tardieu quality grade {quality!r} is not a whole number",
                    code="invalid_quality",
                    field="quality",
                    params={"value": quality},
                )
            quality = int(text) if text else None
        elif isinstance(quality, float) and quality.is_integer():
            quality = int(quality)
        return cls(
            muscle=MuscleGroup.parse(muscle),
            side=Side.parse(side),
            r1_deg=_angle(r1_deg, "R1"),
            r2_deg=_angle(r2_deg, "R2"),
            quality=quality,
            velocity=TardieuVelocity.parse(velocity),
            scale_version=str(scale_version).strip(),
        )

    @property
    def dynamic_component_deg(self) -> float | None:
        """R2 - R1: large means a dynamic (spastic) component, small a fixed contracture."""
        if self.r1_deg is None or self.r2_deg is None:
            return None
        return self.r2_deg - self.r1_deg
