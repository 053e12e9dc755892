"""The next trial: sample size and power, group-sequential designs, trial sequential analysis.

Pure NumPy/SciPy; no Django. Group-sequential numbers equal R rpact's, sample sizes R pwr's
and ``stats::power.t.test``'s (see ``tests/design``).
"""

from __future__ import annotations

from cpstem.design.errors import DesignError
from cpstem.design.samplesize import (
    Power,
    SampleSize,
    power_means,
    sample_size_means,
    variance_factor,
)
from cpstem.design.sequential import GroupSequentialDesign, conditional_power, group_sequential
from cpstem.design.tsa import (
    Heterogeneity,
    InformationSize,
    TSAResult,
    diversity,
    required_information_size,
    tsa,
)

__all__ = [
    "DesignError",
    "GroupSequentialDesign",
    "Heterogeneity",
    "InformationSize",
    "Power",
    "SampleSize",
    "TSAResult",
    "conditional_power",
    "diversity",
    "group_sequential",
    "power_means",
    "required_information_size",
    "sample_size_means",
    "tsa",
    "variance_factor",
]
