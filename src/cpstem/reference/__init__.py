"""Expected motor development: GMFM-66 reference curves by GMFCS level.

>>> from cpstem import reference
>>> curves = reference.load("rosenbaum2002")
>>> round(curves.expected("III", 4.5), 1)
51.0
"""

from typing import TYPE_CHECKING, Any

from cpstem.reference.curves import CurveSet, LevelCurve
from cpstem.reference.errors import CurveError
from cpstem.reference.sets import available, load, load_file

__all__ = ["CurveError", "CurveSet", "LevelCurve", "available", "load", "load_file", "plot"]

if TYPE_CHECKING:
    from cpstem.reference.plots import plot


def __getattr__(name: str) -> Any:
    """``plot`` needs matplotlib, so it is imported on first use (quick CLI start-up)."""
    if name == "plot":
        from cpstem.reference.plots import plot

        return plot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
