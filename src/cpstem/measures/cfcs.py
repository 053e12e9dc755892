"""CFCS: levels I-V with short descriptors."""

from __future__ import annotations

from cpstem.measures.levels import FunctionLevel, classification


@classification("cfcs")
class Level(FunctionLevel):
    """CFCS level I-V (``Level.parse("II")``)."""

    I = 1  # noqa: E741
    II = 2
    III = 3
    IV = 4
    V = 5
