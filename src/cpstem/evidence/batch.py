"""``rma_batch``: thousands of intercept-only meta-analyses at once, vectorised with NumPy.

Each row of ``Y``/``V`` is one meta-analysis (NaN = study missing in that row). The estimators
and inference are the ones :func:`cpstem.evidence.rma` uses, run on all rows together, so every
row equals ``rma(Y[i], V[i], ...)``. Rows that cannot be fitted (no study, a variance 0 where
the estimator needs positive ones) get NaN and a ``status`` code instead of an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.estimators import (
    STATUS_TEXT,
    Control,
    Rows,
    Tau2Fit,
    dot_rows,
    estimate,
    rsum,
)
from cpstem.evidence.inference import figures, finish
from cpstem.evidence.rma import COEF_FIGURES, check_method_test
from cpstem.results import Result, frame_of, sealed

if TYPE_CHECKING:
    import pandas as pd

_PER_ROW = (
    "k",
    *COEF_FIGURES,
    "tau2",
    "se_tau2",
    "i2",
    "h2",
    "q",
    "q_pval",
    "qm",
    "qm_pval",
    "pi_lower",
    "pi_upper",
    "df",
    "status",
)

#: The per-row figures the inference step returns under the same name (the rest are the
#: estimator's ``tau2``/``se_tau2``/``status``, the counts ``k`` and ``estimate`` = ``beta``).
_FROM_INFERENCE = tuple(
    n
    for n in _PER_ROW
    if n not in ("k", "estimate", "tau2", "se_tau2", "status", "pval", "qm_pval")
)


class _PValues:
    """``pval`` and ``qm_pval`` of a batch: given, or (t tests) computed on first use."""

    __slots__ = ("values",)

    def __init__(self, pval: np.ndarray | None = None, qm_pval: np.ndarray | None = None):
        self.values = None if pval is None or qm_pval is None else (pval, qm_pval)

    def get(self, res: BatchResult) -> tuple[np.ndarray, np.ndarray]:
        if self.values is None:
            with np.errstate(invalid="ignore"):
                pval = np.asarray(dist.two_sided_p_t(res.stat, res.df), dtype=float)
                qm_pval = np.where(np.isnan(res.qm), np.nan, pval)
            self.values = (sealed(pval), sealed(qm_pval))
        return self.values


@dataclass(frozen=True)
class BatchResult(Result):
    """Per-row figures of :func:`rma_batch` (arrays of length n), named as in ``RMAResult``.

    ``to_frame()``: one row per meta-analysis (index = row of ``Y``), columns ``k, estimate,
    se, stat, pval, ci_lower, ci_upper, tau2, se_tau2, i2, h2, q, q_pval, qm, qm_pval,
    pi_lower, pi_upper, df, status``.
    """

    method: str
    test: str
    level: float
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    qm: np.ndarray
    pi_lower: np.ndarray
    pi_upper: np.ndarray
    df: np.ndarray
    status: np.ndarray
    _pvalues: _PValues = field(default_factory=_PValues, repr=False, compare=False)

    _dict_properties = ("pval", "qm_pval")

    @property
    def pval(self) -> np.ndarray:
        """Two-sided p value of the estimate (a t test's on first use: the slowest figure)."""
        return self._pvalues.get(self)[0]

    @property
    def qm_pval(self) -> np.ndarray:
        """p value of the omnibus test QM (equal to ``pval`` for one coefficient)."""
        return self._pvalues.get(self)[1]

    def _dict_items(self) -> dict[str, Any]:
        out = super()._dict_items()
        out.pop("_pvalues", None)
        return out

    def __len__(self) -> int:
        return int(self.k.size)

    @property
    def ok(self) -> np.ndarray:
        """Rows with a result (fitted directly or by the fall-back optimizer)."""
        return self.status <= 1

    def messages(self) -> dict[int, str]:
        """Status text of every row that is not plainly ok."""
        return {int(i): STATUS_TEXT[int(s)] for i, s in enumerate(self.status) if s != 0}

    def summary(self) -> str:
        n = len(self)
        fb = int(np.sum(self.status == 1))
        bad = int(np.sum(~self.ok))
        est = self.estimate[self.ok]
        lines = [
            f"{n} meta-analyses ({self.method}, test {self.test}); k from "
            f"{int(self.k.min())} to {int(self.k.max())}",
            f"  fitted: {n - bad}" + (f" ({fb} by the fall-back optimizer)" if fb else ""),
        ]
        if bad:
            lines.append(f"  not fitted: {bad} (see .messages())")
        if est.size:
            lines.append(
                f"  estimate: median {np.median(est):.4f}, range {est.min():.4f} to "
                f"{est.max():.4f}; tau^2 median {np.median(self.tau2[self.ok]):.4f}"
            )
        return "\n".join(lines)

    def row(self, i: int) -> dict[str, float]:
        """Figures of one row as a dict."""
        return {name: getattr(self, name)[i].item() for name in _PER_ROW}

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis (see the class documentation for the columns)."""
        return frame_of({name: getattr(self, name) for name in _PER_ROW})


def rma_batch(
    Y: Any,
    V: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    control: Control | Mapping[str, Any] | None = None,
) -> BatchResult:
    """Fit one intercept-only model per row of ``Y`` (effect sizes) and ``V`` (variances).

    ``Y`` and ``V`` are ``(n, k)`` arrays; NaN in either marks a missing study. Methods and
    tests as :func:`~cpstem.evidence.rma`.
    """
    method, test = check_method_test(method, test)
    alpha = dist.alpha_from_level(level)
    ctrl = Control.of(control)
    try:
        # no copy of a float array: nothing below writes to y or v
        y = np.asarray(Y, dtype=float)
        v = np.asarray(V, dtype=float)
    except (TypeError, ValueError):
        raise EvidenceError(
            "Y and V must be numeric arrays (NaN for missing studies)", code="not_a_number"
        ) from None
    if y.ndim < 2:
        y, v = np.atleast_2d(y), np.atleast_2d(v)
    if y.ndim != 2 or y.shape != v.shape:
        raise EvidenceError(
            f"Y {y.shape} and V {v.shape} must be 2-D arrays of the same shape",
            code="length_mismatch",
            params={"y_shape": list(y.shape), "v_shape": list(v.shape)},
        )
    if np.isinf(y).any() or np.isinf(v).any():
        raise EvidenceError(
            "Y and V must be finite (use NaN for a missing study)", code="not_finite"
        )
    with np.errstate(invalid="ignore"):
        neg_any = bool((v < 0).any())
    if neg_any:
        with np.errstate(invalid="ignore"):
            i, j = np.argwhere(v < 0)[0]
        raise EvidenceError(
            f"V[{i}, {j}] = {v[i, j]:g}: a sampling variance cannot be negative",
            code="out_of_range",
            field="V",
            params={"row": int(i), "column": int(j), "value": float(v[i, j])},
        )
    mask = ~(np.isnan(y) | np.isnan(v))
    if method in CLOSED_FORM and y.shape[1] >= 2 and mask.all() and bool((v > 0).all()):
        out, tau2_, se_tau2_ = _closed_form(y, v, method, test, alpha)
        n = y.shape[0]
        est = Tau2Fit(tau2_, se_tau2_, np.zeros(n, dtype=int), np.zeros(n, dtype=int))
        rows_k = np.full(n, y.shape[1])
    else:
        rows = Rows(y, v, mask)
        est = estimate(rows, method, ctrl)
        out = finish(rows, est.tau2, method, test, alpha, loglik=False, t_pvalues=False)
        rows_k = rows.k
    bad = est.status > 1
    if bad.any():
        res = {key: None if val is None else np.where(bad, np.nan, val) for key, val in out.items()}
        tau2, se_tau2 = np.where(bad, np.nan, est.tau2), np.where(bad, np.nan, est.se_tau2)
    else:  # every row fitted: the arrays are kept as they are (each is new and unshared)
        res, tau2, se_tau2 = dict(out), est.tau2, est.se_tau2
    pvalues = _PValues(res.pop("pval"), res.pop("qm_pval"))
    res = {key: sealed(val) for key, val in res.items()}
    if pvalues.values is not None:
        pvalues.values = (sealed(pvalues.values[0]), sealed(pvalues.values[1]))
    return BatchResult(
        method=method,
        test=test,
        level=float(level),
        k=sealed(rows_k.copy()),
        estimate=res["beta"],
        tau2=sealed(tau2),
        se_tau2=sealed(se_tau2),
        status=sealed(est.status.copy()),
        _pvalues=pvalues,
        **{name: res[name] for name in _FROM_INFERENCE},
    )


#: Estimators with a closed form: complete rows with positive variances take the blocked path.
CLOSED_FORM = frozenset({"FE", "DL", "HS", "HE"})
#: Elements of the two work arrays of one block (256 KiB each: in cache, reused block by block).
_BLOCK_ELEMENTS = 32_768


def _closed_form(
    y: np.ndarray, v: np.ndarray, method: str, test: str, alpha: float
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """FE/DL/HS/HE on complete rows (k >= 2, all variances > 0), block by block.

    The same formulas as the general path (:mod:`cpstem.evidence.estimators` and
    :func:`cpstem.evidence.inference.finish`), computed in blocks of rows in two reused work
    arrays: no (n, k) temporary is allocated, so the cost is a few passes over ``y`` and ``v``
    (large fresh arrays cost page faults, often more than the arithmetic). Returns the figures,
    tau^2 and its standard error.
    """
    n, k = y.shape
    knha = test == "knha"
    df = float(k - 1)
    block = max(1, _BLOCK_ELEMENTS // k)
    work_w = np.empty((min(block, n), k))
    work_e = np.empty((min(block, n), k))
    q, trp, tau2, se_tau2, sw, beta = (np.empty(n) for _ in range(6))
    rss = np.empty(n) if knha else np.full(n, np.nan)
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        yb, vb = y[lo:hi], v[lo:hi]
        w, e = work_w[: hi - lo], work_e[: hi - lo]
        # fixed-effect sums: w = 1 / v, Q, tr(P), tr(PP)
        np.divide(1.0, vb, out=w)
        s0 = rsum(w)
        ybar0 = dot_rows(w, yb) / s0
        np.subtract(yb, ybar0[:, None], out=e)
        qb = dot_rows(w, e, e)
        s2 = dot_rows(w, w)
        tp = s0 - s2 / s0
        q[lo:hi], trp[lo:hi] = qb, tp
        if method == "FE":
            t2 = np.zeros(hi - lo)
            se_tau2[lo:hi] = np.nan
        elif method == "HE":
            np.subtract(yb, (rsum(yb) / k)[:, None], out=e)
            sv = rsum(vb)
            trpv = sv * (k - 1.0) / k
            t2 = np.maximum(0.0, (dot_rows(e, e) - trpv) / df)
            trpvpv = dot_rows(vb, vb) * (1.0 - 2.0 / k) + sv**2 / k**2
            se_tau2[lo:hi] = np.sqrt(
                1.0 / df**2 * (2.0 * trpvpv + 4.0 * t2 * trpv + 2.0 * t2**2 * df)
            )
        else:  # DL, HS
            trpp = s2 - 2.0 * dot_rows(w, w, w) / s0 + (s2 / s0) ** 2
            if method == "DL":
                t2 = np.maximum(0.0, (qb - df) / tp)
                scale = tp
            else:
                t2 = np.maximum(0.0, (qb - k) / s0)
                scale = s0
            se_tau2[lo:hi] = np.sqrt(
                1.0 / scale**2 * (2.0 * df + 4.0 * t2 * tp + 2.0 * t2**2 * trpp)
            )
        tau2[lo:hi] = t2
        if method == "FE":
            sw[lo:hi], beta[lo:hi] = s0, ybar0
            if knha:
                rss[lo:hi] = qb
            continue
        # random-effects weights 1 / (v + tau2), estimate and residual sum of squares
        np.add(vb, t2[:, None], out=w)
        np.divide(1.0, w, out=w)
        s = rsum(w)
        b = dot_rows(w, yb) / s
        sw[lo:hi], beta[lo:hi] = s, b
        if knha:
            np.subtract(yb, b[:, None], out=e)
            rss[lo:hi] = dot_rows(w, e, e)
    kk = np.full(n, k)
    allpos = np.ones(n, dtype=bool)
    out = figures(kk, tau2, sw, beta, rss, q, trp, allpos, method, test, alpha, t_pvalues=False)
    return out, tau2, se_tau2
