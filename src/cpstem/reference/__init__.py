"""Expected motor development: GMFM-66 reference curves by GMFCS level.

>>> from cpstem import reference
>>> curves = reference.load("rosenbaum2002")
>>> round(curves.expected("III", 4.5), 1)
51.0
"""

from cpstem.reference.curves import CurveSet, LevelCurve
from cpstem.reference.errors import CurveError
from cpstem.reference.plots import plot
from cpstem.reference.sets import available, load, load_file

__all__ = ["CurveError", "CurveSet", "LevelCurve", "available", "load", "load_file", "plot"]
