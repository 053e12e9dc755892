"""Simulation-based power for the planned analyses, vectorised in NumPy.

Trials are simulated from variance components (given, or from
:func:`cpstem.design.assurance.variance_from_table`):

- ``analysis="ancova"`` (GMFM-66 at 12 months adjusted for baseline): per child
  ``y0 ~ N(0, σ²)``, ``y1 = ρ·y0 + δ·arm + e``, ``e ~ N(0, σ²(1 − ρ²))``; each trial is fitted
  by OLS of y1 on (1, arm, y0) and the arm coefficient tested with a t test (df n − 3).
  All trials of a block are one batched array operation (no Python loop over trials).
- ``analysis="slope"`` (mixed model over visits, fast approximation): per child random
  intercept and slope, residual error at each visit; each child's OLS slope is computed, and
  the mean slopes are compared between arms with a two-sample t test (the summary-statistic
  analysis of Diggle et al. 2002 §2.4; with complete balanced visits it is the mixed model's
  test of the time × arm interaction under a random-slope model with the same fixed design).
  This is the stated approximation: ``cpstem.outcomes.ipd.mixed_model`` is not refitted per
  simulated trial.

Reproducibility: simulations come in blocks of ``BLOCK`` trials, block b drawn from
``SeedSequence([seed, b])``; a run of ``n_sims`` trials is the same whatever the chunking into
tasks (``chunk`` blocks per task), locally or on a Dask cluster (``scheduler``: an address or a
``distributed.Client``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from cpstem.design.errors import DesignError
from cpstem.results import Result

__all__ = ["BLOCK", "SimulationResult", "simulate_power"]

BLOCK = 1000
ANALYSES = ("ancova", "slope")


@dataclass(frozen=True)
class SimulationResult(Result):
    """Rejections out of ``n_sims`` simulated trials: ``power`` and its Monte-Carlo SE."""

    analysis: str
    n1: int
    n2: int
    delta: float
    alpha: float
    n_sims: int
    seed: int
    rejections: int
    power: float
    mc_se: float
    parameters: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"Simulated power ({self.analysis}): {self.power:.4f} "
            f"(Monte-Carlo SE {self.mc_se:.4f}) "
            f"from {self.n_sims} trials of {self.n1} + {self.n2}, delta {self.delta:g}, "
            f"two-sided alpha {self.alpha:g}, seed {self.seed}"
        )


def _ancova_block(
    rng: np.random.Generator,
    size: int,
    n1: int,
    n2: int,
    delta: float,
    sd: float,
    rho: float,
    alpha: float,
) -> int:
    n = n1 + n2
    arm = np.r_[np.zeros(n1), np.ones(n2)]
    y0 = rng.standard_normal((size, n)) * sd
    y1 = rho * y0 + delta * arm + rng.standard_normal((size, n)) * sd * math.sqrt(1 - rho * rho)
    # OLS on (1, arm, y0), batched: within-arm centring gives the arm and baseline slopes
    m0 = np.stack([y0[:, :n1].mean(1), y0[:, n1:].mean(1)], 1)
    m1 = np.stack([y1[:, :n1].mean(1), y1[:, n1:].mean(1)], 1)
    idx = arm.astype(int)
    x = y0 - m0[:, idx]
    y = y1 - m1[:, idx]
    sxx = (x * x).sum(1)
    beta = (x * y).sum(1) / sxx
    resid = y - beta[:, None] * x
    s2 = (resid * resid).sum(1) / (n - 3)
    diff0 = m0[:, 1] - m0[:, 0]
    est = (m1[:, 1] - m1[:, 0]) - beta * diff0
    se = np.sqrt(s2 * (1 / n1 + 1 / n2 + diff0 * diff0 / sxx))
    crit = stats.t.ppf(1 - alpha / 2, n - 3)
    return int((np.abs(est / se) > crit).sum())


def _slope_block(
    rng: np.random.Generator,
    size: int,
    n1: int,
    n2: int,
    delta: float,
    times: Sequence[float],
    sd_residual: float,
    sd_slope: float,
    sd_intercept: float,
    alpha: float,
) -> int:
    n = n1 + n2
    t = np.asarray(times, float)
    tc = t - t.mean()
    sxx = float(tc @ tc)
    arm = np.r_[np.zeros(n1), np.ones(n2)]
    b = delta * arm + rng.standard_normal((size, n)) * sd_slope
    a = rng.standard_normal((size, n)) * sd_intercept
    y = a[..., None] + b[..., None] * t + rng.standard_normal((size, n, t.size)) * sd_residual
    slopes = (y * tc).sum(2) / sxx
    g1, g2 = slopes[:, :n1], slopes[:, n1:]
    v = (
        ((g1 - g1.mean(1, keepdims=True)) ** 2).sum(1)
        + ((g2 - g2.mean(1, keepdims=True)) ** 2).sum(1)
    ) / (n - 2)
    tstat = (g2.mean(1) - g1.mean(1)) / np.sqrt(v * (1 / n1 + 1 / n2))
    crit = stats.t.ppf(1 - alpha / 2, n - 2)
    return int((np.abs(tstat) > crit).sum())


def _run_blocks(kind: str, seed: int, blocks: Sequence[tuple[int, int]], params: dict) -> int:
    total = 0
    for b, size in blocks:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, b])))
        if kind == "ancova":
            total += _ancova_block(rng, size, **params)
        else:
            total += _slope_block(rng, size, **params)
    return total


def simulate_power(
    n: int,
    delta: float,
    sd: float = 1.0,
    *,
    analysis: str = "ancova",
    ratio: float = 1,
    n2: int | None = None,
    correlation: float = 0.0,
    times: Sequence[float] = (0, 3, 6, 9, 12),
    sd_residual: float | None = None,
    sd_slope: float = 0.0,
    sd_intercept: float | None = None,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    seed: int = 0,
    chunk: int = 10,
    scheduler: object | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Power of the planned analysis by simulating ``n_sims`` trials (two-sided ``alpha``).

    ``ancova``: ``delta`` is the 12-month difference, ``sd`` σ, ``correlation`` ρ.
    ``slope``: ``delta`` the difference in slopes per time unit, ``sd_residual`` (default
    ``sd``), ``sd_slope``, ``sd_intercept`` (default ``sd``), visit ``times``.
    ``progress`` is called with the number of trials finished after each task.
    """
    if analysis not in ANALYSES:
        raise DesignError(
            f"analysis {analysis!r}: allowed {', '.join(ANALYSES)}",
            code="not_allowed",
            field="analysis",
            params={"value": analysis, "allowed": list(ANALYSES)},
        )
    m1 = int(n)
    m2 = round(ratio * n) if n2 is None else int(n2)
    if m1 < 2 or m2 < 2 or n_sims < 1:
        raise DesignError(
            "need at least 2 per arm and 1 simulation",
            code="out_of_range",
            field="n",
            params={"n1": m1, "n2": m2, "n_sims": n_sims},
        )
    if not -1 < correlation < 1:
        raise DesignError(
            f"correlation {correlation:g}: allowed between -1 and 1",
            code="out_of_range",
            field="correlation",
            params={"value": correlation},
        )
    if analysis == "ancova":
        params: dict = {
            "n1": m1,
            "n2": m2,
            "delta": delta,
            "sd": sd,
            "rho": correlation,
            "alpha": alpha,
        }
    else:
        params = {
            "n1": m1,
            "n2": m2,
            "delta": delta,
            "times": tuple(float(x) for x in times),
            "sd_residual": sd if sd_residual is None else sd_residual,
            "sd_slope": sd_slope,
            "sd_intercept": sd if sd_intercept is None else sd_intercept,
            "alpha": alpha,
        }
    nblocks = math.ceil(n_sims / BLOCK)
    blocks = [(b, min(BLOCK, n_sims - b * BLOCK)) for b in range(nblocks)]
    tasks = [blocks[i : i + max(1, chunk)] for i in range(0, nblocks, max(1, chunk))]
    rejections = 0
    done = 0
    if scheduler is None:
        for task in tasks:
            rejections += _run_blocks(analysis, seed, task, params)
            done += sum(s for _, s in task)
            if progress:
                progress(done)
    else:
        from distributed import Client, as_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            futures = [
                client.submit(_run_blocks, analysis, seed, task, params, pure=False)
                for task in tasks
            ]
            sizes = {f.key: sum(s for _, s in task) for f, task in zip(futures, tasks, strict=True)}
            for fut in as_completed(futures):
                rejections += int(fut.result())
                done += sizes[fut.key]
                if progress:
                    progress(done)
        finally:
            if client is not scheduler:
                client.close()
    p = rejections / n_sims
    return SimulationResult(
        analysis=analysis,
        n1=m1,
        n2=m2,
        delta=delta,
        alpha=alpha,
        n_sims=n_sims,
        seed=seed,
        rejections=rejections,
        power=p,
        mc_se=math.sqrt(p * (1 - p) / n_sims),
        parameters={k: v for k, v in params.items() if k not in ("n1", "n2", "delta", "alpha")},
    )
