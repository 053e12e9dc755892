"""Effect sizes and their sampling variances: metafor ``escalc`` semantics.

Measures: ``MD``, ``SMD`` (Hedges' g), ``SMCR``, ``ROM`` (means and SDs); ``OR``, ``RR``,
``RD``, ``PETO`` (2x2 tables); ``PR``, ``PLO``, ``PAS``, ``PFT`` (one proportion); ``ZCOR``
(correlation). Zero cells follow metafor's defaults: ``add=1/2`` to every cell of a table (or
both counts of a proportion) that has a zero (``to="only0"``), double-zero tables kept
(``drop00=False``); PAS and PFT add nothing unless ``add`` is given. Infinite or undefined
results become NaN (missing), as in metafor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd

MEASURES = {
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "ROM": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "SMCR": ("m1i", "m2i", "sd1i", "ni", "ri"),
    "OR": ("ai", "bi", "ci", "di"),
    "RR": ("ai", "bi", "ci", "di"),
    "RD": ("ai", "bi", "ci", "di"),
    "PETO": ("ai", "bi", "ci", "di"),
    "PR": ("xi", "ni"),
    "PLO": ("xi", "ni"),
    "PAS": ("xi", "ni"),
    "PFT": ("xi", "ni"),
    "ZCOR": ("ri", "ni"),
}
DESCRIPTION = {
    "MD": "mean difference",
    "SMD": "standardized mean difference (Hedges' g)",
    "ROM": "log ratio of means",
    "SMCR": "standardized mean change (raw-score standardization)",
    "OR": "log odds ratio",
    "RR": "log risk ratio",
    "RD": "risk difference",
    "PETO": "log odds ratio (Peto)",
    "PR": "proportion",
    "PLO": "logit proportion",
    "PAS": "arcsine square-root proportion",
    "PFT": "Freeman-Tukey double arcsine proportion",
    "ZCOR": "Fisher's z-transformed correlation",
}
_TO = ("only0", "all", "if0all", "none")
_Triple = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class EffectSizes(Result):
    """Effect sizes ``yi`` with sampling variances ``vi`` (NaN where not computable).

    ``to_frame()``: one row per study, columns ``study, yi, vi, sei`` and ``ni`` (total sample
    size, when known); ``to_frame(level=95)`` adds ``ci_lower, ci_upper``, each study's Wald
    interval ``yi -/+ z * sei`` (normal quantile at ``level``, as metafor's ``summary(escalc)``).
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...] | None = None
    ni: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.yi.size)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """One row per study: ``study, yi, vi, sei`` (and ``ni`` when known); with ``level``
        (95 or 0.95) also ``ci_lower, ci_upper``, the Wald interval ``yi -/+ z * sei``."""
        labels = self.labels or tuple(f"Study {i + 1}" for i in range(len(self)))
        sei = self.sei
        cols: dict[str, Any] = {
            "study": list(labels),
            "yi": self.yi,
            "vi": self.vi,
            "sei": sei,
        }
        if self.ni is not None:
            cols["ni"] = self.ni
        if level is not None:
            z = dist.crit_norm(dist.alpha_from_level(level))
            cols["ci_lower"] = self.yi - z * sei
            cols["ci_upper"] = self.yi + z * sei
        return frame_of(cols)

    def summary(self) -> str:
        lines = [f"{self.measure}: {DESCRIPTION[self.measure]} (k = {len(self)})"]
        labels = self.labels or tuple(f"Study {i + 1}" for i in range(len(self)))
        for lab, y, v in zip(labels, self.yi, self.vi, strict=True):
            lines.append(f"  {lab[:24]:<24} yi = {y:9.4f}  vi = {v:9.4f}")
        return "\n".join(lines)


def _cm(m: np.ndarray) -> np.ndarray:
    """Exact small-sample correction ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
    return np.where(m <= 1, np.nan, out)


def small_sample_correction(df: Any) -> np.ndarray:
    """Hedges' exact correction factor c(m) for ``df`` = n1 + n2 - 2 (g = c(m) * d)."""
    return _cm(np.asarray(df, dtype=float))


def _col(cols: Mapping[str, Any], name: str, k: int | None) -> np.ndarray:
    from cpstem.evidence.design import as_vector

    arr = as_vector(cols[name], name)
    if k is not None and arr.size != k:
        raise EvidenceError(
            f"{name} has {arr.size} values, expected {k} (one per study)",
            code="length_mismatch",
            field=name,
            params={"given": int(arr.size), "expected": k},
        )
    return arr


