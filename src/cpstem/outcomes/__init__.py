"""Analysis of registry data: pure domain code, no I/O beyond bundled data files, no Django.

Modules: :mod:`dose` (cell count, dose per kg and unit checks), :mod:`schedule` (follow-up
visits anchored to administrations), :mod:`change` (observed vs expected GMFM-66 change, both
methods of :mod:`cpstem.reference`), :mod:`safety` (adverse-event rates with exact intervals),
:mod:`cohort` (cohort summaries by product and GMFCS level). Invalid input raises
:class:`OutcomeError`.
"""

from cpstem.outcomes.errors import OutcomeError

__all__ = ["OutcomeError"]
