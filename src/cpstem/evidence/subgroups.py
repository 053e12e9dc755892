"""Subgroup analysis: a model per subgroup and the test for subgroup differences.

As in metafor's worked example on subgrouping (and RevMan), each subgroup gets its own model
(own tau^2), and the subgroup estimates are compared with a Wald-type test, ``Q_between`` on
G - 1 df: the omnibus test of a fixed-effects meta-regression of the subgroup estimates on
the subgroup (``rma(est, sei = se, mods = ~ group, method = "FE")``). The alternative with a
common tau^2, the mixed-effects meta-regression ``rma(yi, vi, mods = ~ group)``, is reported
too (``mixed``: its ``qm``/``qm_pval`` is the moderator test; an F test with knha).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.evidence.design import outcomes
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.rma import COEF_FIGURES, HETEROGENEITY_FIGURES, RMAResult, rma
from cpstem.formatting import format_p
from cpstem.results import Result, frame_of, text_table

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SubgroupResult(Result):
    """Per-subgroup models, the overall model and the tests for subgroup differences.

    ``to_frame()``: one row per subgroup, columns ``subgroup, k, estimate, se, stat, pval,
    ci_lower, ci_upper, pi_lower, pi_upper, tau2, i2, h2, q, q_df, q_pval`` (each subgroup's own
    model). The overall model is ``overall``; the test for differences ``q_between*``.
    """

    levels: tuple[str, ...]
    fits: Mapping[str, RMAResult]
    overall: RMAResult
    q_between: float
    q_between_df: int
    q_between_pval: float
    mixed: RMAResult | None
    group_of: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup (see the class documentation for the columns)."""
        names = ("k", *COEF_FIGURES, "pi_lower", "pi_upper", *HETEROGENEITY_FIGURES)
        cols: dict[str, Any] = {"subgroup": list(self.levels)}
        for n in names:
            cols[n] = [getattr(self.fits[lv], n) for lv in self.levels]
        return frame_of(cols)

    def summary(self) -> str:
        ov = self.overall
        lines = [f"Subgroup analysis ({ov.method}, test {ov.test}; k = {ov.k})", ""]
        fits = [self.fits[lv] for lv in self.levels] + [ov]
        columns = [
            (title, width, spec, [getattr(f, name) for f in fits])
            for title, width, spec, name in (
                ("k", 4, "", "k"),
                ("estimate", 10, ".4f", "estimate"),
                ("ci.lb", 10, ".4f", "ci_lower"),
                ("ci.ub", 10, ".4f", "ci_upper"),
                ("tau2", 9, ".4f", "tau2"),
                ("I2", 8, ".2f", "i2"),
            )
        ]
        lines += text_table([*self.levels, "overall"], columns, 22, "subgroup")
        lines.append("")
        lines.append(
            f"Test for subgroup differences (separate tau^2): Q_between(df = "
            f"{self.q_between_df}) = {self.q_between:.4f}, "
            f"p {format_p(self.q_between_pval, 4, prefix=True)}"
        )
        if self.mixed is not None:
            m = self.mixed
            if m.test == "knha":
                stat = f"F({m.qm_df[0]}, {m.qm_df[1]:g}) = {m.qm:.4f}"
            else:
                stat = f"QM(df = {m.qm_df[0]}) = {m.qm:.4f}"
            lines.append(
                f"Mixed-effects model (common tau^2 = {m.tau2:.4f}): {stat}, "
                f"p {format_p(m.qm_pval, 4, prefix=True)}"
            )
        return "\n".join(lines)


def subgroup(
    yi: Any,
    vi: Any = None,
    groups: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    labels: Any = None,
    measure: str | None = None,
) -> SubgroupResult:
    """Fit the model in each subgroup and test for subgroup differences.

    ``yi``/``vi`` (or an :class:`~cpstem.evidence.EffectSizes` as ``yi``), ``groups``: one
    label per study (text or numbers; studies with a missing label are left out).
    """
    if hasattr(yi, "yi") and hasattr(yi, "vi") and vi is None:
        labels = labels if labels is not None else getattr(yi, "labels", None)
        measure = measure or getattr(yi, "measure", None)
        yi, vi = yi.yi, yi.vi
    if groups is None:
        raise EvidenceError(
            "give groups: one subgroup label per study", code="required", field="groups"
        )
    y, v = outcomes(yi, vi)
    g_raw = list(groups)
    if len(g_raw) != y.size:
        raise EvidenceError(
            f"{len(g_raw)} group labels for {y.size} studies",
            code="length_mismatch",
            field="groups",
            params={"given": len(g_raw), "expected": int(y.size)},
        )
    g = np.array(["" if x is None or x != x else str(x) for x in g_raw], dtype=object)
    lab = (
        np.array([str(x) for x in labels], dtype=object)
        if labels is not None
        else np.array([f"Study {i + 1}" for i in range(y.size)], dtype=object)
    )
    keep = (g != "") & ~np.isnan(y) & ~np.isnan(v)
    y, v, g, lab = y[keep], v[keep], g[keep], lab[keep]
    levels = tuple(sorted(set(g)))
    if len(levels) < 2:
        raise EvidenceError(
            f"subgroups {list(levels)}: need at least two subgroups to compare",
            code="too_few_subgroups",
            field="groups",
            params={"subgroups": list(levels)},
        )
    fits = {}
    for lv in levels:
        sel = g == lv
        try:
            fits[lv] = rma(
                y[sel],
                v[sel],
                method=method,
                test=test,
                level=level,
                labels=lab[sel],
                measure=measure,
            )
        except EvidenceError as err:
            raise EvidenceError(
                f"subgroup {lv!r}: {err}",
                code=err.code,
                field=err.field,
                params={**err.params, "subgroup": lv},
            ) from None
    est = np.array([fits[lv].estimate for lv in levels])
    se = np.array([fits[lv].se for lv in levels])
    dummies = np.column_stack([(np.array(levels) == lv).astype(float) for lv in levels[1:]])
    wald = rma(est, sei=se, mods=dummies, method="FE")
    overall = rma(y, v, method=method, test=test, level=level, labels=lab, measure=measure)
    mods = np.column_stack([(g == lv).astype(float) for lv in levels[1:]])
    try:
        mixed = rma(y, v, method=method, test=test, level=level, mods=mods, measure=measure)
    except EvidenceError:
        mixed = None
    return SubgroupResult(
        levels=levels,
        fits=fits,
        overall=overall,
        q_between=wald.qm,
        q_between_df=len(levels) - 1,
        q_between_pval=wald.qm_pval,
        mixed=mixed,
        group_of=tuple(g),
    )