def effect_sizes(
    measure: str,
    *,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    labels: Any = None,
    **columns: Any,
) -> EffectSizes:
    """Compute effect sizes like metafor's ``escalc(measure, ...)``.

    Columns by measure: ``MD``/``SMD``/``ROM`` need ``m1i, sd1i, n1i, m2i, sd2i, n2i``;
    ``SMCR`` needs ``m1i`` (post), ``m2i`` (pre), ``sd1i`` (pre-treatment SD), ``ni``, ``ri``;
    ``OR``/``RR``/``RD``/``PETO`` need ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``;
    ``PR``/``PLO``/``PAS``/``PFT`` need ``xi`` and ``ni`` (or ``mi`` non-events); ``ZCOR``
    needs ``ri, ni``. ``vtype`` "LS" (default, large-sample) or "UB" (unbiased, SMD only).
    """
    m = str(measure).upper()
    if m not in MEASURES:
        raise EvidenceError(
            f"measure {measure!r}: allowed {', '.join(MEASURES)}",
            code="invalid_choice",
            field="measure",
            params={"value": measure, "allowed": list(MEASURES)},
        )
    if to not in _TO:
        raise EvidenceError(
            f"to={to!r}: allowed {', '.join(_TO)}",
            code="invalid_choice",
            field="to",
            params={"value": to, "allowed": list(_TO)},
        )
    if vtype not in ("LS", "UB"):
        raise EvidenceError(
            f"vtype={vtype!r}: allowed 'LS' or 'UB'",
            code="invalid_choice",
            field="vtype",
            params={"value": vtype},
        )
    if vtype == "UB" and m != "SMD":
        raise EvidenceError(
            "vtype='UB' is available for SMD only",
            code="not_allowed",
            field="vtype",
            params={"value": vtype, "measure": m},
        )
    if m in ("PAS", "PFT") and add is None:
        add = 0.0
    add = 0.5 if add is None else float(add)
    known = {
        "ai",
        "bi",
        "ci",
        "di",
        "n1i",
        "n2i",
        "m1i",
        "m2i",
        "sd1i",
        "sd2i",
        "xi",
        "mi",
        "ni",
        "ri",
    }
    unknown = sorted(set(columns) - known)
    if unknown:
        raise EvidenceError(
            f"unknown column(s) {unknown} for effect_sizes",
            code="not_allowed",
            field=unknown[0],
            params={"columns": unknown},
        )
    if m in ("OR", "RR", "RD", "PETO"):
        yi, vi, ni = _two_by_two(m, columns, add, to, drop00)
    elif m in ("PR", "PLO", "PAS", "PFT"):
        yi, vi, ni = _proportion(m, columns, add, to)
    elif m in ("MD", "SMD", "ROM"):
        yi, vi, ni = _two_means(m, columns, vtype)
    elif m == "SMCR":
        yi, vi, ni = _smcr(columns)
    else:
        yi, vi, ni = _zcor(columns)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(yi) | ~np.isfinite(vi) | (vi < 0)
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad, np.nan, vi)
    lab = None
    if labels is not None:
        lab = tuple(str(x) for x in labels)
        if len(lab) != yi.size:
            raise EvidenceError(
                f"{len(lab)} labels for {yi.size} studies",
                code="length_mismatch",
                field="labels",
                params={"given": len(lab), "expected": int(yi.size)},
            )
    return EffectSizes(m, yi, vi, lab, ni)


def _need(columns: Mapping[str, Any], names: tuple[str, ...], measure: str) -> None:
    missing = [n for n in names if n not in columns]
    if missing:
        raise EvidenceError(
            f"measure {measure} needs column(s) {', '.join(missing)} (give {', '.join(names)})",
            code="required",
            field=missing[0],
            params={"missing": missing, "measure": measure},
        )


def _nonneg(arr: np.ndarray, name: str, what: str = "count") -> None:
    bad = np.flatnonzero(arr < 0)
    if bad.size:
        raise EvidenceError(
            f"{name}[{bad[0]}] = {arr[bad[0]]:g}: a {what} cannot be negative",
            code="out_of_range",
            field=name,
            params={"index": int(bad[0]), "value": float(arr[bad[0]])},
        )


def _two_by_two(m: str, columns: Mapping[str, Any], add: float, to: str, drop00: bool) -> _Triple:
    if "bi" not in columns and "n1i" in columns:
        _need(columns, ("ai", "n1i", "ci", "n2i"), m)
        ai = _col(columns, "ai", None)
        n1, ci, n2 = (_col(columns, c, ai.size) for c in ("n1i", "ci", "n2i"))
        bi, di = n1 - ai, n2 - ci
        for name, cnt, tot in (("ai", ai, n1), ("ci", ci, n2)):
            over = np.flatnonzero(cnt > tot)
            if over.size:
                raise EvidenceError(
                    f"{name}[{over[0]}] = {cnt[over[0]]:g} events in a group of "
                    f"{tot[over[0]]:g}: events cannot exceed the group size",
                    code="out_of_range",
                    field=name,
                    params={"index": int(over[0]), "value": float(cnt[over[0]])},
                )
    else:
        _need(columns, ("ai", "bi", "ci", "di"), m)
        ai = _col(columns, "ai", None)
        bi, ci, di = (_col(columns, c, ai.size) for c in ("bi", "ci", "di"))
    for name, arr in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di)):
        _nonneg(arr, name)
    ai, bi, ci, di = (a.astype(float).copy() for a in (ai, bi, ci, di))
    if drop00:
        both = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        for a in (ai, bi, ci, di):
            a[both] = np.nan
    if to == "all":
        ai, bi, ci, di = ai + add, bi + add, ci + add, di + add
    elif to in ("only0", "if0all"):
        zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
        if to == "if0all":
            zero = np.full(ai.shape, bool(zero.any()))
        ai, bi, ci, di = (np.where(zero, a + add, a) for a in (ai, bi, ci, di))
    n1, n2 = ai + bi, ci + di
    n = n1 + n2
    with np.errstate(all="ignore"):
        p1, p2 = ai / n1, ci / n2
        if m == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
        elif m == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        elif m == "RD":
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:  # PETO
            xt, yt = ai + ci, bi + di
            ei = xt * n1 / n
            var = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
            yi = (ai - ei) / var
            vi = 1 / var
    return yi, vi, n


