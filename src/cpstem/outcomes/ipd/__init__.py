"""Cohort analyses on the pseudonymised analysis table (individual patient data).

Pure pandas/NumPy/SciPy/statsmodels; every function reads the analysis table documented in
:mod:`cpstem.outcomes.ipd.table` (one row per GMFM-66 assessment).

- :func:`mixed_model` — linear mixed model over all visits, profiled REML/ML as lme4 fits it
- :func:`excess_change` — mean excess (observed minus expected change) at a visit, with CIs
- :func:`responders` — proportion beyond measurement error and beyond the MCID, exact CIs
- :func:`treatment_effect` — treated vs concurrent controls (ANCOVA or IPTW), E-value
- :func:`dose_response` — excess vs log10 dose per kg, linear and restricted cubic spline
- :func:`spasticity_change` — MAS / Tardieu change per muscle group, proportional-odds model
- :func:`lab_change` — laboratory markers against the pre-administration value (log or raw)
- :func:`simulate_cohort`, :func:`simulate_spasticity` — synthetic tables with known effects
"""

from cpstem.outcomes.ipd.balance import love_plot, standardised_differences
from cpstem.outcomes.ipd.dose_curve import DoseResponseResult, dose_response
from cpstem.outcomes.ipd.evalue import e_value_rr, e_value_smd
from cpstem.outcomes.ipd.excess import ExcessChangeResult, excess_change
from cpstem.outcomes.ipd.labs import LabChangeResult, lab_change
from cpstem.outcomes.ipd.mixed import MixedModelResult, mixed_model
from cpstem.outcomes.ipd.responders import RespondersResult, clopper_pearson, responders
from cpstem.outcomes.ipd.simulate import simulate_cohort, simulate_spasticity
from cpstem.outcomes.ipd.spasticity import SpasticityChangeResult, spasticity_change
from cpstem.outcomes.ipd.table import (
    COLUMNS,
    LAB_COLUMNS,
    SPASTICITY_COLUMNS,
    validate_table,
)
from cpstem.outcomes.ipd.treatment import (
    OBSERVATIONAL_WARNING,
    TreatmentEffectResult,
    treatment_effect,
)

__all__ = [
    "COLUMNS",
    "LAB_COLUMNS",
    "OBSERVATIONAL_WARNING",
    "SPASTICITY_COLUMNS",
    "DoseResponseResult",
    "ExcessChangeResult",
    "LabChangeResult",
    "MixedModelResult",
    "RespondersResult",
    "SpasticityChangeResult",
    "TreatmentEffectResult",
    "clopper_pearson",
    "dose_response",
    "e_value_rr",
    "e_value_smd",
    "excess_change",
    "lab_change",
    "love_plot",
    "mixed_model",
    "responders",
    "simulate_cohort",
    "simulate_spasticity",
    "spasticity_change",
    "standardised_differences",
    "treatment_effect",
    "validate_table",
]
