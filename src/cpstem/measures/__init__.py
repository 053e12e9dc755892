"""Clinical scales for cerebral palsy: pure domain code, no I/O, no Django.

Modules: :mod:`gmfm` (GMFM-88 items and scoring, GMFM-66), :mod:`gmfcs`, :mod:`macs`,
:mod:`cfcs` (functional levels), :mod:`spasticity` (Modified Ashworth, Modified Tardieu),
:mod:`scpe` (CP subtype, topography), :mod:`mrics` (MRI classification).
Every invalid input raises :class:`MeasureError`.
"""

from cpstem.measures.errors import MeasureError

__all__ = ["MeasureError"]
