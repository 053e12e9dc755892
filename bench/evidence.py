"""Meta-analysis speed: cpstem.evidence vs R's metafor (timed inside R) and statsmodels.

(a) one REML fit of a k = 20 dataset: ``rma`` vs metafor ``rma`` (in-process loop in Rscript)
    and, like with like, DerSimonian-Laird and Paule-Mandel vs statsmodels ``combine_effects``
    (which has no REML);
(b) 10,000 REML meta-analyses of k = 20: ``rma_batch`` vs a loop of metafor ``rma`` in R.

Run: ``make bench`` or ``.venv/bin/python bench/evidence.py [--n 10000] [--r-loops 2000]``.
Needs Rscript with metafor (``make bench`` installs Debian's r-cran-metafor) and statsmodels
(the ``bench`` extra). Prints timings and ratios; record them in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from cpstem.evidence import rma, rma_batch

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- as.matrix(read.csv(args[1], header = FALSE))
k <- ncol(d) / 2
Y <- d[, 1:k]; V <- d[, (k + 1):(2 * k)]
loops <- as.integer(args[2])
yi <- Y[1, ]; vi <- V[1, ]
one <- function(method) {
  for (i in 1:20) rma(yi, vi, method = method)
  t0 <- proc.time()[["elapsed"]]
  for (i in 1:loops) rma(yi, vi, method = method)
  (proc.time()[["elapsed"]] - t0) / loops
}
single <- list(REML = one("REML"), DL = one("DL"), PM = one("PM"))
n <- nrow(Y)
tau2 <- numeric(n); est <- numeric(n)
t0 <- proc.time()[["elapsed"]]
for (i in 1:n) {
  r <- try(rma(Y[i, ], V[i, ], method = "REML"), silent = TRUE)
  if (inherits(r, "try-error")) { tau2[i] <- NA; est[i] <- NA; next }
  tau2[i] <- r$tau2; est[i] <- r$beta[1]
}
batch <- proc.time()[["elapsed"]] - t0
ref <- rma(yi, vi, method = "REML")
cat(jsonlite::toJSON(list(single = single, batch = batch, tau2 = tau2, est = est,
                          version = as.character(packageVersion("metafor")),
                          R = R.version.string, ref_tau2 = ref$tau2),
                     auto_unbox = TRUE, digits = NA, na = "null"))
"""


def datasets(n: int, k: int, seed: int = 2026) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    V = rng.uniform(0.01, 0.2, (n, k)) * rng.uniform(0.5, 2.0, (n, 1))
    tau2 = rng.choice([0.0, 0.02, 0.1, 0.3], (n, 1))
    Y = rng.normal(rng.uniform(-0.5, 0.8, (n, 1)), np.sqrt(V + tau2))
    return Y, V


def per_call(func, loops: int, repeats: int = 5) -> float:
    for _ in range(min(loops, 50)):
        func()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            func()
        best = min(best, (time.perf_counter() - start) / loops)
    return best


def run_r(Y: np.ndarray, V: np.ndarray, loops: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.csv"
        np.savetxt(data, np.hstack([Y, V]), delimiter=",", fmt="%.17g")
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(data), str(loops)],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="meta-analyses in (b)")
    parser.add_argument("--k", type=int, default=20, help="studies per meta-analysis")
    parser.add_argument("--r-loops", type=int, default=2000, help="single fits timed in R")
    args = parser.parse_args()
    Y, V = datasets(args.n, args.k)
    yi, vi = Y[0], V[0]

    print(f"Meta-analysis benchmark (Python {platform.python_version()}, NumPy {np.__version__})")
    print("Running metafor in Rscript (single fits, then the loop over all datasets) ...")
    r = run_r(Y, V, args.r_loops)
    print(f"  {r['R']}, metafor {r['version']}")

    ours = {m: per_call(lambda m=m: rma(yi, vi, method=m), 2000) for m in ("REML", "DL", "PM")}
    assert abs(rma(yi, vi).tau2 - r["ref_tau2"]) <= 1e-6 * max(r["ref_tau2"], 1e-2)

    sm = {}
    try:
        from statsmodels.stats.meta_analysis import combine_effects

        # estimate + CI: the least a comparable fit reports (statsmodels computes lazily)
        sm["DL"] = per_call(
            lambda: combine_effects(yi, vi, method_re="chi2").conf_int(use_t=False), 300
        )
        sm["PM"] = per_call(
            lambda: combine_effects(yi, vi, method_re="iterated").conf_int(use_t=False), 300
        )
        sm_version = __import__("statsmodels").__version__
    except ImportError:
        sm_version = None

    print(f"\n(a) one fit, k = {args.k} (per fit)")
    print(
        f"  {'method':<6}{'cpstem':>12}{'metafor':>12}{'ratio':>9}{'statsmodels':>14}{'ratio':>9}"
    )
    for m in ("REML", "DL", "PM"):
        line = (
            f"  {m:<6}{ours[m] * 1e3:9.3f} ms{r['single'][m] * 1e3:9.3f} ms"
            f"{r['single'][m] / ours[m]:8.1f}x"
        )
        if m in sm:
            line += f"{sm[m] * 1e3:11.3f} ms{sm[m] / ours[m]:8.1f}x"
        else:
            line += f"{'(no REML)' if m == 'REML' else 'n/a':>14}"
        print(line)
    if sm_version:
        print(
            f"  statsmodels {sm_version} combine_effects has DL ('chi2') and PM ('iterated') "
            "only; compared like with like (its fit + conf_int vs cpstem's full result: "
            "estimate, CI, tests, Q, I^2, H^2, prediction interval). Ratio < 1: statsmodels "
            "is faster."
        )

    start = time.perf_counter()
    b = rma_batch(Y, V, method="REML")
    batch_s = time.perf_counter() - start
    batch_s = min(batch_s, per_call(lambda: rma_batch(Y, V, method="REML"), 1, repeats=3))
    tau2_r = np.array(r["tau2"], dtype=float)
    est_r = np.array(r["est"], dtype=float)
    ok = ~np.isnan(tau2_r)
    dt = np.max(np.abs(b.tau2 - tau2_r)[ok] / np.maximum(np.abs(tau2_r[ok]), 1e-2))
    de = np.max(np.abs(b.estimate - est_r)[ok] / np.maximum(np.abs(est_r[ok]), 1e-2))
    print(f"\n(b) {args.n:,} REML meta-analyses of k = {args.k}")
    print(f"  cpstem rma_batch   : {batch_s:8.3f} s  ({args.n / batch_s:,.0f} fits/s)")
    print(f"  metafor rma loop   : {r['batch']:8.3f} s  ({args.n / r['batch']:,.0f} fits/s)")
    print(f"  ratio              : {r['batch'] / batch_s:8.1f}x  (aim >= 100x)")
    print(f"  same numbers: max relative difference tau2 {dt:.1e}, estimate {de:.1e}")
    print(
        f"  metafor's Fisher scoring failed on {int((~ok).sum())} datasets; cpstem fitted "
        f"all {int(b.ok.sum())} ({int((b.status == 1).sum())} by its fall-back optimizer)"
    )
    print(f"\n(a) REML ratio vs metafor: {r['single']['REML'] / ours['REML']:.1f}x (aim >= 5x)")


if __name__ == "__main__":
    main()
