"""The design layer's exception family."""

from __future__ import annotations

from cpstem.errors import CpstemError


class DesignError(CpstemError):
    """Invalid input to a trial-design calculation (sample size, group-sequential design, TSA).

    Raised with ``code`` (``"out_of_range"``, ``"not_allowed"``, ``"missing"``,
    ``"no_solution"``), the ``field`` (the argument's name) and ``params``.
    """
