"""Vectorised root finding that takes exactly the steps R's ``uniroot`` takes.

metafor finds the Paule-Mandel tau^2 with ``uniroot(tol = .Machine$double.eps^0.25)``, so its
answer is only accurate to about 1e-4. To give metafor's numbers we follow the same algorithm:
Brent's zero finder as published by Forsythe, Malcolm & Moler (*Computer Methods for
Mathematical Computations*, 1977, ``zeroin``; Brent 1973, ch. 4), with R's conventions (roots
at an end point returned at once, ``maxiter + 1`` passes, the last iterate returned when the
budget runs out). Every row of a batch runs its own iteration; converged rows stop changing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = np.finfo(float).eps

RowFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def zeroin(
    f: RowFunction,
    ax: np.ndarray,
    bx: np.ndarray,
    fa: np.ndarray,
    fb: np.ndarray,
    tol: float,
    maxiter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Roots of ``f`` per row in ``[ax, bx]`` (``fa``/``fb`` the values at the ends).

    ``f(x, rows)`` evaluates the function of the rows ``rows`` (integer indices) at ``x``.
    Returns ``(root, converged)``.
    """
    if np.size(ax) == 1:  # one row: the same steps in plain floats (much less overhead)
        one = np.zeros(1, dtype=int)

        def f1(x: float) -> float:
            return float(f(np.array([x]), one)[0])

        r, ok = _zeroin1(
            f1,
            float(np.ravel(ax)[0]),
            float(np.ravel(bx)[0]),
            float(np.ravel(fa)[0]),
            float(np.ravel(fb)[0]),
            tol,
            maxiter,
        )
        return np.array([r]), np.array([ok])
    a = np.array(ax, dtype=float)
    b = np.array(bx, dtype=float)
    fa = np.array(fa, dtype=float)
    fb = np.array(fb, dtype=float)
    c = a.copy()
    fc = fa.copy()
    root = np.full(a.shape, np.nan)
    conv = np.zeros(a.shape, dtype=bool)
    at_a = fa == 0.0
    root[at_a] = a[at_a]
    at_b = ~at_a & (fb == 0.0)
    root[at_b] = b[at_b]
    conv[at_a | at_b] = True
    active = np.flatnonzero(~conv)
    with np.errstate(all="ignore"):
        for _ in range(maxiter + 1):
            if active.size == 0:
                break
            A, B, C = a[active], b[active], c[active]
            FA, FB, FC = fa[active], fb[active], fc[active]
            prev_step = B - A
            swap = np.abs(FC) < np.abs(FB)
            A = np.where(swap, B, A)
            B = np.where(swap, C, B)
            C = np.where(swap, A, C)
            FA = np.where(swap, FB, FA)
            FB = np.where(swap, FC, FB)
            FC = np.where(swap, FA, FC)
            tol_act = 2.0 * EPS * np.abs(B) + tol / 2.0
            new_step = (C - B) / 2.0
            done = (np.abs(new_step) <= tol_act) | (FB == 0.0)
            if done.any():
                idx = active[done]
                root[idx] = B[done]
                conv[idx] = True
                a[idx], b[idx], c[idx] = A[done], B[done], C[done]
            keep = ~done
            active = active[keep]
            A, B, C, FA, FB, FC = A[keep], B[keep], C[keep], FA[keep], FB[keep], FC[keep]
            prev_step, tol_act, new_step = prev_step[keep], tol_act[keep], new_step[keep]
            if active.size == 0:
                break
            interp = (np.abs(prev_step) >= tol_act) & (np.abs(FA) > np.abs(FB))
            cb = C - B
            linear = A == C
            t1_lin = FB / FA
            p_lin = cb * t1_lin
            q_lin = 1.0 - t1_lin
            q0 = FA / FC
            t1 = FB / FC
            t2 = FB / FA
            p_quad = t2 * (cb * q0 * (q0 - t1) - (B - A) * (t1 - 1.0))
            q_quad = (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            p = np.where(linear, p_lin, p_quad)
            q = np.where(linear, q_lin, q_quad)
            q = np.where(p > 0.0, -q, q)
            p = np.where(p > 0.0, p, -p)
            accept = (p < (0.75 * cb * q - np.abs(tol_act * q) / 2.0)) & (
                p < np.abs(prev_step * q / 2.0)
            )
            new_step = np.where(interp & accept, p / q, new_step)
            small = np.abs(new_step) < tol_act
            new_step = np.where(small, np.where(new_step > 0.0, tol_act, -tol_act), new_step)
            A, FA = B, FB
            B = B + new_step
            FB = f(B, active)
            flip = ((FB > 0) & (FC > 0)) | ((FB < 0) & (FC < 0))
            C = np.where(flip, A, C)
            FC = np.where(flip, FA, FC)
            a[active], b[active], c[active] = A, B, C
            fa[active], fb[active], fc[active] = FA, FB, FC
    root[active] = b[active]
    return root, conv


def _zeroin1(
    f: Callable[[float], float],
    a: float,
    b: float,
    fa: float,
    fb: float,
    tol: float,
    maxiter: int,
) -> tuple[float, bool]:
    """Scalar twin of :func:`zeroin` (identical arithmetic, so identical iterates)."""
    c, fc = a, fa
    if fa == 0.0:
        return a, True
    if fb == 0.0:
        return b, True
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b, True
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b = b + new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b, False


def bisect_decreasing(
    g: RowFunction, lo: np.ndarray, hi: np.ndarray, iterations: int = 200
) -> np.ndarray:
    """Per-row root of a function that is >= 0 at ``lo`` and <= 0 at ``hi`` (plain bisection).

    Used by the fall-back optimizer: slow but certain, to full double precision.
    """
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    rows = np.arange(lo.size)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if np.all((mid == lo) | (mid == hi)):
            break
        pos = g(mid, rows) > 0.0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    return 0.5 * (lo + hi)
