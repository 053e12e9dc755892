"""Cohort analyses on the pseudonymised analysis table (individual patient data).

Pure pandas/NumPy/SciPy/statsmodels; every function reads the analysis table documented in
:mod:`cpstem.outcomes.ipd.table` (one row per GMFM-66 assessment).

- :func:`mixed_model` — linear mixed model over all visits, profiled REML/ML as lme4 fits it
- :func:`excess_change` — mean excess (observed minus expected change) at a visit, with CIs
- :func:`responders` — proportion beyond measurement error and beyond the MCID, exact CIs
- :func:`treatment_effect` — treated vs concurrent controls (ANCOVA or IPTW), E-value
- :func:`dose_response` — excess vs log10 dose per kg, linear and restricted cubic spline
"""

from cpstem.outcomes.ipd.mixed import MixedModelResult, mixed_model
from cpstem.outcomes.ipd.table import COLUMNS, validate_table

__all__ = ["COLUMNS", "MixedModelResult", "mixed_model", "validate_table"]
