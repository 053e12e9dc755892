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


if __name__ == "__main__":
    main()
