"""``mixed_model``: a linear mixed model of GMFM-66 over all visits, fitted as lme4 fits it.

One grouping factor (``groups``, default the child) with a random intercept and, optionally,
random slopes with an unstructured (correlated) covariance; fixed effects from a patsy formula.
Fitted by profiled REML or ML (:mod:`cpstem.outcomes.ipd.profiled`); results equal R lme4's
``lmer`` (see ``tests/outcomes/ipd/lme4``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
from scipy import stats as sps

from cpstem.outcomes.errors import OutcomeError
from cpstem.outcomes.ipd import profiled
from cpstem.outcomes.ipd.results import FrameResult, readonly_frame
from cpstem.outcomes.ipd.table import COLUMNS, GROUPS, validate_table

#: lme4's ``isSingular`` tolerance on the diagonal of the relative covariance factor
SINGULAR_TOL = 1e-4


@dataclass(frozen=True)
class MixedModelResult(FrameResult):
    """A fitted linear mixed model (immutable).

    ``fixed_effects``: term, estimate, se, t (Wald statistic), ci_lower, ci_upper (Wald, at
    ``level``). ``variance_components``: group, term, variance, sd, correlation (the row of a
    random slope carries its correlation with the intercept; ``Residual`` last).
    ``log_likelihood`` is the maximised (restricted) log-likelihood as lme4's ``logLik``;
    ``criterion`` the REML criterion or ML deviance (-2 logLik); AIC/BIC count the fixed
    effects, the covariance parameters and sigma.
    """

    formula: str
    method: str
    level: float
    fixed_effects: pd.DataFrame
    variance_components: pd.DataFrame
    random_effects: pd.DataFrame
    theta: np.ndarray
    sigma: float
    vcov: np.ndarray
    log_likelihood: float
    criterion: float
    aic: float
    bic: float
    n_obs: int
    n_groups: int
    singular: bool
    converged: bool
    convergence: str
    n_evaluations: int

    def to_frame(self) -> pd.DataFrame:
        """The fixed-effects table (a copy)."""
        return self.fixed_effects.copy()

    @property
    def coef(self) -> pd.Series:
        """Fixed-effect estimates by term."""
        return pd.Series(self.fixed_effects["estimate"].to_numpy(), index=self.fixed_effects.term)

    def summary(self) -> str:
        """A printed summary in the spirit of lme4's ``summary(lmer)``."""
        crit = "REML criterion" if self.method == "REML" else "deviance"
        lines = [
            f"Linear mixed model fit by {self.method}: {self.formula}",
            f"{crit} {self.criterion:.4f}   logLik {self.log_likelihood:.4f}"
            f"   AIC {self.aic:.4f}   BIC {self.bic:.4f}",
            f"{self.n_obs} observations, {self.n_groups} groups"
            + (
                "   (singular fit: a variance or correlation is on its boundary)"
                if self.singular
                else ""
            ),
            "",
            "Random effects:",
        ]
        vc = self.variance_components
        for _, row in vc.iterrows():
            corr = "" if pd.isna(row["correlation"]) else f"  corr {row['correlation']:.3f}"
            lines.append(
                f"  {row['group']:<10} {row['term']:<22} variance {row['variance']:.5g}"
                f"  sd {row['sd']:.5g}{corr}"
            )
        lines += ["", f"Fixed effects (Wald {self.level:.0%} CI):"]
        for _, row in self.fixed_effects.iterrows():
            lines.append(
                f"  {row['term']:<28} {row['estimate']:>11.5g}  se {row['se']:.4g}"
                f"  t {row['t']:>7.3f}  [{row['ci_lower']:.5g}, {row['ci_upper']:.5g}]"
            )
        lines += ["", f"Optimizer: {self.convergence} ({self.n_evaluations} evaluations)"]
        return "\n".join(lines)


