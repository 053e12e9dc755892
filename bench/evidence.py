"""Meta-analysis speed: cpstem.evidence vs R's metafor (timed inside R) and statsmodels.

(a) one REML fit of a k = 20 dataset: ``rma`` vs metafor ``rma`` (in-process loop in Rscript)
    and, like with like, DerSimonian-Laird and Paule-Mandel vs statsmodels ``combine_effects``
    (which has no REML);
(b) 10,000 REML meta-analyses of k = 20: ``rma_batch`` vs a loop of metafor ``rma`` in R;
(c) GOSH on k = 15 (all 32,767 subsets, REML and DL): ``gosh`` (through ``rma_batch``) vs
    metafor ``gosh()`` timed inside R in the same run (``--no-gosh`` skips it);
(d) the same 10,000 meta-analyses per estimator: ``rma_batch`` vs PyMARE (vectorised Python
    peer, the ``bench`` extra), ms per fit and the largest |tau^2 - metafor| of each.

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


GOSH_R = r"""
suppressPackageStartupMessages(library(metafor))
d <- as.matrix(read.csv(commandArgs(TRUE)[1], header = FALSE))
out <- list()
for (m in c("REML", "DL")) {
  res <- rma(d[, 1], d[, 2], method = m)
  t0 <- proc.time()[["elapsed"]]
  g <- gosh(res, progbar = FALSE)
  out[[m]] <- list(seconds = proc.time()[["elapsed"]] - t0, n = nrow(g$res),
                   tau2 = g$res$tau2, incl = as.vector(g$incl %*% 2^(seq_len(ncol(g$incl)) - 1)))
}
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"))
"""


def gosh_bench(k: int = 15) -> None:
    """(c) GOSH on all 2^k - 1 subsets: cpstem vs metafor, same data, same run."""
    from cpstem.evidence import gosh

    rng = np.random.default_rng(15)
    v = rng.uniform(0.01, 0.2, k)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "gosh.csv"
        np.savetxt(data, np.column_stack([y, v]), delimiter=",", fmt="%.17g")
        script = Path(tmp) / "gosh.R"
        script.write_text(GOSH_R)
        out = subprocess.run(
            ["Rscript", str(script), str(data)], check=True, capture_output=True, text=True
        )
    r = json.loads(out.stdout)
    print(f"\n(c) GOSH, k = {k}: all {2**k - 1:,} subsets")
    for m in ("REML", "DL"):
        fit = rma(y, v, method=m)
        ours = per_call(lambda fit=fit: gosh(fit), 1, repeats=3)
        g = gosh(fit)
        order = np.argsort(np.array(r[m]["incl"]))
        tau2_r = np.array([np.nan if t is None else t for t in r[m]["tau2"]], dtype=float)
        dt = np.nanmax(np.abs(g.tau2 - tau2_r[order]))
        print(
            f"  {m:<5} cpstem {ours:7.3f} s   metafor {r[m]['seconds']:7.2f} s   "
            f"ratio {r[m]['seconds'] / ours:7.1f}x (aim >= 100x)   max |tau2 diff| {dt:.1e}"
        )


#: cpstem method -> PyMARE estimator (its constructor keywords) for the per-estimator table
PYMARE_PEERS = (
    ("FE", "WeightedLeastSquares", {"tau2": 0.0}),
    ("DL", "DerSimonianLaird", {}),
    ("HE", "Hedges", {}),
    ("ML", "VarianceBasedLikelihoodEstimator", {"method": "ML"}),
    ("REML", "VarianceBasedLikelihoodEstimator", {"method": "REML"}),
)


def pymare_bench(Y: np.ndarray, V: np.ndarray, tau2_metafor: np.ndarray) -> None:
    """(d) the vectorised Python peer: PyMARE (``bench`` extra) against ``rma_batch``.

    Like with like per estimator and test: cpstem ``test="z"`` against PyMARE's
    ``small_sample_correction="wald"``, ``test="knha"`` against its ``"knapp-hartung"``.
    PyMARE's ``fit`` returns tau^2, the estimate, its covariance and df; ``rma_batch`` returns
    the full metafor result per row (estimate, SE, test, p, CI, tau^2 and its SE, Q and its p,
    I^2, H^2, QM, prediction interval), all computed in the timed call except the t-test p
    values (knha), computed on first use: the column "+p" times the call with ``.pval`` read.
    """
    try:
        import pymare
        from pymare import estimators
    except ImportError:
        print("\n(d) PyMARE not installed (pip install -e '.[bench]')")
        return
    n = Y.shape[0]
    X = np.ones((Y.shape[1], 1))
    ok = ~np.isnan(tau2_metafor)
    print(
        f"\n(d) {n:,} meta-analyses of k = {Y.shape[1]}: rma_batch vs PyMARE "
        f"{pymare.__version__} (ms per fit, best of 5 runs of all {n:,})"
    )
    print(
        f"  {'method':<7}{'test':<6}{'cpstem':>10}{'PyMARE':>10}{'ratio':>9}{'cpstem +p':>11}"
        f"{'ratio':>8}{'max|tau2-metafor| cpstem':>27}{'PyMARE':>10}"
    )
    for m, name, kw in PYMARE_PEERS:
        for test, ssc in (("z", "wald"), ("knha", "knapp-hartung")):

            def run(name=name, kw=kw, ssc=ssc):
                e = getattr(estimators, name)(**kw, small_sample_correction=ssc)
                e.fit(y=Y.T, v=V.T, X=X)
                return e

            t_pm = per_call(run, 1, repeats=5)
            t_us = per_call(lambda m=m, test=test: rma_batch(Y, V, method=m, test=test), 1, 5)
            line = (
                f"  {m:<7}{test:<6}{t_us / n * 1e3:10.5f}{t_pm / n * 1e3:10.5f}{t_pm / t_us:8.2f}x"
            )
            if test == "knha":
                t_p = per_call(
                    lambda m=m: rma_batch(Y, V, method=m, test="knha").pval, 1, repeats=5
                )
                line += f"{t_p / n * 1e3:11.5f}{t_pm / t_p:7.2f}x"
            else:
                line += " " * 19
            if m == "REML" and test == "z":
                tp = np.asarray(run().params_["tau2"], dtype=float).reshape(-1)
                ours = rma_batch(Y, V, method="REML").tau2
                line += (
                    f"{np.max(np.abs(ours - tau2_metafor)[ok]):27.1e}"
                    f"{np.max(np.abs(tp - tau2_metafor)[ok]):10.1e}"
                )
            print(line)
    print("  ratio > 1: cpstem faster")


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
    parser.add_argument("--no-gosh", action="store_true", help="skip the GOSH comparison")
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
    pymare_bench(Y, V, tau2_r)
    if not args.no_gosh:
        gosh_bench()


if __name__ == "__main__":
    main()
