"""Batch GMFM-88 scoring of 100,000 sheets vs a loop of the single-sheet scorer.

Run: ``make bench`` or ``.venv/bin/python bench/gmfm_batch.py [--n 100000]``.
Prints both timings and their ratio; record the figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from cpstem.measures import gmfm


def random_sheets(n: int, seed: int = 2026) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.integers(0, 4, size=(n, 88)).astype(float)
    m[rng.random((n, 88)) < 0.1] = np.nan  # 10 % not tested
    return m


def best_of(repeats: int, func) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    matrix = random_sheets(args.n)
    sheets = [
        {j + 1: (None if np.isnan(v) else int(v)) for j, v in enumerate(row)} for row in matrix
    ]

    batch_s = best_of(3, lambda: gmfm.score_gmfm88_batch(matrix, goal_dimensions="D,E"))
    loop_s = best_of(1, lambda: [gmfm.score_gmfm88(s, "D,E") for s in sheets])

    batch = gmfm.score_gmfm88_batch(matrix, goal_dimensions="D,E")
    check = [gmfm.score_gmfm88(sheets[i], "D,E").total for i in range(0, args.n, 997)]
    assert np.array_equal(batch.total[::997], np.array(check)), "batch and loop disagree"

    print(
        f"GMFM-88 scoring of {args.n:,} sheets (Python {platform.python_version()}, "
        f"NumPy {np.__version__})"
    )
    print(f"  batch  score_gmfm88_batch : {batch_s:8.3f} s  ({args.n / batch_s:,.0f} sheets/s)")
    print(f"  loop   score_gmfm88       : {loop_s:8.3f} s  ({args.n / loop_s:,.0f} sheets/s)")
    print(f"  ratio  loop / batch       : {loop_s / batch_s:8.1f}x  (aim >= 100x)")


if __name__ == "__main__":
    main()
