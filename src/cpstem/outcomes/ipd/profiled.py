"""The profiled deviance of a linear mixed model with one grouping factor, as lme4 computes it.

Model (Bates, Mächler, Bolker & Walker 2015, J Stat Softw 67(1), sections 3.1–3.4)::

    y = X beta + Z b + e,   b = Lambda_theta u,   u ~ N(0, sigma^2 I),   e ~ N(0, sigma^2 I)

With a single grouping factor, Z is block diagonal (child i has an n_i x q block Z_i) and so is
Lambda_theta (the same q x q lower-triangular factor T for every child). The sparse Cholesky
factor of ``Lambda' Z' Z Lambda + I`` is then block diagonal too: one q x q factor L_i per
child, and the penalised least-squares problem reduces to per-child q x q solves plus the
p x p Schur complement ``R_X' R_X = X'X - sum_i R_ZX,i' R_ZX,i``. Everything per child is done on
stacked arrays (no Python loop over children), from the sufficient statistics ``Z_i'Z_i``,
``Z_i'X_i``, ``Z_i'y_i`` computed once.

Profiled deviances (equations 34 and 41 of the paper)::

    ML:    log|L|^2 + n (1 + log(2 pi r^2 / n))
    REML:  log|L|^2 + log|R_X|^2 + (n - p) (1 + log(2 pi r^2 / (n - p)))

where r^2 is the penalised residual sum of squares. theta holds the lower triangle of T
column by column (lme4's order); its diagonal elements are bounded below by 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg, optimize


@dataclass(frozen=True)
class BlockStats:
    """Sufficient statistics of a one-factor mixed model: per-group cross-products.

    The group axis is last (``ztz[a, b]`` is a contiguous vector over the m groups), so every
    per-group operation is a handful of vector operations.
    """

    ztz: np.ndarray  # (q, q, m)  Z_i'Z_i
    ztxy: np.ndarray  # (q, p + 1, m)  [Z_i'X_i  Z_i'y_i]
    xtx: np.ndarray  # (p, p)
    xty: np.ndarray  # (p,)
    yty: float
    n: int
    beta_offset: np.ndarray  # (p,) the OLS fit subtracted from y (added back to beta)

    @property
    def m(self) -> int:
        return int(self.ztz.shape[2])

    @property
    def q(self) -> int:
        return int(self.ztz.shape[0])

    @property
    def p(self) -> int:
        return int(self.xtx.shape[0])


def block_stats(x: np.ndarray, y: np.ndarray, z: np.ndarray, codes: np.ndarray) -> BlockStats:
    """Cross-products per group from the row-level X (n x p), y (n), Z (n x q), group codes.

    y is first replaced by its residual from the ordinary least-squares fit on X: the profiled
    deviance is unchanged (the model holds X beta), beta shifts by the OLS coefficients (kept in
    ``beta_offset``), and y'y no longer dwarfs the penalised residual sum of squares, so the
    deviance keeps its digits (and finite-difference gradients stay accurate) at large n.
    """
    beta_offset = np.linalg.lstsq(x, y, rcond=None)[0]
    y = y - x @ beta_offset
    m = int(codes.max()) + 1
    q = z.shape[1]
    p = x.shape[1]
    xy = np.column_stack([x, y])

    def per_group(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=m)

    ztz = np.empty((q, q, m))
    ztxy = np.empty((q, p + 1, m))
    for a in range(q):
        for b in range(a, q):
            ztz[a, b] = ztz[b, a] = per_group(z[:, a] * z[:, b])
        for j in range(p + 1):
            ztxy[a, j] = per_group(z[:, a] * xy[:, j])
    return BlockStats(
        ztz=ztz,
        ztxy=ztxy,
        xtx=x.T @ x,
        xty=x.T @ y,
        yty=float(y @ y),
        n=len(y),
        beta_offset=beta_offset,
    )


def theta_size(q: int) -> int:
    return q * (q + 1) // 2


def theta_lower(q: int) -> np.ndarray:
    """Lower bounds of theta: 0 on the diagonal of T, -inf below it (lme4's ``lower``)."""
    rows, cols = _tril_colmajor(q)
    return np.where(rows == cols, 0.0, -np.inf)


def theta_start(q: int) -> np.ndarray:
    """lme4's default start: T = identity."""
    rows, cols = _tril_colmajor(q)
    return np.where(rows == cols, 1.0, 0.0)


def _tril_colmajor(q: int) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.triu_indices(q)  # column-major order of the lower triangle
    return rows, cols


def lambda_factor(theta: np.ndarray, q: int) -> np.ndarray:
    """The q x q lower-triangular relative covariance factor T from theta."""
    t = np.zeros((q, q))
    rows, cols = _tril_colmajor(q)
    t[rows, cols] = theta
    return t


@dataclass(frozen=True)
class Solution:
    """The penalised least-squares solution at one theta."""

    deviance: float
    beta: np.ndarray
    pwrss: float
    ldl2: float
    ldrx2: float
    xtx_schur: np.ndarray  # R_X' R_X (p x p)
    u: np.ndarray | None  # (m, q) spherical random effects (with ``full``)
    t: np.ndarray  # (q, q) relative covariance factor


def _left_tt(t: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """``T' B_i`` for every block B_i (stacked as (q, k, m)): q^2 vector operations."""
    q = t.shape[0]
    out = np.zeros_like(blocks)
    for i in range(q):
        for j in range(i, q):  # T lower triangular: t[j, i] is 0 for j < i
            if t[j, i] != 0.0:
                out[i] += t[j, i] * blocks[j]
    return out


def _congruence(t: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """``T' A_i T`` for every symmetric block A_i (stacked as (q, q, m))."""
    right = np.swapaxes(_left_tt(t, np.swapaxes(blocks, 0, 1)), 0, 1)  # A_i T
    return _left_tt(t, right)


def _cholesky_blocks(mat: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of SPD blocks stacked as (q, q, m) (column-by-column, vectorised)."""
    q = mat.shape[0]
    chol = np.zeros_like(mat)
    for j in range(q):
        diag = mat[j, j] - np.sum(chol[j, :j] ** 2, axis=0)
        chol[j, j] = np.sqrt(diag)
        for i in range(j + 1, q):
            chol[i, j] = (mat[i, j] - np.sum(chol[i, :j] * chol[j, :j], axis=0)) / chol[j, j]
    return chol


def _forward(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``L_i^{-1} B_i`` for blocks B_i stacked as (q, k, m)."""
    q = chol.shape[0]
    out = np.empty_like(rhs)
    for i in range(q):
        acc = rhs[i].copy()
        for j in range(i):
            acc -= chol[i, j] * out[j]
        out[i] = acc / chol[i, i]
    return out


def _backward(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``L_i^{-T} b_i`` for vectors b_i stacked as (q, m) (or blocks stacked as (q, k, m))."""
    q = chol.shape[0]
    out = np.empty_like(rhs)
    for i in reversed(range(q)):
        acc = rhs[i].copy()
        for j in range(i + 1, q):
            acc -= chol[j, i] * out[j]
        out[i] = acc / chol[i, i]
    return out


def solve(stats: BlockStats, theta: np.ndarray, reml: bool, full: bool = False) -> Solution:
    """Penalised least squares at ``theta``; the profiled (REML or ML) deviance.

    With ``full``, ``u`` holds the spherical random effects (m, q) at the solution.
    """
    q, p, n = stats.q, stats.p, stats.n
    t = lambda_factor(theta, q)
    # L_i L_i' = T' Z_i'Z_i T + I;  [R_ZX,i  c_u,i] = L_i^{-1} T' [Z_i'X_i  Z_i'y_i]
    mat = _congruence(t, stats.ztz)
    for k in range(q):
        mat[k, k] += 1.0
    chol = _cholesky_blocks(mat)
    solved = _forward(chol, _left_tt(t, stats.ztxy))  # (q, p + 1, m)
    cross = sum(solved[k] @ solved[k].T for k in range(q))  # (p + 1, p + 1), over groups
    schur = stats.xtx - cross[:p, :p]
    rhs_beta = stats.xty - cross[:p, p]
    cu_sq = float(cross[p, p])
    try:
        rx = linalg.cholesky(schur, lower=True)
    except linalg.LinAlgError:
        return Solution(np.inf, np.full(p, np.nan), np.nan, np.nan, np.nan, schur, None, t)
    cbeta = linalg.solve_triangular(rx, rhs_beta, lower=True)
    delta = linalg.solve_triangular(rx.T, cbeta, lower=False)
    beta = delta + stats.beta_offset
    pwrss = stats.yty - cu_sq - float(cbeta @ cbeta)
    ldl2 = 2.0 * float(sum(np.sum(np.log(chol[k, k])) for k in range(q)))
    ldrx2 = 2.0 * float(np.sum(np.log(np.diag(rx))))
    if not pwrss > 0:
        return Solution(np.inf, beta, pwrss, ldl2, ldrx2, schur, None, t)
    if reml:
        nmp = n - p
        dev = ldl2 + ldrx2 + nmp * (1.0 + np.log(2.0 * np.pi * pwrss / nmp))
    else:
        dev = ldl2 + n * (1.0 + np.log(2.0 * np.pi * pwrss / n))
    u = None
    if full:
        resid = solved[:, p, :] - np.einsum("kjm,j->km", solved[:, :p, :], delta)
        u = _backward(chol, resid).T
    return Solution(float(dev), beta, pwrss, ldl2, ldrx2, schur, u, t)


def _times(mat: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """``C_i B_i`` for per-group (q, q, m) matrices C_i and blocks (q, ..., m)."""
    q = mat.shape[0]
    return np.stack([sum(mat[a, b] * blocks[b] for b in range(q)) for a in range(q)])


def deviance_gradient(stats: BlockStats, theta: np.ndarray, reml: bool) -> tuple[float, np.ndarray]:
    """The profiled deviance and its exact gradient in theta.

    With A_i = Z_i'Z_i, B_i = Z_i'X_i, M_i = T'A_iT + I and E_k the derivative of T in theta_k
    (a single 1 at the k-th lower-triangle position (r, c)):

    - d log|L|^2 = 2 sum_i (M_i^{-1} T' A_i)[c, r];
    - d r^2 = -2 sum_i (Z_i' resid_i)[r] u_i[c] (envelope theorem: beta and u are optimal);
    - REML: d log|R_X|^2 = -2 sum_i H_i[c]' S^{-1} (B_i - A_i T H_i)[r], with
      H_i = M_i^{-1} T' B_i and S = R_X' R_X.
    """
    q, p, n = stats.q, stats.p, stats.n
    t = lambda_factor(theta, q)
    mat = _congruence(t, stats.ztz)
    for k in range(q):
        mat[k, k] += 1.0
    chol = _cholesky_blocks(mat)
    solved = _forward(chol, _left_tt(t, stats.ztxy))
    cross = sum(solved[k] @ solved[k].T for k in range(q))
    schur = stats.xtx - cross[:p, :p]
    try:
        rx = linalg.cholesky(schur, lower=True)
    except linalg.LinAlgError:
        return np.inf, np.full(len(theta), np.nan)
    cbeta = linalg.solve_triangular(rx, stats.xty - cross[:p, p], lower=True)
    delta = linalg.solve_triangular(rx.T, cbeta, lower=False)
    pwrss = stats.yty - float(cross[p, p]) - float(cbeta @ cbeta)
    ldl2 = 2.0 * float(sum(np.sum(np.log(chol[k, k])) for k in range(q)))
    ldrx2 = 2.0 * float(np.sum(np.log(np.diag(rx))))
    if not pwrss > 0:
        return np.inf, np.full(len(theta), np.nan)
    nmp = n - p if reml else n
    dev = (ldrx2 if reml else 0.0) + ldl2 + nmp * (1.0 + np.log(2.0 * np.pi * pwrss / nmp))
    b = stats.ztxy[:, :p, :]  # (q, p, m)
    u = _backward(chol, solved[:, p, :] - np.einsum("kjm,j->km", solved[:, :p, :], delta))
    tu = np.stack([sum(t[a, c] * u[c] for c in range(q)) for a in range(q)])  # T u_i
    w = stats.ztxy[:, p, :] - np.einsum("kjm,j->km", b, delta) - _times(stats.ztz, tu)
    g_mat = _backward(chol, _forward(chol, _left_tt(t, stats.ztz)))  # M^{-1} T'A  (q, q, m)
    rows, cols = _tril_colmajor(q)
    grad = np.empty(len(theta))
    if reml:
        h = _backward(chol, solved[:, :p, :])  # M^{-1} T'B  (q, p, m)
        th = np.stack([sum(t[a, c] * h[c] for c in range(q)) for a in range(q)])
        d = b - _times(stats.ztz, th)  # B - A T H
        hs = np.einsum("kjm,jl->klm", h, linalg.cho_solve((rx, True), np.eye(p)))
    for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
        dpw = -2.0 * float(np.sum(w[r] * u[c]))
        grad[k] = 2.0 * float(np.sum(g_mat[c, r])) + nmp * dpw / pwrss
        if reml:
            grad[k] -= 2.0 * float(np.sum(hs[c] * d[r]))
    return float(dev), grad


@dataclass(frozen=True)
class Optimum:
    theta: np.ndarray
    deviance: float
    converged: bool
    message: str
    n_evaluations: int
    optimizer: str


def _gradient(f: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    """Central differences (step 1e-6 relative): a check on :func:`deviance_gradient`."""
    g = np.empty_like(theta)
    for k in range(len(theta)):
        h = 1e-6 * max(1.0, abs(theta[k]))
        step = np.zeros_like(theta)
        step[k] = h
        g[k] = (f(theta + step) - f(theta - step)) / (2 * h)
    return g


def _hessian(grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """Central differences of the exact gradient (step 1e-5 relative), symmetrised."""
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        step = np.zeros(k)
        step[j] = h
        hess[:, j] = (grad(theta + step) - grad(theta - step)) / (2 * h)
    return (hess + hess.T) / 2


def _free(theta: np.ndarray, g: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Coordinates not held at their bound (at a bound with the gradient pushing outwards)."""
    return ~((theta <= lower + 1e-10) & (g >= 0))


def _scaled(g: np.ndarray, hess: np.ndarray) -> float:
    """lme4's convergence measure ``max |solve(chol(H), g)|`` (max |g| if H is not PD)."""
    if g.size == 0:
        return 0.0
    try:
        return float(np.max(np.abs(np.linalg.solve(np.linalg.cholesky(hess), g))))
    except np.linalg.LinAlgError:
        return float(np.max(np.abs(g)))


def optimise(stats: BlockStats, reml: bool, start: np.ndarray | None = None) -> Optimum:
    """Minimise the profiled deviance over theta (diagonal bounded below by 0).

    L-BFGS-B with the exact gradient (:func:`deviance_gradient`) from lme4's start (T = I), then
    projected Newton steps with the Hessian from differences of the gradient (coordinates at a
    bound whose gradient points out of the region stay there). If the Hessian-scaled projected
    gradient is not below 2e-3 (lme4's ``check.conv.grad`` measure and tolerance) after that,
    a bounded Nelder–Mead restart; the lowest deviance is kept and ``converged`` reports the
    check.
    """
    q = stats.q
    lower = theta_lower(q)
    bounds: list[tuple[float | None, float | None]] = [
        (float(lo) if np.isfinite(lo) else None, None) for lo in lower
    ]
    x0 = theta_start(q) if start is None else np.asarray(start, dtype=float)
    count = [0]

    def fg(theta: np.ndarray) -> tuple[float, np.ndarray]:
        count[0] += 1
        return deviance_gradient(stats, np.maximum(theta, lower), reml)

    def grad(theta: np.ndarray) -> np.ndarray:
        return fg(theta)[1]

    res = optimize.minimize(
        fg,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 1000},
    )
    x = np.maximum(res.x, lower)
    fx, g = fg(x)
    optimizer = "L-BFGS-B"
    max_grad = np.inf
    for _ in range(5):  # projected Newton polish; also gives the convergence measure
        free = _free(x, g, lower)
        if not free.any():
            max_grad = 0.0
            break
        hess = _hessian(grad, x)[np.ix_(free, free)]
        max_grad = _scaled(g[free], hess)
        if max_grad < 1e-6:
            break
        try:
            step = np.linalg.solve(hess, g[free])
        except np.linalg.LinAlgError:
            break
        trial = x.copy()
        trial[free] -= step
        trial = np.maximum(trial, lower)
        ft, gt = fg(trial)
        if not ft < fx:
            break
        x, fx, g = trial, ft, gt
        optimizer = "L-BFGS-B + Newton"
        max_grad = np.inf
    # a diagonal element within 1e-5 of its bound: try the boundary itself (a singular fit)
    near = (lower == 0) & (x > 0) & (x < 1e-5)
    if near.any():
        trial = np.where(near, 0.0, x)
        ft, gt = fg(trial)
        if ft <= fx + 1e-10:
            x, fx, g = trial, min(ft, fx), gt
            max_grad = np.inf
    if not np.isfinite(max_grad):
        free = _free(x, g, lower)
        max_grad = _scaled(g[free], _hessian(grad, x)[np.ix_(free, free)]) if free.any() else 0.0
    if not (np.isfinite(fx) and max_grad < 2e-3):

        def dev(theta: np.ndarray, *_: Any) -> float:
            return fg(theta)[0]

        nm = optimize.minimize(
            dev,
            x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-10, "fatol": 1e-12, "maxfev": 2000 * len(x0), "adaptive": True},
        )
        if nm.fun < fx:
            x, optimizer = np.maximum(nm.x, lower), "Nelder-Mead"
            fx, g = fg(x)
            free = _free(x, g, lower)
            hess = _hessian(grad, x)[np.ix_(free, free)]
            max_grad = _scaled(g[free], hess) if free.any() else 0.0
    converged = bool(np.isfinite(fx) and max_grad < 2e-3)
    state = "converged" if converged else "not converged"
    return Optimum(
        theta=x,
        deviance=float(fx),
        converged=converged,
        message=f"{optimizer}: scaled max|grad| {max_grad:.2g} ({state})",
        n_evaluations=count[0],
        optimizer=optimizer,
    )