def _proportion(m: str, columns: Mapping[str, Any], add: float, to: str) -> _Triple:
    if "ni" not in columns and "mi" in columns:
        xi = _col(columns, "xi", None)
        mi = _col(columns, "mi", xi.size)
    else:
        _need(columns, ("xi", "ni"), m)
        xi = _col(columns, "xi", None)
        mi = _col(columns, "ni", xi.size) - xi
    _nonneg(xi, "xi")
    bad = np.flatnonzero(mi < 0)
    if bad.size:
        raise EvidenceError(
            f"xi[{bad[0]}] = {xi[bad[0]]:g}: more events than the sample size",
            code="out_of_range",
            field="xi",
            params={"index": int(bad[0]), "value": float(xi[bad[0]])},
        )
    xi, mi = xi.astype(float), mi.astype(float)
    if to == "all":
        xi, mi = xi + add, mi + add
    elif to in ("only0", "if0all"):
        zero = (xi == 0) | (mi == 0)
        if to == "if0all":
            zero = np.full(xi.shape, bool(zero.any()))
        xi, mi = np.where(zero, xi + add, xi), np.where(zero, mi + add, mi)
    ni = xi + mi
    with np.errstate(all="ignore"):
        pr = xi / ni
        if m == "PR":
            return pr, pr * (1 - pr) / ni, ni
        if m == "PLO":
            return np.log(pr / (1 - pr)), 1 / xi + 1 / mi, ni
        if m == "PAS":
            return np.arcsin(np.sqrt(pr)), 1 / (4 * ni), ni
        yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
        return yi, 1 / (4 * ni + 2), ni


def _two_means(m: str, columns: Mapping[str, Any], vtype: str) -> _Triple:
    _need(columns, MEASURES[m], m)
    m1 = _col(columns, "m1i", None)
    sd1, n1, m2, sd2, n2 = (
        _col(columns, c, m1.size) for c in ("sd1i", "n1i", "m2i", "sd2i", "n2i")
    )
    _nonneg(sd1, "sd1i", "standard deviation")
    _nonneg(sd2, "sd2i", "standard deviation")
    for name, arr in (("n1i", n1), ("n2i", n2)):
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            raise EvidenceError(
                f"{name}[{bad[0]}] = {arr[bad[0]]:g}: a group size must be > 0",
                code="out_of_range",
                field=name,
                params={"index": int(bad[0]), "value": float(arr[bad[0]])},
            )
    ni = n1 + n2
    with np.errstate(all="ignore"):
        if m == "MD":
            return m1 - m2, sd1**2 / n1 + sd2**2 / n2, ni
        if m == "ROM":
            return np.log(m1 / m2), sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2), ni
        mi = ni - 2
        sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / mi)
        cmi = _cm(mi)
        yi = cmi * (m1 - m2) / sdp
        if vtype == "UB":
            vi = 1 / n1 + 1 / n2 + (1 - (mi - 2) / (mi * cmi**2)) * yi**2
        else:
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * ni)
    return yi, vi, ni


def _smcr(columns: Mapping[str, Any]) -> _Triple:
    _need(columns, MEASURES["SMCR"], "SMCR")
    m1 = _col(columns, "m1i", None)
    m2, sd1, ni, ri = (_col(columns, c, m1.size) for c in ("m2i", "sd1i", "ni", "ri"))
    _nonneg(sd1, "sd1i", "standard deviation")
    _check_r(ri)
    with np.errstate(all="ignore"):
        cmi = _cm(ni - 1)
        yi = cmi * (m1 - m2) / sd1
        vi = 2 * (1 - ri) / ni + yi**2 / (2 * ni)
    return yi, vi, ni


def _check_r(ri: np.ndarray) -> None:
    bad = np.flatnonzero(np.abs(ri) > 1)
    if bad.size:
        raise EvidenceError(
            f"ri[{bad[0]}] = {ri[bad[0]]:g}: a correlation lies in [-1, 1]",
            code="out_of_range",
            field="ri",
            params={"index": int(bad[0]), "value": float(ri[bad[0]])},
        )


def _zcor(columns: Mapping[str, Any]) -> _Triple:
    _need(columns, ("ri", "ni"), "ZCOR")
    ri = _col(columns, "ri", None)
    ni = _col(columns, "ni", ri.size)
    _check_r(ri)
    with np.errstate(all="ignore"):
        yi = 0.5 * np.log((1 + ri) / (1 - ri))
        vi = np.where(ni <= 3, np.nan, 1 / (ni - 3))
    return yi, vi, ni
