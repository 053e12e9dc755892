"""tau^2 estimators of the random-effects model without moderators, vectorised over rows.

Each row of ``(n, k)`` arrays is one meta-analysis; missing studies are masked out. The
formulas, starting values, iteration and stopping rules are metafor's ``rma.uni`` (3.8-1), so
the numbers agree with metafor to rounding:

* ``HS`` Hunter-Schmidt, ``HE`` Hedges, ``DL`` DerSimonian-Laird, ``SJ`` Sidik-Jonkman (one
  step from ``tau0^2 = mean((y - mean(y))^2)``): closed forms, truncated at 0.
* ``ML``, ``REML``, ``EB``: Fisher scoring from the HE value, step halving at 0, stop when the
  change is <= ``threshold`` (1e-5) within ``maxiter`` (100) steps; for ML/REML a likelihood
  check against tau^2 = 0 (metafor's ``ll0check``).
* ``PM`` Paule-Mandel: root of the generalised Q statistic = k - 1 with R's ``uniroot``.

Where metafor gives up (Fisher scoring not converged, or the PM root above ``tau2_max``) we do
not: a grid over tau^2 plus bisection on the score (ML/REML) or on the estimating equation
(EB/PM) finds the optimum to full precision; the row is flagged ``FALLBACK``. The ML/REML
likelihood always has a maximum on [0, inf) when all sampling variances are positive. When a
study has sampling variance 0 and the optimum would be tau^2 = 0 the likelihood is unbounded
(an infinite weight): there is no optimum, and the row gets status ``NO_OPTIMUM``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cpstem.evidence.roots import bisect_decreasing, zeroin

METHODS = ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
RANDOM = frozenset(METHODS) - {"FE"}
LOG2PI = float(np.log(2.0 * np.pi))

# status codes of a fitted row
OK = 0
FALLBACK = 1  # metafor's algorithm failed; the safe optimizer found the optimum
NO_DATA = 2  # no study in the row
NONPOS_VI = 3  # DL/HS/PM need positive sampling variances
NO_OPTIMUM = 4  # zero sampling variance with tau^2 -> 0: likelihood unbounded

STATUS_TEXT = {
    OK: "ok",
    FALLBACK: "ok (metafor's iteration failed; safe optimizer used)",
    NO_DATA: "no studies",
    NONPOS_VI: "estimator needs all sampling variances > 0",
    NO_OPTIMUM: "a study with sampling variance 0 gets infinite weight at tau^2 = 0: no fit",
}


@dataclass(frozen=True)
class Control:
    """Iteration settings, as metafor's ``control`` list (same names and defaults)."""

    threshold: float = 1e-5
    maxiter: int = 100
    stepadj: float = 1.0
    tol: float = float(np.finfo(float).eps ** 0.25)
    tau2_init: float | None = None
    tau2_max: float | None = None
    ll0check: bool = True

    @classmethod
    def of(cls, control: Control | Mapping[str, Any] | None) -> Control:
        """``control`` as settings: ``None`` -> defaults, a mapping -> those keys set."""
        from cpstem.evidence.errors import EvidenceError

        if control is None:
            return cls()
        if isinstance(control, Control):
            return control
        allowed = set(cls.__dataclass_fields__)
        bad = sorted(set(control) - allowed)
        if bad:
            raise EvidenceError(
                f"control {bad}: allowed keys are {', '.join(sorted(allowed))}",
                code="not_allowed",
                field="control",
                params={"keys": bad, "allowed": sorted(allowed)},
            )
        return cls(**control)


def rsum(a: np.ndarray) -> np.ndarray:
    """Row sums of a 2-D array as a matrix-vector product (BLAS): for the short rows of a
    meta-analysis (k studies) about 10x faster than ``a.sum(axis=1)``."""
    return a @ np.ones(a.shape[1])


@dataclass
class FixedSums:
    """Fixed-effect (``tau^2 = 0``) sums of each row, shared by the DL/HS estimators and the
    heterogeneity statistics: ``sw = sum w``, ``q`` (Cochran's Q on the centred ``y``),
    ``trp = tr(P)``, ``trpp = tr(PP)`` with ``w = 1 / v``."""

    sw: np.ndarray
    q: np.ndarray
    trp: np.ndarray
    trpp: np.ndarray


