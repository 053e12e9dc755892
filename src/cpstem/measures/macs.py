"""MACS: levels I-V with short descriptors."""

from __future__ import annotations

from cpstem.measures.levels import level_class

Level = level_class("macs", __name__, 'MACS level I-V (``Level.parse("II")``).')