def _design(
    table: pd.DataFrame, response: str, fixed: str, random: str, groups: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str], list[str], pd.Index]:
    """y, X, Z, group codes, fixed and random term names (complete rows only, like na.omit)."""
    try:
        y_df, x_df = patsy.dmatrices(
            f"Q('{response}') ~ {fixed}", table, return_type="dataframe", NA_action="drop"
        )
        z_df = patsy.dmatrix(random, table, return_type="dataframe", NA_action="drop")
    except patsy.PatsyError as exc:
        raise OutcomeError(
            f"the model formula could not be read: {exc}",
            code="invalid_formula",
            field="fixed",
            params={"fixed": fixed, "random": random},
        ) from exc
    keep = x_df.index.intersection(z_df.index).intersection(table.index[table[groups].notna()])
    x = x_df.loc[keep].to_numpy(float)
    z = z_df.loc[keep].to_numpy(float)
    y = y_df.loc[keep].to_numpy(float)[:, 0]
    codes, levels = pd.factorize(table.loc[keep, groups], sort=True)
    return y, x, z, codes, list(x_df.columns), list(z_df.columns), pd.Index(levels)


def _prepare(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Contract columns are validated; ``group`` gets ``control`` as the reference level."""
    contract = [n for n in names if n in COLUMNS]
    for name in names:
        if name not in table.columns:
            raise OutcomeError(
                f"the table has no column {name!r}",
                code="missing_column",
                field=name,
                params={"column": name},
            )
    out = validate_table(table, contract) if contract else table.copy()
    if "group" not in contract and "group" in out.columns:
        values = set(out["group"].dropna().unique())
        if values <= set(GROUPS):
            out["group"] = pd.Categorical(out["group"], categories=list(GROUPS))
    return out


def _variables(formula: str, table: pd.DataFrame) -> list[str]:
    """The table columns a formula mentions (to check and validate them up front)."""
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise OutcomeError(
            f"the model formula {formula!r} could not be read: {exc}",
            code="invalid_formula",
            field="fixed",
            params={"formula": formula},
        ) from exc
    tokens: set[str] = set()
    for term in desc.rhs_termlist + desc.lhs_termlist:
        for factor in term.factors:
            name = factor.name()
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in table.columns:
                raise OutcomeError(
                    f"the table has no column {name!r} (named in the formula {formula!r})",
                    code="missing_column",
                    field=name,
                    params={"column": name},
                )
            tokens |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", name))
    return [c for c in table.columns if c in tokens]


def mixed_model(
    table: pd.DataFrame,
    fixed: str = "months * group + age_baseline_years",
    random: str = "months",
    groups: str = "child",
    method: Literal["REML", "ML"] = "REML",
    *,
    response: str = "gmfm66",
    level: float = 0.95,
) -> MixedModelResult:
    """Fit ``response ~ fixed + (random | groups)`` by profiled REML or ML, as lme4's ``lmer``.

    ``fixed`` is a patsy formula for the fixed part (``"months * group + age_baseline_years"``;
    ``"y ~ x"`` with a left-hand side overrides ``response``). ``random`` is the random part
    for each level of ``groups``: ``"months"`` (intercept and slope, correlated), ``"1"``
    (intercept only) or ``"0 + months"`` (slope only). Rows with a missing value in any
    variable used are dropped (lme4's ``na.omit``). ``group`` (cells/control) is coded with
    ``control`` as the reference, so ``group[T.cells]`` is the treated-minus-control contrast.
    """
    if method not in ("REML", "ML"):
        raise OutcomeError(
            f"method {method!r}: allowed 'REML' or 'ML'",
            code="invalid_choice",
            field="method",
            params={"value": method},
        )
    if not 0 < level < 1:
        raise OutcomeError(
            f"level {level}: must be between 0 and 1",
            code="out_of_range",
            field="level",
            params={"value": level},
        )
    if "~" in fixed:
        lhs, fixed = fixed.split("~", 1)
        response = lhs.strip()
        fixed = fixed.strip()
    if not isinstance(table, pd.DataFrame):
        raise OutcomeError(
            "the table must be a pandas DataFrame",
            code="wrong_type",
            field=None,
            params={"type": type(table).__name__},
        )
    names = [
        response,
        groups,
        *_variables(f"~ {fixed}", table),
        *_variables(f"~ {random}", table),
    ]
    data = _prepare(table, list(dict.fromkeys(names)))
    y, x, z, codes, fixed_names, random_names, levels = _design(
        data, response, fixed, random, groups
    )
    n, p = x.shape
    q = z.shape[1]
    if n <= p:
        raise OutcomeError(
            f"{n} complete rows for {p} fixed effects: more rows are needed",
            code="too_few_rows",
            field=None,
            params={"n": n, "p": p},
        )
    if np.linalg.matrix_rank(x) < p:
        raise OutcomeError(
            "the fixed-effects design is rank deficient (a term is a combination of others)",
            code="rank_deficient",
            field="fixed",
            params={"terms": fixed_names},
        )
    if len(levels) < 2 or len(levels) >= n:
        raise OutcomeError(
            f"{len(levels)} levels of {groups!r} for {n} observations: the random effects"
            " are not identifiable",
            code="too_few_groups",
            field=groups,
            params={"n_groups": len(levels), "n": n},
        )
    reml = method == "REML"
    stats = profiled.block_stats(x, y, z, codes)
    opt = profiled.optimise(stats, reml)
    sol = profiled.solve(stats, opt.theta, reml, full=True)
    sigma2 = sol.pwrss / (n - p if reml else n)
    sigma = float(np.sqrt(sigma2))
    vcov = sigma2 * np.linalg.inv(sol.xtx_schur)
    se = np.sqrt(np.diag(vcov))
    zcrit = float(sps.norm.ppf(0.5 + level / 2))
    beta = sol.beta
    fixed_effects = pd.DataFrame(
        {
            "term": fixed_names,
            "estimate": beta,
            "se": se,
            "t": beta / se,
            "ci_lower": beta - zcrit * se,
            "ci_upper": beta + zcrit * se,
        }
    )
    t = sol.t
    cov = sigma2 * (t @ t.T)
    sds = np.sqrt(np.diag(cov))
    rows: list[dict[str, Any]] = []
    for k, name in enumerate(random_names):
        corr = np.nan
        if k > 0 and sds[0] > 0 and sds[k] > 0:
            corr = float(cov[k, 0] / (sds[0] * sds[k]))
        rows.append(
            {
                "group": groups,
                "term": name,
                "variance": cov[k, k],
                "sd": sds[k],
                "correlation": corr,
            }
        )
    rows.append(
        {"group": "Residual", "term": "", "variance": sigma2, "sd": sigma, "correlation": np.nan}
    )
    assert sol.u is not None
    b = sol.u @ t.T
    random_effects = pd.DataFrame(b, columns=random_names)
    random_effects.insert(0, groups, levels.astype(str))
    criterion = opt.deviance
    loglik = -criterion / 2
    df = p + len(opt.theta) + 1
    diag_rows, diag_cols = np.triu_indices(q)
    singular = bool(np.any(opt.theta[diag_rows == diag_cols] < SINGULAR_TOL))
    formula = f"{response} ~ {fixed} + ({random} | {groups})"
    return MixedModelResult(
        formula=formula,
        method=method,
        level=level,
        fixed_effects=readonly_frame(fixed_effects),
        variance_components=readonly_frame(pd.DataFrame(rows)),
        random_effects=readonly_frame(random_effects),
        theta=np.asarray(opt.theta, dtype=float),
        sigma=sigma,
        vcov=np.asarray(vcov, dtype=float),
        log_likelihood=float(loglik),
        criterion=float(criterion),
        aic=float(-2 * loglik + 2 * df),
        bic=float(-2 * loglik + np.log(n) * df),
        n_obs=int(n),
        n_groups=len(levels),
        singular=singular,
        converged=opt.converged,
        convergence=opt.message,
        n_evaluations=opt.n_evaluations,
    )