@dataclass
class Rows:
    """Meta-analyses as rows: effect sizes ``y``, variances ``v``, mask ``m`` of studies.

    ``ymc`` (``y`` centred on each row's mean) and the fixed-effect sums are computed on first
    use: the closed-form estimators of complete rows need neither.
    """

    y: np.ndarray
    v: np.ndarray
    m: np.ndarray
    k: np.ndarray = field(init=False)
    allvipos: np.ndarray = field(init=False)
    full: bool = field(init=False)  # no missing study in any row: the masks can be skipped
    _ymc: np.ndarray | None = field(init=False, default=None, repr=False)
    _fixed: FixedSums | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.full = bool(self.m.all())
        if self.full:
            self.k = np.full(self.m.shape[0], self.m.shape[1])
            nonpos = self.v <= 0.0
            self.allvipos = (
                ~np.any(nonpos, axis=1) if nonpos.any() else np.ones(self.k.size, dtype=bool)
            )
            return
        self.y = np.where(self.m, self.y, 0.0)
        self.v = np.where(self.m, self.v, 1.0)
        self.k = self.m.sum(axis=1)
        self.allvipos = ~np.any(self.m & (self.v <= 0.0), axis=1)

    @property
    def ymc(self) -> np.ndarray:
        """``y`` minus its row mean (0 for missing studies)."""
        if self._ymc is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = rsum(self.y) / self.k
            ymc = self.y - mean[:, None]
            self._ymc = ymc if self.full else np.where(self.m, ymc, 0.0)
        return self._ymc

    def take(self, rows: np.ndarray) -> Rows:
        return Rows(self.y[rows], self.v[rows], self.m[rows])

    def fixed(self) -> FixedSums:
        """The fixed-effect sums (computed once per ``Rows``; on ``y`` itself: the sums of
        residuals do not depend on a shift of ``y``)."""
        if self._fixed is None:
            with np.errstate(all="ignore"):
                w = weights(self, np.zeros(self.k.size))
                sw, _, q, _, trp, trpp = _wsums(w, self.y if self._ymc is None else self._ymc)
            self._fixed = FixedSums(sw, q, trp, trpp)
        return self._fixed


def weights(r: Rows, tau2: np.ndarray) -> np.ndarray:
    """Inverse-variance weights ``1 / (v + tau2)``, 0 for missing studies."""
    with np.errstate(divide="ignore"):
        if tau2.any():
            w = np.add(r.v, tau2[:, None])
            np.divide(1.0, w, out=w)
        else:
            w = np.divide(1.0, r.v)
        if not r.full:
            w[~r.m] = 0.0
        return w


def dot_rows(*arrays: np.ndarray) -> np.ndarray:
    """Row sums of the elementwise product of 2-D arrays, without a temporary array."""
    spec = ",".join(["ij"] * len(arrays)) + "->i"
    return np.einsum(spec, *arrays)


