"""The bundled, cited dataset of stem-cell trials in cerebral palsy (``data/*.csv``).

Files (each row carries its ``source``):

* ``trials.csv`` - one row per trial: design, ``randomised`` (yes/no: only randomised trials
  enter the RCT analyses), n randomised and enrolled, cells, source, origin, dose, route,
  citation, and ``former_id`` (the id a trial had before a correction);
* ``motor_arms.csv`` - per-arm change in gross motor function with n, mean, SD (or the 95 % CI
  of the arm mean, from which the SD is derived on loading: :func:`derive_sds`), SD provenance,
  a ``flag`` (:data:`FLAGS`: a row whose extraction is in doubt, kept out of the primary
  analyses) and the arm's ``role`` in the pooled comparison (``cells``, ``control`` or
  ``unused``, with the reason in ``note``);
* ``motor_effects.csv`` - trials that publish only a between-group mean difference with its CI
  (``effect = "md"``), pooled as a mean difference and its standard error;
* ``not_poolable.csv`` - trials whose motor outcome cannot be pooled, and why;
* ``safety.csv`` - adverse-event counts per arm (serious events flagged);
* ``published_meta_analyses.csv`` - pooled results as published, for comparison;
* ``checks.csv`` - every correction and check of the data: what was checked, against which
  source, whether it was verified (``yes``/``partial``/``no``), what was done and why;
* ``rob2.csv`` - RoB 2 judgements per trial and outcome (five domains and overall), each with
  who judged (a published review, or ``cpstem``) and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd

from cpstem.datafiles import csv_frame
from cpstem.evidence.conversions import sd_from_ci
from cpstem.evidence.errors import EvidenceError

_FILES = (
    "trials",
    "motor_arms",
    "motor_effects",
    "not_poolable",
    "safety",
    "rob2",
    "published_meta_analyses",
    "checks",
)
_TRIAL_FILES = ("motor_arms", "motor_effects", "not_poolable", "safety", "rob2")
ROLES = ("cells", "control", "unused")
#: Codes of the ``flag`` column: why a row is kept out of the primary analyses.
FLAGS = {
    "sd_may_be_se": "the published +/- values may be standard errors, not SDs",
    "implausible_change": "the change is implausible for the scale (unit or time point unclear)",
    "ci_not_centred": "the published CI is not centred on the estimate",
}
#: RoB 2 judgements (Sterne et al. BMJ 2019;366:l4898), mildest first.
ROB_LEVELS = ("low", "some concerns", "high")
ROB_DOMAINS = (
    "d1_randomisation",
    "d2_deviations",
    "d3_missing_data",
    "d4_measurement",
    "d5_selection",
)
VERIFIED = ("yes", "partial", "no")


@dataclass(frozen=True)
class EvidenceBundle:
    """All bundled tables (pandas DataFrames, one per data file)."""

    trials: pd.DataFrame
    motor_arms: pd.DataFrame
    motor_effects: pd.DataFrame
    not_poolable: pd.DataFrame
    safety: pd.DataFrame
    rob2: pd.DataFrame
    published_meta_analyses: pd.DataFrame
    checks: pd.DataFrame

    def randomised(self, trial_ids: list[str] | pd.Series) -> list[bool]:
        """Whether each trial is randomised (``trials.csv`` column ``randomised``)."""
        r = self.trials.set_index("trial")["randomised"]
        return [r.get(t) == "yes" for t in trial_ids]

    def overall_rob(self, trial_id: str, outcome: str = "GMFM change") -> str | None:
        """The RoB 2 overall judgement of a trial's outcome, or None when not judged."""
        rows = self.rob2[(self.rob2["trial"] == trial_id) & (self.rob2["outcome"] == outcome)]
        return None if rows.empty else str(rows["overall"].iloc[0])

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


def _bad(name: str, column: str, values: set, allowed: tuple | set | dict) -> None:
    bad = {v for v in values if isinstance(v, str)} - set(allowed)
    if bad:
        raise EvidenceError(
            f"bundled {name}.csv has unknown {column} value(s) {sorted(bad)}",
            code="invalid_choice",
            field=column,
            params={"file": f"{name}.csv", "values": sorted(bad), "allowed": sorted(allowed)},
        )


def _check(bundle: EvidenceBundle) -> None:
    known = set(bundle.trials["trial"])
    _bad("trials", "randomised", set(bundle.trials["randomised"]), ("yes", "no"))
    _bad("motor_arms", "flag", set(bundle.motor_arms["flag"].dropna()), FLAGS)
    _bad("motor_effects", "flag", set(bundle.motor_effects["flag"].dropna()), FLAGS)
    _bad("motor_effects", "effect", set(bundle.motor_effects["effect"]), ("md",))
    for col in (*ROB_DOMAINS, "overall"):
        _bad("rob2", col, set(bundle.rob2[col]), ROB_LEVELS)
    _bad("checks", "verified", set(bundle.checks["verified"]), VERIFIED)
    unknown_checked = set(bundle.checks["trial"].dropna()) - known
    if unknown_checked:
        raise EvidenceError(
            f"bundled checks.csv names unknown trial(s) {sorted(unknown_checked)}",
            code="unknown_trial",
            field="trial",
            params={"file": "checks.csv", "trials": sorted(unknown_checked)},
        )
    for name in _TRIAL_FILES:
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


def derive_sds(arms: pd.DataFrame, level: float = 95.0) -> pd.DataFrame:
    """A copy of a per-arm table with every missing ``sd_change`` derived from the CI of the
    arm mean (``ci_lower``, ``ci_upper`` at ``level``): ``SD = sqrt(n) (upper - lower) /
    (2 t(1 - alpha/2, n - 1))`` (Cochrane Handbook 6.5.2.2, :func:`~.conversions.sd_from_ci`).
    ``sd_source`` then says how the SD was made, e.g. ``"derived: 95% CI 3.4 to 8.2, n 31,
    t df 30"``."""
    out = arms.copy()
    if "ci_lower" not in out.columns:
        return out
    need = out["sd_change"].isna() & out["ci_lower"].notna() & out["ci_upper"].notna()
    for i in out.index[need]:
        r = out.loc[i]
        n = int(r["n"])
        out.loc[i, "sd_change"] = sd_from_ci(r["ci_lower"], r["ci_upper"], n, level, "t")
        out.loc[i, "sd_source"] = (
            f"derived: {level:g}% CI {r['ci_lower']:g} to {r['ci_upper']:g} of the arm mean, "
            f"SD = sqrt(n) x width / (2 t(df {n - 1})), Cochrane Handbook 6.5.2.2"
        )
    return out


@cache
def load_bundle() -> EvidenceBundle:
    """The bundled dataset, validated (unknown trials, roles, flags, judgements or missing
    sources are errors). SDs published only as a CI are derived (:func:`derive_sds`).

    Cached: the frames are shared by every caller, so copy one before changing it.
    """
    frames = {name: _read(name) for name in _FILES}
    frames["motor_arms"] = derive_sds(frames["motor_arms"])
    bundle = EvidenceBundle(**frames)
    _check(bundle)
    return bundle
