"""Adverse-event rates: incidence proportions and rates per 100 patient-years, exact 95 % CIs.

Proportion: Clopper-Pearson interval from the beta distribution. Rate: exact Poisson interval
from the chi-square distribution (Garwood 1936), per 100 patient-years of follow-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scipy import stats

from cpstem.outcomes.errors import OutcomeError
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd


def proportion_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for k events in n."""
    if n <= 0 or not 0 <= k <= n:
        raise OutcomeError(
            f"proportion {k}/{n}: need 0 <= events <= n and n > 0",
            code="out_of_range",
            field="n" if n <= 0 else "k",
            params={"k": k, "n": n},
        )
    a = 1 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def rate_ci(events: int, exposure: float, level: float = 0.95) -> tuple[float, float]:
    """Exact Poisson interval for a rate: events / exposure."""
    if exposure <= 0 or events < 0:
        raise OutcomeError(
            "a rate needs events >= 0 and a positive exposure",
            code="out_of_range",
            field="exposure" if exposure <= 0 else "events",
            params={"events": events, "exposure": exposure},
        )
    a = 1 - level
    lo = 0.0 if events == 0 else float(stats.chi2.ppf(a / 2, 2 * events)) / 2
    hi = float(stats.chi2.ppf(1 - a / 2, 2 * events + 2)) / 2
    return lo / exposure, hi / exposure


@dataclass(frozen=True)
class Event(Result):
    """One adverse event of one patient."""

    patient: object
    grade: int
    serious: bool
    related: bool  # possible, probable or definite


@dataclass(frozen=True)
class AERates(Result):
    """Adverse events of a group of patients over their follow-up.

    ``to_dict()`` adds ``proportion``, ``proportion_ci``, ``serious_proportion_ci``,
    ``rate_per_100py`` and ``rate_ci_per_100py``. ``to_frame()``: one row of the counts, the
    proportion and rate, and their intervals as ``*_lower``/``*_upper`` columns.
    """

    _dict_properties = (
        "proportion",
        "proportion_ci",
        "serious_proportion_ci",
        "rate_per_100py",
        "rate_ci_per_100py",
    )

    n_patients: int
    patient_years: float
    n_events: int
    patients_with_event: int
    serious_events: int
    patients_with_serious: int
    grade3plus_events: int
    related_events: int

    @property
    def proportion(self) -> float:
        return self.patients_with_event / self.n_patients if self.n_patients else float("nan")

    @property
    def proportion_ci(self) -> tuple[float, float]:
        return proportion_ci(self.patients_with_event, self.n_patients)

    @property
    def serious_proportion_ci(self) -> tuple[float, float]:
        return proportion_ci(self.patients_with_serious, self.n_patients)

    @property
    def rate_per_100py(self) -> float:
        return 100 * self.n_events / self.patient_years if self.patient_years else float("nan")

    @property
    def rate_ci_per_100py(self) -> tuple[float, float]:
        lo, hi = rate_ci(self.n_events, self.patient_years)
        return 100 * lo, 100 * hi

    def _dict_items(self) -> dict[str, Any]:
        # the intervals need at least one patient (or patient-year): missing otherwise
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        out["proportion"] = self.proportion
        out["rate_per_100py"] = self.rate_per_100py
        for name in ("proportion_ci", "serious_proportion_ci", "rate_ci_per_100py"):
            try:
                out[name] = getattr(self, name)
            except OutcomeError:
                out[name] = (None, None)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row: counts, ``proportion``, ``rate_per_100py`` and ``*_lower``/``*_upper``."""
        row: dict[str, Any] = {}
        for name, value in self._dict_items().items():
            if isinstance(value, tuple):
                (
                    row[f"{name.removesuffix('_ci')}_lower"],
                    row[f"{name.removesuffix('_ci')}_upper"],
                ) = value
            else:
                row[name] = value
        return frame_of({k: [v] for k, v in row.items()})


def ae_rates(follow_up_years: dict[object, float], events: Iterable[Event]) -> AERates:
    """Rates for the patients in ``follow_up_years`` (patient -> years followed)."""
    if any(y < 0 for y in follow_up_years.values()):
        raise OutcomeError(
            "follow-up time cannot be negative", code="out_of_range", field="follow_up_years"
        )
    evs = [e for e in events if e.patient in follow_up_years]
    return AERates(
        n_patients=len(follow_up_years),
        patient_years=float(sum(follow_up_years.values())),
        n_events=len(evs),
        patients_with_event=len({e.patient for e in evs}),
        serious_events=sum(e.serious for e in evs),
        patients_with_serious=len({e.patient for e in evs if e.serious}),
        grade3plus_events=sum(e.grade >= 3 for e in evs),
        related_events=sum(e.related for e in evs),
    )
