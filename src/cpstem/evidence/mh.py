"""Mantel-Haenszel (``rma_mh``) and Peto (``rma_peto``) fixed-effect methods for 2x2 tables.

Both pool the raw counts (no continuity correction), so they suit sparse outcomes such as
serious adverse events; as in metafor's ``rma.mh``/``rma.peto``, the heterogeneity test uses
the study log odds ratios (risk ratios, differences) with 1/2 added to tables with a zero and
double-zero tables dropped. Formulas: Mantel & Haenszel 1959; Robins, Breslow & Greenland 1986
(variance of the MH log OR); Greenland & Robins 1985 (RR, RD); Breslow-Day test with Tarone's
correction; Yusuf et al. 1985 (Peto).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.escalc import effect_sizes
from cpstem.formatting import format_p
from cpstem.results import Result


@dataclass(frozen=True)
class PooledTables(Result):
    """Result of :func:`rma_mh` or :func:`rma_peto` (estimate on the log scale for OR/RR).

    ``tests``: the Cochran-Mantel-Haenszel, Breslow-Day and Tarone statistics and p values (MH
    odds ratio). ``to_frame()``: one row, columns ``method, measure, level, k, k_yi, estimate,
    se, stat, pval, ci_lower, ci_upper, q, q_pval, i2, h2``.
    """

    method: str
    measure: str
    level: float
    k: int
    k_yi: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lower: float
    ci_upper: float
    q: float
    q_pval: float
    i2: float
    h2: float
    tests: Mapping[str, float]

    @property
    def ratio(self) -> bool:
        return self.measure in ("OR", "RR", "PETO")

    def exp(self) -> tuple[float, float, float]:
        """Estimate and CI back-transformed (odds or risk ratio)."""
        if not self.ratio:
            raise EvidenceError(
                f"measure {self.measure} is not on the log scale",
                code="not_applicable",
                field="measure",
                params={"measure": self.measure},
            )
        return (
            float(np.exp(self.estimate)),
            float(np.exp(self.ci_lower)),
            float(np.exp(self.ci_upper)),
        )

    def summary(self) -> str:
        name = "Mantel-Haenszel" if self.method == "MH" else "Peto"
        lines = [f"Fixed-effect model, {name} method (k = {self.k}, measure {self.measure})", ""]
        lines.append(
            f"I^2: {self.i2:.2f}%   H^2: {self.h2:.2f}   "
            f"Q(df = {max(self.k_yi - 1, 0)}) = {self.q:.4f}, "
            f"p {format_p(self.q_pval, 4, prefix=True)}"
        )
        lv = self.level
        lines.append(
            f"estimate {self.estimate:.4f} (SE {self.se:.4f}), z = {self.stat:.4f}, "
            f"p {format_p(self.pval, 4, prefix=True)}, "
            f"{lv:g}% CI {self.ci_lower:.4f} to {self.ci_upper:.4f}"
        )
        if self.ratio and np.isfinite(self.estimate):
            est, lo, hi = self.exp()
            label = "risk ratio" if self.measure == "RR" else "odds ratio"
            lines.append(f"{label}: {est:.4f} ({lv:g}% CI {lo:.4f} to {hi:.4f})")
        for key, val in self.tests.items():
            lines.append(f"{key}: {format_p(val) if key.endswith(' p') else f'{val:.4f}'}")
        return "\n".join(lines)


def _heterogeneity(
    yi: np.ndarray, vi: np.ndarray, beta: float
) -> tuple[float, float, float, float, int]:
    keep = ~(np.isnan(yi) | np.isnan(vi))
    yi, vi = yi[keep], vi[keep]
    k = yi.size
    if k > 1:
        q = max(0.0, float(np.sum((yi - beta) ** 2 / vi)))
        with np.errstate(all="ignore"):
            i2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else float("nan")
        return q, float(dist.chisq_sf(q, k - 1)), i2, q / (k - 1), k
    return 0.0, 1.0, 0.0, 1.0, k


def rma_mh(
    measure: str = "OR",
    *,
    level: float = 95,
    correct: bool = True,
    add: float = 0.5,
    **columns: Any,
) -> PooledTables:
    """Mantel-Haenszel pooled OR, RR or RD from ``ai, bi, ci, di`` (or ``ai, n1i, ci, n2i``).

    For OR also the Cochran-Mantel-Haenszel test (``correct`` continuity correction) and the
    Breslow-Day test with Tarone's correction for homogeneity.
    """
    m = str(measure).upper()
    if m not in ("OR", "RR", "RD"):
        raise EvidenceError(
            f"measure {measure!r}: Mantel-Haenszel pools OR, RR or RD",
            code="invalid_choice",
            field="measure",
            params={"value": measure, "allowed": ["OR", "RR", "RD"]},
        )
    alpha = dist.alpha_from_level(level)
    es = effect_sizes(m, add=add, drop00=True, **columns)
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in _counts(columns))
    keep = ~(np.isnan(ai) | np.isnan(bi) | np.isnan(ci) | np.isnan(di))
    ai, bi, ci, di = ai[keep], bi[keep], ci[keep], di[keep]
    k = int(ai.size)
    if k == 0:
        raise EvidenceError("no complete 2x2 table", code="too_few_studies", params={"k": 0})
    n1, n2 = ai + bi, ci + di
    n = n1 + n2
    z = dist.crit_norm(alpha)
    tests: dict[str, float] = {}
    nan = float("nan")
    with np.errstate(all="ignore"):
        if m == "OR":
            P, Q = ai / n + di / n, bi / n + ci / n
            R, S = (ai / n) * di, (bi / n) * ci
            r, s = float(R.sum()), float(S.sum())
            if r == 0 or s == 0:
                beta = se = nan
            else:
                beta = float(np.log(r / s))
                se = float(
                    np.sqrt(
                        0.5
                        * (
                            np.sum(P * R) / r**2
                            + np.sum(P * S + Q * R) / (r * s)
                            + np.sum(Q * S) / s**2
                        )
                    )
                )
            xt, yt = ai + ci, bi + di
            if xt.sum() > 0 and yt.sum() > 0:
                num = (abs(float(np.sum(ai - (n1 / n) * xt))) - (0.5 if correct else 0.0)) ** 2
                cmh = num / float(np.sum((n1 / n) * (n2 / n) * (xt * (yt / (n - 1)))))
                tests["CMH"] = cmh
                tests["CMH p"] = float(dist.chisq_sf(cmh, 1))
            if np.isfinite(beta):
                tests.update(_breslow_day(ai, n1, n2, xt, yt, n, float(np.exp(beta))))
        elif m == "RR":
            R, S = float(np.sum(ai * (n2 / n))), float(np.sum(ci * (n1 / n)))
            if ai.sum() == 0 or ci.sum() == 0:
                beta = se = nan
            else:
                beta = float(np.log(R / S))
                se = float(
                    np.sqrt(np.sum((n1 / n) * (n2 / n) * (ai + ci) - (ai / n) * ci) / (R * S))
                )
        else:
            den = float(np.sum(n1 * (n2 / n)))
            beta = float(np.sum(ai * (n2 / n) - ci * (n1 / n)) / den)
            se = float(
                np.sqrt(
                    (
                        beta
                        * np.sum(
                            ci * (n1 / n) ** 2
                            - ai * (n2 / n) ** 2
                            + (n1 / n) * (n2 / n) * (n2 - n1) / 2
                        )
                        + np.sum(ai * (n2 - ci) / n + ci * (n1 - ai) / n) / 2
                    )
                    / den**2
                )
            )
    q, qp, i2, h2, k_yi = _heterogeneity(es.yi, es.vi, beta)
    return _pooled("MH", m, level, k, k_yi, beta, se, z, (q, qp, i2, h2), tests)


def _pooled(
    method: str,
    measure: str,
    level: float,
    k: int,
    k_yi: int,
    beta: float,
    se: float,
    z: float,
    het: tuple[float, float, float, float],
    tests: Mapping[str, float],
) -> PooledTables:
    with np.errstate(all="ignore"):
        stat = float(beta / se)
    q, q_pval, i2, h2 = het
    return PooledTables(
        method,
        measure,
        float(level),
        k,
        k_yi,
        beta,
        se,
        stat,
        float(dist.two_sided_p_norm(stat)),
        beta - z * se,
        beta + z * se,
        q,
        q_pval,
        i2,
        h2,
        tests,
    )


def _breslow_day(
    ai: np.ndarray,
    n1: np.ndarray,
    n2: np.ndarray,
    xt: np.ndarray,
    yt: np.ndarray,
    n: np.ndarray,
    psi: float,
) -> dict[str, float]:
    if psi == 1.0:
        n11 = (n1 / n) * xt
    else:
        a = psi * (n1 + xt) + (n2 - xt)
        b = np.sqrt(a**2 - 4 * n1 * xt * psi * (psi - 1))
        n11 = (a - b) / (2 * (psi - 1))
    pos = (n11 > 0) & (xt > 0) & (yt > 0)
    kp = int(pos.sum())
    n11 = n11[pos]
    n12 = n1[pos] - n11
    n21 = xt[pos] - n11
    n22 = n11 - n1[pos] - xt[pos] + n[pos]
    inv = (1 / n11 + 1 / n12 + 1 / n21 + 1 / n22) ** -1
    bd = max(0.0, float(np.sum((ai[pos] - n11) ** 2 / inv)))
    ta = max(0.0, bd - float(np.sum(ai[pos] - n11)) ** 2 / float(np.sum(inv)))
    out = {"Breslow-Day": bd, "Tarone": ta}
    if kp > 1:
        out["Breslow-Day p"] = float(dist.chisq_sf(bd, kp - 1))
        out["Tarone p"] = float(dist.chisq_sf(ta, kp - 1))
    return out


def _counts(columns: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from cpstem.evidence.design import as_vector

    if "bi" not in columns and "n1i" in columns:
        a, c = as_vector(columns["ai"], "ai"), as_vector(columns["ci"], "ci")
        return a, as_vector(columns["n1i"], "n1i") - a, c, as_vector(columns["n2i"], "n2i") - c
    missing = [c for c in ("ai", "bi", "ci", "di") if c not in columns]
    if missing:
        raise EvidenceError(
            f"give ai, bi, ci, di (or ai, n1i, ci, n2i); missing {missing}",
            code="required",
            field=missing[0],
            params={"missing": missing},
        )
    a, b, c, d = (as_vector(columns[c], c) for c in ("ai", "bi", "ci", "di"))
    return a, b, c, d


def rma_peto(*, level: float = 95, add: float = 0.5, **columns: Any) -> PooledTables:
    """Peto's one-step log odds ratio from ``ai, bi, ci, di`` (or ``ai, n1i, ci, n2i``)."""
    alpha = dist.alpha_from_level(level)
    es = effect_sizes("PETO", add=add, drop00=True, **columns)
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in _counts(columns))
    keep = ~(np.isnan(ai) | np.isnan(bi) | np.isnan(ci) | np.isnan(di))
    ai, bi, ci, di = ai[keep], bi[keep], ci[keep], di[keep]
    k = int(ai.size)
    n1, n2 = ai + bi, ci + di
    n = n1 + n2
    xt, yt = ai + ci, bi + di
    with np.errstate(all="ignore"):
        ei = xt * n1 / n
        vi = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
    svi = float(np.nansum(vi))
    if svi == 0:
        raise EvidenceError(
            "the outcome never occurred (or always occurred) in every table: Peto's method "
            "cannot be used",
            code="not_applicable",
            field="ai",
        )
    beta = float(np.sum(ai - ei) / svi)
    se = float(np.sqrt(1 / svi))
    z = dist.crit_norm(alpha)
    pos = vi > 0
    q = max(0.0, float(np.sum((ai - ei)[pos] ** 2 / vi[pos]) - np.sum(ai - ei) ** 2 / svi))
    k_yi = int(np.sum(~np.isnan(es.yi)))
    if int(pos.sum()) > 1:
        qp = float(dist.chisq_sf(q, k_yi - 1))
        with np.errstate(all="ignore"):
            i2 = max(0.0, 100 * (q - (k_yi - 1)) / q) if q > 0 else float("nan")
        h2 = q / (k_yi - 1)
    else:
        qp, i2, h2 = 1.0, 0.0, 1.0
    return _pooled("PETO", "PETO", level, k, k_yi, beta, se, z, (q, qp, i2, h2), {})
