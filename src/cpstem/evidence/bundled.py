"""The bundled, cited dataset of stem-cell trials in cerebral palsy (``data/*.csv``).

Files (each row carries its ``source``):

* ``trials.csv`` - one row per trial: design, cells, source, origin, dose, route, citation;
* ``motor_arms.csv`` - per-arm change in gross motor function with n, mean, SD, SD provenance
  and the arm's ``role`` in the pooled comparison (``cells``, ``control`` or ``unused``, with
  the reason in ``note``);
* ``motor_effects.csv`` - trials that publish only an effect size (used in a sensitivity
  analysis, never mixed silently into the primary one);
* ``not_poolable.csv`` - trials whose motor outcome cannot be pooled, and why;
* ``safety.csv`` - adverse-event counts per arm (serious events flagged);
* ``published_meta_analyses.csv`` - pooled results as published, for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from cpstem.evidence.errors import EvidenceError

_FILES = (
    "trials",
    "motor_arms",
    "motor_effects",
    "not_poolable",
    "safety",
    "published_meta_analyses",
)
ROLES = ("cells", "control", "unused")


@dataclass(frozen=True)
class EvidenceBundle:
    """All bundled tables (pandas DataFrames, one per data file)."""

    trials: pd.DataFrame
    motor_arms: pd.DataFrame
    motor_effects: pd.DataFrame
    not_poolable: pd.DataFrame
    safety: pd.DataFrame
    published_meta_analyses: pd.DataFrame

    def trial(self, trial_id: str) -> pd.Series:
        return self.trials.set_index("trial").loc[trial_id]


def _read(name: str) -> pd.DataFrame:
    path = resources.files("cpstem.evidence").joinpath("data").joinpath(f"{name}.csv")
    with path.open(encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False, na_values=[""])


def _check(bundle: EvidenceBundle) -> None:
    known = set(bundle.trials["trial"])
    for name in _FILES[1:-1]:
        unknown = set(getattr(bundle, name)["trial"]) - known
        if unknown:
            raise EvidenceError(f"bundled {name}.csv names unknown trial(s) {sorted(unknown)}")
    roles = set(bundle.motor_arms["role"])
    if not roles <= set(ROLES):
        raise EvidenceError(f"bundled motor_arms.csv has unknown role(s) {roles - set(ROLES)}")
    for name in _FILES:
        frame = getattr(bundle, name)
        if "source" in frame and frame["source"].isna().any():
            raise EvidenceError(f"bundled {name}.csv has a row without a source")


@cache
def load_bundle() -> EvidenceBundle:
    """The bundled dataset, validated (unknown trials, roles or missing sources are errors)."""
    bundle = EvidenceBundle(**{name: _read(name) for name in _FILES})
    _check(bundle)
    return bundle
