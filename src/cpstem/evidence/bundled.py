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

import pandas as pd

from cpstem.datafiles import csv_frame
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
        """The ``trials.csv`` row of one trial."""
        row = self.trials.set_index("trial").loc[trial_id]
        if not isinstance(row, pd.Series):
            raise EvidenceError(
                f"trial {trial_id!r} is listed more than once in trials.csv",
                code="duplicate",
                field="trial",
                params={"trial": trial_id},
            )
        return row


def _read(name: str) -> pd.DataFrame:
    return csv_frame("cpstem.evidence", f"data/{name}.csv")


def _check(bundle: EvidenceBundle) -> None:
    known = set(bundle.trials["trial"])
    for name in _FILES[1:-1]:
        unknown = set(getattr(bundle, name)["trial"]) - known
        if unknown:
            raise EvidenceError(
                f"bundled {name}.csv names unknown trial(s) {sorted(unknown)}",
                code="unknown_trial",
                field="trial",
                params={"file": f"{name}.csv", "trials": sorted(unknown)},
            )
    roles = set(bundle.motor_arms["role"])
    if not roles <= set(ROLES):
        raise EvidenceError(
            f"bundled motor_arms.csv has unknown role(s) {roles - set(ROLES)}",
            code="invalid_choice",
            field="role",
            params={"file": "motor_arms.csv", "roles": sorted(roles - set(ROLES))},
        )


@cache
def load_bundle() -> EvidenceBundle:
    """The bundled dataset, validated (unknown trials, roles or missing sources are errors).

    Cached: the frames are shared by every caller, so copy one before changing it.
    """
    bundle = EvidenceBundle(**{name: _read(name) for name in _FILES})
    _check(bundle)
    return bundle
