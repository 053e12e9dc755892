"""CFCS: levels I-V with short descriptors."""

from __future__ import annotations

from cpstem.measures.levels import level_class

Level = level_class("cfcs", __name__, 'CFCS level I-V (``Level.parse("II")``).')
