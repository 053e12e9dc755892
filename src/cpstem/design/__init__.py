"""The next trial: sample size and power, group-sequential designs, trial sequential analysis.

Pure NumPy/SciPy; no Django. Group-sequential numbers equal R rpact's, sample sizes R pwr's
and ``stats::power.t.test``'s (see ``tests/design``).
"""

from __future__ import annotations

from cpstem.design.errors import DesignError
from cpstem.design.sequential import GroupSequentialDesign, conditional_power, group_sequential

__all__ = [
    "DesignError",
    "GroupSequentialDesign",
    "conditional_power",
    "group_sequential",
]
