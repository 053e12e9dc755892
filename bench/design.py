"""Group-sequential boundaries: cpstem.design vs R rpact, in the same run.

Times the design of a k = 5 group-sequential trial (boundaries, alpha spending and the design
characteristics: inflation factor, expected sample sizes) for
(a) Lan-DeMets O'Brien-Fleming alpha spending (rpact ``asOF``), no futility, and
(b) Hwang-Shih-DeCani alpha spending (gamma = -4) with non-binding Hwang-Shih-DeCani
    beta-spending futility bounds (gamma = -2) (rpact ``asHSD`` + ``bsHSD``),
each as ``group_sequential(...)`` vs ``getDesignGroupSequential(...)`` followed by
``getDesignCharacteristics(...)``. R is timed inside R (``system.time`` around a loop, after
warm-up); cpstem with ``time.perf_counter`` (best of 5 loops). The script also checks that the
boundaries agree (max abs difference printed).

Also times 100,000 simulated trials of the planned ANCOVA (30 + 30 children, delta 0.6 SD,
baseline-follow-up correlation 0.7): ``cpstem.design.simulate_power`` (NumPy, blocks of 1000
trials as one array operation) vs the same simulation vectorised in base R (matrices of
trials x children, the ANCOVA by within-arm centring with ``rowSums``; no loop over trials).
Both powers are printed with the closed form.

Run: ``.venv/bin/python bench/design.py [--loops 50] [--r-loops 50]``. Needs Rscript with rpact
(Debian r-cran-rpact; ``make r-design``). Prints timings and ratios; record them in
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cpstem.design import group_sequential

R_SCRIPT = r"""
suppressPackageStartupMessages(library(rpact))
loops <- as.integer(commandArgs(trailingOnly = TRUE)[1])
obf <- function() {
  d <- getDesignGroupSequential(kMax = 5, alpha = 0.025, beta = 0.2, typeOfDesign = "asOF")
  list(d = d, c = getDesignCharacteristics(d))
}
hsd <- function() {
  d <- getDesignGroupSequential(kMax = 5, alpha = 0.025, beta = 0.2, typeOfDesign = "asHSD",
    gammaA = -4, typeBetaSpending = "bsHSD", gammaB = -2, bindingFutility = FALSE)
  list(d = d, c = getDesignCharacteristics(d))
}
time_it <- function(f) {
  for (i in 1:3) f()
  system.time(for (i in 1:loops) f())[["elapsed"]] / loops
}
a <- obf(); b <- hsd()
cat(jsonlite::toJSON(list(
  obf = time_it(obf), hsd = time_it(hsd),
  obf_crit = as.numeric(a$d$criticalValues), hsd_crit = as.numeric(b$d$criticalValues),
  hsd_fut = as.numeric(b$d$futilityBounds), obf_if = a$c$inflationFactor,
  hsd_if = b$c$inflationFactor,
  version = as.character(packageVersion("rpact")), R = R.version.string
), auto_unbox = TRUE, digits = NA))
"""

R_SIM = r"""
args <- commandArgs(trailingOnly = TRUE)
nsim <- as.integer(args[1]); n <- 30; delta <- 0.6; rho <- 0.7
sim <- function() {
  set.seed(1)
  rej <- 0
  for (b in seq_len(ceiling(nsim / 1000))) {
    m <- min(1000, nsim - (b - 1) * 1000)
    y0 <- matrix(rnorm(m * 2 * n), m)
    arm <- rep(c(0, 1), each = n)
    y1 <- rho * y0 + matrix(delta * arm, m, 2 * n, byrow = TRUE) +
      matrix(rnorm(m * 2 * n), m) * sqrt(1 - rho^2)
    i1 <- 1:n; i2 <- (n + 1):(2 * n)
    m01 <- rowMeans(y0[, i1]); m02 <- rowMeans(y0[, i2])
    m11 <- rowMeans(y1[, i1]); m12 <- rowMeans(y1[, i2])
    x <- y0 - cbind(matrix(m01, m, n), matrix(m02, m, n))
    y <- y1 - cbind(matrix(m11, m, n), matrix(m12, m, n))
    sxx <- rowSums(x * x); beta <- rowSums(x * y) / sxx
    s2 <- rowSums((y - beta * x)^2) / (2 * n - 3)
    d0 <- m02 - m01; est <- (m12 - m11) - beta * d0
    se <- sqrt(s2 * (2 / n + d0^2 / sxx))
    rej <- rej + sum(abs(est / se) > qt(0.975, 2 * n - 3))
  }
  rej / nsim
}
t <- system.time(p <- sim())[["elapsed"]]
cat(jsonlite::toJSON(list(seconds = t, power = p), auto_unbox = TRUE, digits = NA))
"""


def per_call(func: Callable[[], Any], loops: int, repeats: int = 5) -> float:
    func()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            func()
        best = min(best, (time.perf_counter() - start) / loops)
    return best


def obf() -> Any:
    return group_sequential(k=5, alpha=0.025, beta=0.2, spending="obf")


def hsd() -> Any:
    return group_sequential(
        k=5, alpha=0.025, beta=0.2, spending="hsd", gamma=-4, futility="hsd", gamma_futility=-2
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=50, help="cpstem calls per timing loop")
    parser.add_argument("--r-loops", type=int, default=50, help="rpact calls in R's loop")
    parser.add_argument("--sims", type=int, default=100_000, help="simulated trials")
    args = parser.parse_args()

    out = subprocess.run(
        ["Rscript", "-e", R_SCRIPT, str(args.r_loops)],
        capture_output=True,
        text=True,
        check=True,
    )
    r = json.loads(out.stdout)
    a, b = obf(), hsd()
    diff = max(
        float(np.max(np.abs(a.critical - np.array(r["obf_crit"])))),
        float(np.max(np.abs(b.critical - np.array(r["hsd_crit"])))),
        float(np.max(np.abs(b.futility_bounds - np.array(r["hsd_fut"])))),
        abs(a.inflation_factor - r["obf_if"]),
        abs(b.inflation_factor - r["hsd_if"]),
    )
    t_obf = per_call(obf, args.loops)
    t_hsd = per_call(hsd, max(1, args.loops // 5))
    print(
        f"{platform.python_implementation()} {platform.python_version()}; {r['R']}, "
        f"rpact {r['version']}"
    )
    print(
        f"max abs difference vs rpact (boundaries, futility bounds, inflation factor): {diff:.1e}"
    )
    print(f"{'design (k = 5)':<42} {'cpstem':>10} {'rpact':>10} {'ratio':>8}")
    for name, mine, theirs in (
        ("asOF, boundaries + characteristics", t_obf, r["obf"]),
        ("asHSD(-4) + bsHSD(-2) futility, non-binding", t_hsd, r["hsd"]),
    ):
        print(f"{name:<42} {1000 * mine:>8.2f}ms {1000 * theirs:>8.2f}ms {theirs / mine:>7.1f}x")

    from cpstem.design import power_means, simulate_power

    rs = json.loads(
        subprocess.run(
            ["Rscript", "-e", R_SIM, str(args.sims)], capture_output=True, text=True, check=True
        ).stdout
    )
    start = time.perf_counter()
    sim = simulate_power(30, 0.6, 1.0, correlation=0.7, n_sims=args.sims, seed=1)
    t_sim = time.perf_counter() - start
    closed = power_means(30, 0.6, 1.0, analysis="ancova", correlation=0.7).power
    print(
        f"{args.sims} simulated ANCOVA trials (30 + 30): power cpstem {sim.power:.4f} "
        f"(MC SE {sim.mc_se:.4f}), R {rs['power']:.4f}, closed form {closed:.4f}"
    )
    name = f"{args.sims} simulated trials"
    print(f"{name:<42} {t_sim:>8.2f}s  {rs['seconds']:>8.2f}s  {rs['seconds'] / t_sim:>7.1f}x")


if __name__ == "__main__":
    main()
