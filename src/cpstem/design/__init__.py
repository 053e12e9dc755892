"""The next trial: sample size and power, group-sequential designs, trial sequential analysis.

Pure NumPy/SciPy; no Django. Group-sequential numbers equal R rpact's, sample sizes R pwr's
and ``stats::power.t.test``'s (see ``tests/design``).
"""

from __future__ import annotations

from cpstem.design.assurance import (
    Assurance,
    Prior,
    VarianceComponents,
    assurance,
    prior_from_meta,
    sample_size_slope,
    slope_sd,
    variance_from_table,
)
from cpstem.design.errors import DesignError
from cpstem.design.justification import (
    power_curve,
    power_curve_plot,
    sample_size_justification,
)
from cpstem.design.randomisation import (
    MinimisationResult,
    RandomisationList,
    minimise,
    randomisation_list,
)
from cpstem.design.samplesize import (
    Power,
    SampleSize,
    power_means,
    sample_size_means,
    variance_factor,
)
from cpstem.design.sequential import GroupSequentialDesign, conditional_power, group_sequential
from cpstem.design.simulation import SimulationResult, simulate_power
from cpstem.design.tsa import (
    Heterogeneity,
    InformationSize,
    TSAResult,
    binary_effects,
    diversity,
    implied_sd,
    monitoring_boundaries,
    required_information_size,
    tsa,
    tsa_binary,
)

__all__ = [
    "Assurance",
    "DesignError",
    "GroupSequentialDesign",
    "Heterogeneity",
    "InformationSize",
    "MinimisationResult",
    "Power",
    "Prior",
    "RandomisationList",
    "SampleSize",
    "SimulationResult",
    "TSAResult",
    "VarianceComponents",
    "assurance",
    "binary_effects",
    "conditional_power",
    "diversity",
    "group_sequential",
    "implied_sd",
    "minimise",
    "monitoring_boundaries",
    "power_curve",
    "power_curve_plot",
    "power_means",
    "prior_from_meta",
    "randomisation_list",
    "required_information_size",
    "sample_size_justification",
    "sample_size_means",
    "sample_size_slope",
    "simulate_power",
    "slope_sd",
    "tsa",
    "tsa_binary",
    "variance_factor",
    "variance_from_table",
]
