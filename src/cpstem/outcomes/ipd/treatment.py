"""``treatment_effect``: treated vs concurrent controls at a visit (ANCOVA or IPTW).

Observational: the comparison adjusts for the measured covariates only. Every result carries
:data:`OBSERVATIONAL_WARNING` and the E-value (how strong an unmeasured confounder would have to
be to explain the estimate away).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd.balance import balance_table, love_plot
from cpstem.outcomes.ipd.evalue import e_value_smd, e_value_smd_ci
from cpstem.outcomes.ipd.results import FrameResult, readonly_frame
from cpstem.outcomes.ipd.table import validate_table
from cpstem.outcomes.ipd.visits import visit_at

OBSERVATIONAL_WARNING = (
    "Observational evidence: treated children are compared with concurrent controls who were"
    " not randomised. The estimate is adjusted only for the covariates listed; unmeasured"
    " differences between the groups (motivation, rehabilitation intensity, selection for"
    " treatment) can bias it in either direction. It does not show that the cells caused the"
    " difference."
)

OUTCOMES = ("change", "gmfm66", "excess_anchored", "excess_population")
METHODS = ("ancova", "iptw")


@dataclass(frozen=True)
class TreatmentEffectResult(FrameResult):
    """Treated minus control difference in ``outcome`` at ``months``.

    ``estimate``, ``se`` (HC robust), ``ci_lower``/``ci_upper`` (Wald at ``level``), ``p_value``;
    ``smd`` the estimate over the pooled SD of the outcome, ``e_value`` / ``e_value_ci``
    (VanderWeele & Ding 2017). ``balance``: standardised differences before/after weighting.
    ``weights``: the stabilised IPT weights per child (IPTW only).
    """

    method: str
    outcome: str
    months: float
    window: str
    adjust: tuple[str, ...]
    level: float
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    p_value: float
    n_treated: int
    n_control: int
    smd: float
    e_value: float
    e_value_ci: float
    balance: pd.DataFrame
    weights: np.ndarray
    cov_type: str
    warning: str = OBSERVATIONAL_WARNING
    #: covariate columns left out: constant among the children analysed (e.g. GMFCS when one
    #: level is selected) or a linear combination of the group and the columns before them
    dropped: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "outcome": self.outcome,
                    "months": self.months,
                    "estimate": self.estimate,
                    "se": self.se,
                    "ci_lower": self.ci_lower,
                    "ci_upper": self.ci_upper,
                    "p_value": self.p_value,
                    "n_treated": self.n_treated,
                    "n_control": self.n_control,
                    "smd": self.smd,
                    "e_value": self.e_value,
                    "e_value_ci": self.e_value_ci,
                }
            ]
        )

    def love_plot(self) -> object:
        """The love plot of :attr:`balance` (a matplotlib Figure)."""
        return love_plot(self.balance)

    def summary(self) -> str:
        from cpstem.formatting import format_p

        name = {"ancova": "ANCOVA", "iptw": "IPTW (stabilised weights)"}[self.method]
        return "\n".join(
            [
                f"Treated vs concurrent controls, {self.outcome} at {self.window}: {name},"
                f" adjusted for {', '.join(self.adjust) or 'nothing'} ({self.cov_type} SEs)",
                f"  difference {self.estimate:.2f} (SE {self.se:.2f};"
                f" {self.level:.0%} CI {self.ci_lower:.2f} to {self.ci_upper:.2f};"
                f" p {format_p(self.p_value)}); n {self.n_treated} treated,"
                f" {self.n_control} controls",
                f"  E-value {self.e_value:.2f} (CI limit: {self.e_value_ci:.2f})",
                *(
                    [
                        f"  not adjusted for {', '.join(self.dropped)}: constant among these"
                        " children or determined by the group and the other covariates"
                    ]
                    if self.dropped
                    else []
                ),
                f"  {self.warning}",
            ]
        )


@dataclass(frozen=True)
class AnalysisRows:
    """One child per row at the target visit: outcome ``y``, ``treated`` (bool), covariates."""

    y: np.ndarray
    treated: np.ndarray
    covariates: np.ndarray  # (n, number of covariate columns)
    names: tuple[str, ...]  # covariate column names (text covariates as indicators)
    window: str
    dropped: tuple[str, ...] = ()  # columns left out as redundant (see :func:`_independent`)


def _covariates(rows: pd.DataFrame, adjust: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric covariates as they are; text ones (``site``, ``product``, a subtype) as 0/1
    indicators of every level but the first (missing stays missing)."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    for name in adjust:
        column = rows[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            cols.append(column.to_numpy(float))
            names.append(name)
            continue
        values = column.astype("object").where(column.notna(), None)
        levels = sorted({str(v) for v in values if v is not None and v != ""})
        for level in levels[1:]:
            ind = np.where(values.isna() | (values == ""), np.nan, (values == level).astype(float))
            cols.append(ind.astype(float))
            names.append(f"{name}[{level}]")
    if not cols:
        return np.empty((len(rows), 0)), names
    return np.column_stack(cols), names


def _independent(
    treated: np.ndarray, cov: np.ndarray, names: Sequence[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """The covariate columns that add information to the intercept, the group and the columns
    kept before them (numerical rank); the others are left out and named. The group difference
    is then estimable without a pseudo-inverse and the propensity model can be fitted."""
    base = np.column_stack([np.ones(len(treated)), treated.astype(float)])
    rank = int(np.linalg.matrix_rank(base))
    keep: list[int] = []
    dropped: list[str] = []
    for j, name in enumerate(names):
        trial = np.column_stack([base, cov[:, j]])
        if int(np.linalg.matrix_rank(trial)) > rank:
            base, rank = trial, rank + 1
            keep.append(j)
        else:
            dropped.append(name)
    return cov[:, keep], [names[j] for j in keep], dropped


def analysis_rows(
    table: pd.DataFrame, months: float, outcome: str, adjust: Sequence[str]
) -> AnalysisRows:
    """The children at ``months`` with a complete outcome, group and covariates."""
    if outcome not in OUTCOMES:
        raise OutcomeError(
            f"outcome {outcome!r}: allowed {', '.join(OUTCOMES)}",
            code="invalid_choice",
            field="outcome",
            params={"value": outcome},
        )
    source = ["gmfm66", "gmfm66_baseline"] if outcome == "change" else [outcome]
    data = validate_table(table, ["child", "group", "months", *source, *adjust])
    rows, win = visit_at(data, months)
    if outcome == "change":
        y = rows["gmfm66"].to_numpy(float) - rows["gmfm66_baseline"].to_numpy(float)
    else:
        y = rows[outcome].to_numpy(float)
    group = rows["group"].to_numpy(object)
    cov, names = _covariates(rows, adjust)
    keep = ~np.isnan(y) & pd.notna(group) & ~np.isnan(cov).any(axis=1)
    treated = group[keep] == "cells"
    n_t = int(treated.sum())
    n_c = int(len(treated) - n_t)
    if n_t < 2 or n_c < 2:
        raise OutcomeError(
            f"{n_t} treated and {n_c} control children at {win.label()}: at least 2 of each"
            " are needed",
            code="too_few_children",
            field="group",
            params={"n_treated": n_t, "n_control": n_c},
        )
    treated = treated.astype(bool)
    used, kept, dropped = _independent(treated, cov[keep], names)
    return AnalysisRows(y[keep], treated, used, tuple(kept), win.label(), tuple(dropped))


def treatment_effect(
    table: pd.DataFrame,
    months: float = 12,
    adjust: Sequence[str] = ("gmfm66_baseline", "age_baseline_years", "gmfcs"),
    method: Literal["ancova", "iptw"] = "ancova",
    *,
    outcome: str = "change",
    level: float = 0.95,
    cov_type: str = "HC3",
) -> TreatmentEffectResult:
    """Treated vs concurrent controls in ``outcome`` at each child's visit nearest ``months``.

    ``outcome``: ``change`` (GMFM-66 minus its baseline, default), ``gmfm66``, or an excess
    column. ``ancova``: OLS of the outcome on group and ``adjust`` with HC robust SEs
    (``cov_type``, default HC3). ``iptw``: logistic propensity score on ``adjust``, stabilised
    weights P(group) / P(group | covariates), weighted difference in means with a robust
    sandwich SE (HC0 of the weighted regression; it treats the weights as known, which is
    conservative for the average treatment effect). Numeric covariates enter linearly; text
    covariates (``site``, ``product``, a CP subtype column) as indicators of their levels.
    """
    if method not in METHODS:
        raise OutcomeError(
            f"method {method!r}: allowed 'ancova' or 'iptw'",
            code="invalid_choice",
            field="method",
            params={"value": method},
        )
    adjust = tuple(adjust)
    rows = analysis_rows(table, months, outcome, adjust)
    y = rows.y
    t = rows.treated.astype(float)
    cov = rows.covariates
    if method == "ancova":
        x = np.column_stack([np.ones(len(y)), t, cov])
        fit = sm.OLS(y, x).fit(cov_type=cov_type)
        weights = np.ones(len(y))
        balance = balance_table(rows.names, cov, rows.treated, None)
        used_cov = cov_type
    else:
        xp = np.column_stack([np.ones(len(y)), cov])
        try:
            ps = sm.Logit(t, xp).fit(disp=0, maxiter=200).predict(xp)
        except np.linalg.LinAlgError as exc:
            raise OutcomeError(
                "the propensity-score model could not be fitted (perfect separation?)",
                code="propensity_failed",
                field="adjust",
                params={"adjust": list(adjust)},
            ) from exc
        p_t = t.mean()
        weights = np.where(t == 1, p_t / ps, (1 - p_t) / (1 - ps))
        fit = sm.WLS(y, np.column_stack([np.ones(len(y)), t]), weights=weights).fit(cov_type="HC0")
        balance = balance_table(rows.names, cov, rows.treated, weights)
        used_cov = "HC0 sandwich"
    est = float(fit.params[1])
    se = float(fit.bse[1])
    z = float(sps.norm.ppf(0.5 + level / 2))
    lo, hi = est - z * se, est + z * se
    pooled_sd = float(
        np.sqrt(
            ((t == 1).sum() - 1) * np.var(y[t == 1], ddof=1)
            + ((t == 0).sum() - 1) * np.var(y[t == 0], ddof=1)
        )
        / np.sqrt(len(y) - 2)
    )
    smd = est / pooled_sd
    return TreatmentEffectResult(
        method=method,
        outcome=outcome,
        months=float(months),
        window=rows.window,
        adjust=adjust,
        level=level,
        estimate=est,
        se=se,
        ci_lower=lo,
        ci_upper=hi,
        p_value=float(2 * sps.norm.sf(abs(est / se))),
        n_treated=int(t.sum()),
        n_control=int(len(t) - t.sum()),
        smd=smd,
        e_value=e_value_smd(smd),
        e_value_ci=e_value_smd_ci(lo / pooled_sd, hi / pooled_sd),
        balance=readonly_frame(balance),
        weights=np.asarray(weights, dtype=float),
        cov_type=used_cov,
        dropped=rows.dropped,
    )
