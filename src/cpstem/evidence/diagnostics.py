"""Model diagnostics with plots: profile likelihood of tau^2, Baujat and GOSH (metafor's
``profile``, ``baujat`` and ``gosh`` for models fitted by :func:`~cpstem.evidence.rma`).

* :func:`profile`: the (restricted) log-likelihood at fixed values of tau^2 (the coefficients
  re-estimated at each), metafor's ``profile(res)`` -- values and a plot.
* :func:`baujat`: per study, the squared Pearson residual (contribution to heterogeneity) and
  the influence on the result, ``(pred - pred_(-i))^2 / var(pred_(-i))`` (Baujat et al. 2002).
* :func:`gosh`: the model fitted to every one of the ``2^k - 1`` subsets of the studies (Olkin
  et al. 2012), vectorised through :func:`~cpstem.evidence.rma_batch` (k <= 15 by default:
  32,767 fits); estimates against I^2 in a plot.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.rma import RMAResult, rma
from cpstem.plotting import save_figure
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _model(res: Any, what: str) -> RMAResult:
    if not isinstance(res, RMAResult):
        raise EvidenceError(
            f"{what}() takes a model fitted by rma()", code="not_applicable", field="res"
        )
    return res


@dataclass(frozen=True)
class Profile(Result):
    """Profile log-likelihood of tau^2: ``tau2`` (grid), ``ll``; ``tau2_hat``/``ll_max``."""

    method: str
    tau2: np.ndarray
    ll: np.ndarray
    tau2_hat: float
    ll_max: float

    def to_frame(self) -> pd.DataFrame:
        return frame_of({"tau2": self.tau2, "ll": self.ll})

    def summary(self) -> str:
        return (
            f"Profile {'restricted ' if self.method == 'REML' else ''}log-likelihood of tau^2: "
            f"{self.tau2.size} points from {self.tau2[0]:.4f} to {self.tau2[-1]:.4f}; maximum "
            f"{self.ll_max:.4f} at tau^2 = {self.tau2_hat:.4f}"
        )

    def plot(self, out: str | Path | None = None) -> Figure:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4.2))
        ax = fig.add_subplot()
        ax.plot(self.tau2, self.ll, "-o", color="#1f3a5f", ms=3)
        ax.axvline(self.tau2_hat, ls="--", color="#888888")
        ax.axhline(self.ll_max, ls=":", color="#888888")
        ax.set_xlabel("tau^2")
        ax.set_ylabel("Restricted log-likelihood" if self.method == "REML" else "Log-likelihood")
        ax.set_title("Profile likelihood of tau^2")
        fig.tight_layout()
        save_figure(fig, out, EvidenceError)
        return fig


def profile(res: RMAResult, tau2: Any = None, steps: int = 20) -> Profile:
    """The (restricted) log-likelihood of ``res`` at fixed tau^2 values (metafor ``profile``).

    ``tau2``: the grid; by default ``steps`` values from 0 (or a quarter of the estimate) to
    four times the estimate (at least the Q-profile CI's upper bound).
    """
    res = _model(res, "profile")
    if res.method not in ("ML", "REML"):
        raise EvidenceError(
            "profile() needs a likelihood: fit the model with method 'REML' or 'ML'",
            code="not_applicable",
            field="method",
        )
    if tau2 is None:
        hi = 4.0 * res.tau2
        with contextlib.suppress(EvidenceError):  # the Q-profile CI's upper bound
            hi = max(hi, float(res.confint().tau2[2]))
        hi = max(hi, 0.1)
        grid = np.linspace(0.0 if res.tau2 < hi / 4 else res.tau2 / 4, hi, int(steps))
    else:
        grid = np.asarray(tau2, dtype=float).reshape(-1)
    key = "ll_reml" if res.method == "REML" else "ll_ml"
    ll = np.array(
        [
            rma(
                res.yi, res.vi, method=res.method, mods=res.X, intercept=False, tau2=float(t)
            ).fit_stats[key]
            for t in grid
        ]
    )
    return Profile(
        method=res.method,
        tau2=grid,
        ll=ll,
        tau2_hat=float(res.tau2),
        ll_max=float(res.fit_stats[key]),
    )


@dataclass(frozen=True)
class Baujat(Result):
    """Baujat plot data: ``x`` (squared Pearson residual), ``y`` (influence), ``labels``."""

    x: np.ndarray
    y: np.ndarray
    labels: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        return frame_of({"study": list(self.labels), "x": self.x, "y": self.y})

    def plot(self, out: str | Path | None = None) -> Figure:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4.5))
        ax = fig.add_subplot()
        ax.scatter(self.x, self.y, s=14, color="#1f3a5f")
        for x, y, lab in zip(self.x, self.y, self.labels, strict=True):
            ax.annotate(lab, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("Squared Pearson residual (contribution to heterogeneity)")
        ax.set_ylabel("Influence on the overall result")
        ax.grid(color="#dddddd")
        ax.set_title("Baujat plot")
        fig.tight_layout()
        save_figure(fig, out, EvidenceError)
        return fig


def baujat(res: RMAResult) -> Baujat:
    """Baujat et al. (2002) plot data, as metafor's ``baujat``."""
    res = _model(res, "baujat")
    if res.k < 2:
        raise EvidenceError("baujat() needs k >= 2", code="too_few_studies", field="yi")
    beta = np.atleast_1d(res.beta)
    pred = res.X @ beta
    x = (res.yi - pred) ** 2 / (res.tau2 + res.vi)
    y = np.full(res.k, np.nan)
    fixed = res.tau2 if res.tau2_fixed else None
    for i in range(res.k):
        keep = np.arange(res.k) != i
        try:
            fit = rma(
                res.yi[keep],
                res.vi[keep],
                method=res.method,
                test=res.test,
                mods=res.X[keep],
                intercept=False,
                tau2=fixed,
                control=res.control,
            )
        except EvidenceError:
            continue
        xi = res.X[i]
        dp = float(xi @ np.atleast_1d(fit.beta))
        y[i] = (dp - pred[i]) ** 2 / float(xi @ np.atleast_2d(fit.vb) @ xi)
    return Baujat(x=x, y=y, labels=res.labels)


@dataclass(frozen=True)
class Gosh(Result):
    """Fits to all subsets: ``subset`` (bit j set = study j included), ``k``, ``estimate``,
    ``tau2``, ``i2``, ``h2``, ``q`` per subset. ``to_frame()``: one row per subset."""

    method: str
    subset: np.ndarray
    k: np.ndarray
    estimate: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray

    def included(self) -> np.ndarray:
        """Boolean matrix (subset x study)."""
        n = int(self.subset.max()).bit_length()
        return ((self.subset[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)

    def to_frame(self) -> pd.DataFrame:
        names = ("subset", "k", "estimate", "tau2", "i2", "h2", "q")
        return frame_of({n: getattr(self, n) for n in names})

    def summary(self) -> str:
        return (
            f"GOSH: {self.subset.size:,} subsets ({self.method}); estimate from "
            f"{np.nanmin(self.estimate):.4f} to {np.nanmax(self.estimate):.4f}, I^2 from "
            f"{np.nanmin(self.i2):.1f}% to {np.nanmax(self.i2):.1f}%"
        )

    def plot(self, out: str | Path | None = None) -> Figure:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4.5))
        ax = fig.add_subplot()
        ax.scatter(self.estimate, self.i2, s=2, alpha=0.3, color="#1f3a5f", linewidths=0)
        ax.set_xlabel("Pooled estimate")
        ax.set_ylabel("I^2 (%)")
        ax.set_title(f"GOSH plot ({self.subset.size:,} subsets)")
        fig.tight_layout()
        save_figure(fig, out, EvidenceError)
        return fig


#: Subsets fitted per ``rma_batch`` call (progress is reported after each).
_GOSH_CHUNK = 8192


def _fit_by_size(
    fit: Callable[[np.ndarray, np.ndarray], Any],
    inc: np.ndarray,
    yi: np.ndarray,
    vi: np.ndarray,
    progress: Callable[[int, int], None] | None,
) -> Any:
    """Fit every subset (row of ``inc``), grouped by its size: the subsets of ``j`` studies
    become a complete ``(n_j, j)`` batch (no missing studies, so ``rma_batch`` takes its fast
    paths). Returns the per-subset figures ``gosh`` reads, in the order of ``inc``."""
    from types import SimpleNamespace

    names = ("k", "estimate", "tau2", "i2", "h2", "q")
    n = inc.shape[0]
    out = {name: np.empty(n, dtype=int if name == "k" else float) for name in names}
    sizes = inc.sum(axis=1)
    done = 0
    if progress is not None:
        progress(0, n)
    for j in np.unique(sizes):
        rows = np.flatnonzero(sizes == j)
        cols = np.nonzero(inc[rows])[1].reshape(rows.size, int(j))  # row-major: in order
        for lo in range(0, rows.size, _GOSH_CHUNK):
            part, idx = cols[lo : lo + _GOSH_CHUNK], rows[lo : lo + _GOSH_CHUNK]
            b = fit(yi[part], vi[part])
            for name in names:
                out[name][idx] = getattr(b, name)
            done += idx.size
            if progress is not None:
                progress(done, n)
    return SimpleNamespace(**out)


def gosh(
    res: RMAResult,
    subsets: int | None = None,
    max_k: int = 15,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Gosh:
    """Fit ``res``'s model to subsets of its studies (metafor ``gosh``).

    All ``2^k - 1`` subsets when ``subsets`` is None or at least that many (``k <= max_k``);
    otherwise ``subsets`` random ones (seeded). ``progress(done, total)``, if given, is called
    as the subsets are fitted (in chunks of 4,096; without it, in one batch).
    """
    from cpstem.evidence.batch import rma_batch

    res = _model(res, "gosh")
    if not res.int_only:
        raise EvidenceError(
            "gosh() applies to models without moderators", code="not_applicable", field="res"
        )
    k = res.k
    total = 2**k - 1 if k < 63 else None
    if subsets is None or (total is not None and subsets >= total):
        if k > max_k:
            raise EvidenceError(
                f"k = {k}: all 2^k - 1 subsets are too many; give subsets= (a random sample) "
                f"or raise max_k",
                code="too_many",
                field="subsets",
                params={"k": k, "max_k": max_k},
            )
        codes = np.arange(1, 2**k, dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        codes = np.unique(rng.integers(1, 2**k, size=int(subsets), dtype=np.int64))
    inc = ((codes[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)
    fit = functools.partial(
        rma_batch, method=res.method, test=res.test, level=res.level, control=res.control
    )
    b = _fit_by_size(fit, inc, res.yi, res.vi, progress)
    i2, h2 = np.asarray(b.i2), np.asarray(b.h2)
    if res.method == "DL":
        # metafor's gosh() computes FE and DL fits by its own vectorised shortcut, with the
        # Q-based I^2 = max(0, (Q - df) / Q) and H^2 = Q / df (not truncated at 1)
        df = np.asarray(b.k) - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            h2 = np.where(df > 0, np.asarray(b.q) / df, 1.0)
            i2 = np.where(df > 0, np.maximum(0.0, 100.0 * (b.q - df) / b.q), 0.0)
            i2 = np.where((df > 0) & (np.asarray(b.q) == 0), 0.0, i2)
    return Gosh(
        method=res.method,
        subset=codes,
        k=np.asarray(b.k),
        estimate=np.asarray(b.estimate),
        tau2=np.asarray(b.tau2),
        i2=i2,
        h2=h2,
        q=np.asarray(b.q),
    )