def _wsums(w: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sums of the intercept-only projection ``P = W - w w' / sum(w)``.

    Returns ``sw, ybar_w, y'Py, y'PPy, tr(P), tr(PP)``.
    """
    sw = rsum(w)
    sw2 = dot_rows(w, w)
    sw3 = dot_rows(w, w, w)
    ybar = dot_rows(w, y) / sw
    e = y - ybar[:, None]
    ypy = dot_rows(w, e, e)
    yppy = dot_rows(w, w, e, e)
    trp = sw - sw2 / sw
    trpp = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
    return sw, ybar, ypy, yppy, trp, trpp


def _pp_sum(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_ij P_ij^2 a_i b_j`` for the intercept-only ``P`` with weights ``w``."""
    sw = rsum(w)
    w2 = w * w
    return rsum(a * b * (w2 - 2.0 * w2 * w / sw[:, None])) + rsum(w2 * a) * rsum(w2 * b) / sw**2


def q_gen(r: Rows, tau2: np.ndarray) -> np.ndarray:
    """Generalised Q: ``sum w_i (y_i - ybar_w)^2`` with ``w = 1 / (v + tau2)`` (centred y)."""
    w = weights(r, tau2)
    sw = rsum(w)
    ybar = rsum(w * r.ymc) / sw
    return rsum(w * (r.ymc - ybar[:, None]) ** 2)


def loglik(r: Rows, tau2: np.ndarray, reml: bool, y: np.ndarray | None = None) -> np.ndarray:
    """(Restricted) log-likelihood of the intercept-only model (metafor's REMLf = TRUE)."""
    y = r.ymc if y is None else y
    w = weights(r, tau2)
    sw = rsum(w)
    beta = rsum(w * y) / sw
    rss = rsum(w * (y - beta[:, None]) ** 2)
    logv = rsum(np.where(r.m, np.log(np.where(r.m, r.v + tau2[:, None], 1.0)), 0.0))
    if reml:
        return (
            -0.5 * (r.k - 1) * LOG2PI
            + 0.5 * np.log(r.k)
            - 0.5 * logv
            - 0.5 * np.log(sw)
            - (0.5 * rss)
        )
    return -0.5 * r.k * LOG2PI - 0.5 * logv - 0.5 * rss


#: tau^2, its standard error, status and iterations of the rows an estimator was given
_Fit = tuple[np.ndarray, np.ndarray, np.ndarray | int, np.ndarray | int]


@dataclass
class Tau2Fit:
    """tau^2 per row with its standard error, status and iteration count."""

    tau2: np.ndarray
    se_tau2: np.ndarray
    status: np.ndarray
    iterations: np.ndarray


def estimate(r: Rows, method: str, control: Control, tau2_fixed: float | None = None) -> Tau2Fit:
    """Estimate tau^2 for every row with ``method`` (one of :data:`METHODS`)."""
    n = r.k.size
    tau2 = np.zeros(n)
    se = np.full(n, np.nan)
    status = np.where(r.k == 0, NO_DATA, OK)
    iters = np.zeros(n, dtype=int)
    if method == "FE":
        return Tau2Fit(tau2, se, status, iters)
    ok = r.k >= 2  # k == 1: metafor fits tau^2 = 0 ("k1")
    if tau2_fixed is not None:
        tau2[:] = float(tau2_fixed)
        return Tau2Fit(tau2, se, status, iters)
    needs_pos = method in ("DL", "HS", "PM")
    bad = ok & ~r.allvipos if needs_pos else np.zeros(n, dtype=bool)
    status[bad] = NONPOS_VI
    rows = np.flatnonzero(ok & ~bad)
    if rows.size == 0:
        return Tau2Fit(tau2, se, status, iters)
    sub = r.take(rows) if rows.size != n else r
    fn = {
        "DL": _dl,
        "HS": _hs,
        "HE": _he,
        "SJ": _sj,
        "PM": _pm,
        "ML": _fisher,
        "REML": _fisher,
        "EB": _fisher,
    }[method]
    t, s, st, it = fn(sub, method, control)
    tau2[rows], se[rows], status[rows], iters[rows] = t, s, st, it
    return Tau2Fit(tau2, se, status, iters)


def _dl(r: Rows, method: str, control: Control) -> _Fit:
    fx = r.fixed()
    q, trp, trpp = fx.q, fx.trp, fx.trpp
    df = r.k - 1.0
    tau2 = np.maximum(0.0, (q - df) / trp)
    se = np.sqrt(1.0 / trp**2 * (2.0 * df + 4.0 * tau2 * trp + 2.0 * tau2**2 * trpp))
    return tau2, se, np.zeros(r.k.size, dtype=int), np.zeros(r.k.size, dtype=int)


def _hs(r: Rows, method: str, control: Control) -> _Fit:
    fx = r.fixed()
    sw, q, trp, trpp = fx.sw, fx.q, fx.trp, fx.trpp
    df = r.k - 1.0
    tau2 = np.maximum(0.0, (q - r.k) / sw)
    se = np.sqrt(1.0 / sw**2 * (2.0 * df + 4.0 * tau2 * trp + 2.0 * tau2**2 * trpp))
    return tau2, se, np.zeros(r.k.size, dtype=int), np.zeros(r.k.size, dtype=int)


def _he_raw(r: Rows) -> np.ndarray:
    k = r.k.astype(float)
    rss = rsum(r.ymc**2)
    trpv = r.v.sum(axis=1, where=r.m) * (k - 1.0) / k
    return (rss - trpv) / (k - 1.0)


def _he(r: Rows, method: str, control: Control) -> _Fit:
    k = r.k.astype(float)
    tau2 = np.maximum(0.0, _he_raw(r))
    vv = np.where(r.m, r.v, 0.0)
    sv = rsum(vv)
    trpv = sv * (k - 1.0) / k
    trpvpv = rsum(vv**2) * (1.0 - 2.0 / k) + sv**2 / k**2
    df = k - 1.0
    se = np.sqrt(1.0 / df**2 * (2.0 * trpvpv + 4.0 * tau2 * trpv + 2.0 * tau2**2 * df))
    return tau2, se, np.zeros(r.k.size, dtype=int), np.zeros(r.k.size, dtype=int)


def _sj(r: Rows, method: str, control: Control) -> _Fit:
    k = r.k.astype(float)
    if control.tau2_init is None:
        tau0 = rsum(r.ymc**2) / k
    else:
        tau0 = np.full(k.size, float(control.tau2_init))
    w = weights(r, tau0)
    _, _, rss, _, _, trpp = _wsums(w, r.ymc)
    df = k - 1.0
    tau2 = np.maximum(0.0, tau0 * rss / df)
    vv = np.where(r.m, r.v, 0.0)
    one = r.m.astype(float)
    pvpv = _pp_sum(w, vv, vv)
    pvp = _pp_sum(w, one, vv)
    se = np.sqrt(tau0**2 / df**2 * (2.0 * pvpv + 4.0 * tau2 * pvp + 2.0 * tau2**2 * trpp))
    return tau2, se, np.zeros(r.k.size, dtype=int), np.zeros(r.k.size, dtype=int)


def _mad2(r: Rows) -> np.ndarray:
    if r.m.all():  # no missing study: plain medians are much faster than nanmedian
        med = np.median(r.y, axis=1)
        mad = 1.4826 * np.median(np.abs(r.y - med[:, None]), axis=1)
        return mad**2
    y = np.where(r.m, r.y, np.nan)
    with np.errstate(all="ignore"):
        med = np.nanmedian(y, axis=1)
        mad = 1.4826 * np.nanmedian(np.abs(y - med[:, None]), axis=1)
    return mad**2


def tau2_max(r: Rows, control: Control) -> np.ndarray:
    """metafor's upper search bound: ``max(100, 10 * mad(yi)^2)`` (or ``control.tau2_max``)."""
    base = 100.0 if control.tau2_max is None else float(control.tau2_max)
    return np.maximum(base, 10.0 * _mad2(r))


def _eb_pm_se(r: Rows, tau2: np.ndarray) -> np.ndarray:
    k = r.k.astype(float)
    sw = rsum(weights(r, tau2))
    return np.sqrt(2.0 * k**2 / (k - 1.0) / sw**2)


def _qroot_fallback(r: Rows, lo: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Root of the decreasing ``Q(tau2) - target`` above ``lo`` (upper end found by doubling)."""
    hi = np.maximum(lo * 2.0, 1.0)
    rows = np.arange(r.k.size)
    for _ in range(2000):
        up = q_gen(r, hi) - target > 0.0
        if not up.any():
            break
        hi = np.where(up, hi * 2.0, hi)

    def g(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return q_gen(r.take(idx), x) - target[idx]

    del rows
    return bisect_decreasing(g, lo, hi)


def _pm(r: Rows, method: str, control: Control) -> _Fit:
    n = r.k.size
    target = r.k - 1.0
    tau2 = np.zeros(n)
    status = np.zeros(n, dtype=int)
    iters = np.zeros(n, dtype=int)
    f0 = q_gen(r, np.zeros(n)) - target
    search = f0 >= 0.0
    upper = tau2_max(r, control)
    fmax = np.full(n, np.nan)
    idx = np.flatnonzero(search)
    if idx.size:
        sub = r.take(idx)
        fmax[idx] = q_gen(sub, upper[idx]) - target[idx]
    inside = search & (fmax <= 0.0)
    beyond = search & ~inside
    idx = np.flatnonzero(inside)
    if idx.size:
        ymc, vv, mm, tsub = r.ymc[idx], r.v[idx], r.m[idx], target[idx]

        def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
            w = np.where(mm[rows], 1.0 / (vv[rows] + x[:, None]), 0.0)
            y = ymc[rows]
            ybar = rsum(w * y) / rsum(w)
            return rsum(w * (y - ybar[:, None]) ** 2) - tsub[rows]

        root, _ = zeroin(
            f, np.zeros(idx.size), upper[idx], f0[idx], fmax[idx], control.tol, control.maxiter
        )
        tau2[idx] = root
    idx = np.flatnonzero(beyond)
    if idx.size:
        tau2[idx] = _qroot_fallback(r.take(idx), upper[idx], target[idx])
        status[idx] = FALLBACK
    tau2 = np.maximum(0.0, tau2)
    return tau2, _eb_pm_se(r, tau2), status, iters


def _adjust(r: Rows, tau2: np.ndarray, method: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        w = weights(r, tau2)
        sw, _, ypy, yppy, trp, trpp = _wsums(w, r.ymc)
        if method == "ML":
            return (yppy - sw) / rsum(w * w)
        if method == "REML":
            return (yppy - trp) / trpp
        k = r.k.astype(float)
        return (ypy * k / (k - 1.0) - k) / sw


def _fisher(r: Rows, method: str, control: Control) -> _Fit:
    n = r.k.size
    status = np.zeros(n, dtype=int)
    iters = np.zeros(n, dtype=int)
    if control.tau2_init is None:
        with np.errstate(invalid="ignore"):
            tau2 = np.maximum(0.0, _he_raw(r))
    else:
        tau2 = np.full(n, float(control.tau2_init))
    zero_v = ~r.allvipos
    conv = np.ones(n, dtype=bool)
    active = np.arange(n)
    it = 0
    while active.size:
        it += 1
        sub = r.take(active) if active.size != n else r
        t = tau2[active]
        unbounded = zero_v[active] & (t <= 0.0)
        adj = _adjust(sub, t, method) * control.stepadj
        adj = np.where(np.isnan(adj), 0.0, adj)
        adj = np.where((t <= 0.0) & (adj < 0.0), 0.0, adj)  # halving from 0 ends at -0.0
        neg = t + adj < 0.0
        while neg.any():
            adj = np.where(neg, adj / 2.0, adj)
            neg = t + adj < 0.0
        new = t + adj
        change = np.abs(t - new)
        tau2[active] = new
        iters[active] = it
        status[active[unbounded]] = NO_OPTIMUM
        if it > control.maxiter:
            conv[active] = False
            break
        active = active[(change > control.threshold) & ~unbounded]
    conv &= status != NO_OPTIMUM
    ends_at_zero = zero_v & (tau2 <= 0.0)
    status[ends_at_zero] = NO_OPTIMUM
    conv &= ~ends_at_zero
    if method in ("ML", "REML") and control.ll0check:
        chk = np.flatnonzero(conv & r.allvipos & (tau2 > control.threshold))
        if chk.size:
            sub = r.take(chk)
            reml = method == "REML"
            ll0 = loglik(sub, np.zeros(chk.size), reml)
            ll = loglik(sub, tau2[chk], reml)
            stuck = ll0 - ll > control.tol
            tau2[chk[stuck]] = 0.0
    failed = np.flatnonzero(~conv & (status != NO_OPTIMUM))
    if failed.size:
        tau2[failed] = _fallback(r.take(failed), method)
        status[failed] = FALLBACK
    tau2 = np.maximum(0.0, tau2)
    with np.errstate(all="ignore"):
        if method == "ML":
            w = weights(r, tau2)
            se = np.sqrt(2.0 / rsum(w * w))
        elif method == "REML":
            w = weights(r, tau2)
            se = np.sqrt(2.0 / _wsums(w, r.ymc)[5])
        else:
            se = _eb_pm_se(r, tau2)
    se[status == NO_OPTIMUM] = np.nan
    tau2[status == NO_OPTIMUM] = np.nan
    return tau2, se, status, iters


def _score(r: Rows, tau2: np.ndarray, method: str) -> np.ndarray:
    """Derivative of the (restricted) log-likelihood in tau^2 (times 2)."""
    w = weights(r, tau2)
    sw, _, _, yppy, trp, _ = _wsums(w, r.ymc)
    return yppy - (sw if method == "ML" else trp)


def _fallback(r: Rows, method: str) -> np.ndarray:
    """Safe optimizer: global grid search, then bisection on the score (or the EB equation)."""
    n = r.k.size
    if method == "EB":
        target = r.k - 1.0
        out = np.zeros(n)
        pos = q_gen(r, np.zeros(n)) - target > 0.0
        if pos.any():
            idx = np.flatnonzero(pos)
            out[idx] = _qroot_fallback(r.take(idx), np.zeros(idx.size), target[idx])
        return out
    reml = method == "REML"
    scale = np.maximum(rsum(r.ymc**2) / r.k, 1e-300)
    top = np.maximum(tau2_max(r, Control()), 10.0 * scale)
    grid = np.concatenate([[0.0], np.geomspace(1e-10, 1.0, 240)])
    lls = np.stack([loglik(r, g * top, reml) for g in grid], axis=1)
    j = np.argmax(lls, axis=1)
    lo = grid[np.maximum(j - 1, 0)] * top
    hi = grid[np.minimum(j + 1, grid.size - 1)] * top
    at_zero = (j == 0) & (_score(r, np.zeros(n), method) <= 0.0)

    def g(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return _score(r.take(idx), x, method)

    root = bisect_decreasing(g, lo, hi)
    return np.where(at_zero, 0.0, root)
