"""Normal, t, chi-square and F tail functions (fast ``scipy.special`` ufuncs, R semantics).

Each takes and returns NumPy arrays (or floats); ``df`` <= 0 gives NaN like R's ``qt``/``pt``
would make metafor report ``NA``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

ArrayLike = float | np.floating[Any] | np.ndarray


def two_sided_p_norm(stat: ArrayLike) -> ArrayLike:
    """``2 * pnorm(abs(stat), lower.tail = FALSE)``."""
    return 2.0 * special.ndtr(-np.abs(stat))


def two_sided_p_t(stat: ArrayLike, df: ArrayLike) -> ArrayLike:
    """``2 * pt(abs(stat), df, lower.tail = FALSE)``; NaN where ``df <= 0``."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        p = 2.0 * special.stdtr(np.where(df > 0, df, np.nan), -np.abs(stat))
    return p


def crit_norm(alpha: float) -> float:
    """``qnorm(alpha / 2, lower.tail = FALSE)``."""
    return float(-special.ndtri(alpha / 2.0))


def crit_t(alpha: float, df: ArrayLike) -> ArrayLike:
    """``qt(alpha / 2, df, lower.tail = FALSE)``; NaN where ``df <= 0``."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        q = -special.stdtrit(np.where(df > 0, df, np.nan), alpha / 2.0)
    return q


#: Largest df of the finite-series chi-square tail (more terms are slower than ``chdtrc``).
_SERIES_MAX_DF = 60


def chisq_sf(stat: ArrayLike, df: ArrayLike) -> ArrayLike:
    """``pchisq(stat, df, lower.tail = FALSE)``.

    For many statistics on one small integer df (the Q tests of ``rma_batch``) the closed form
    is used (Abramowitz & Stegun 26.4.4/26.4.5: a finite series of positive terms, ~10x faster
    than ``chdtrc``, equal to it to rounding); otherwise ``scipy.special.chdtrc``.
    """
    x = np.asarray(stat, dtype=float)
    d = np.asarray(df, dtype=float)
    if x.ndim == 1 and x.size >= 64 and d.size:
        d0 = float(d.flat[0])
        small_int = 1 <= d0 <= _SERIES_MAX_DF and d0 == round(d0)
        if small_int and (d.ndim == 0 or bool((d == d0).all())):
            return _chisq_sf_int(x, int(d0))
    return special.chdtrc(df, stat)


def _chisq_sf_int(x: np.ndarray, df: int) -> np.ndarray:
    """Upper chi-square tail for integer ``df`` by the finite series (positive terms)."""
    with np.errstate(all="ignore"):
        half = 0.5 * x
        if df % 2:  # odd: erfc(sqrt(x/2)) + sqrt(2x/pi) e^(-x/2) sum x^(j-1) / (1 3 ... (2j-1))
            out = special.erfc(np.sqrt(half))
            term = np.sqrt(x * (2.0 / np.pi)) * np.exp(-half)
            acc = np.zeros_like(x)
            for j in range(1, (df - 1) // 2 + 1):
                acc += term
                term = term * x / (2 * j + 1)
            out += acc
        else:  # even: e^(-x/2) sum_{j < df/2} (x/2)^j / j!
            term = np.exp(-half)
            out = np.zeros_like(x)
            for j in range(df // 2):
                out += term
                term = term * half / (j + 1)
    # far tails (the terms underflow), negative or NaN statistics: the library function
    odd = ~(x < 600.0) | ~(x >= 0.0)
    if odd.any():
        out[odd] = special.chdtrc(float(df), x[odd])
    return out


def f_sf(stat: ArrayLike, df1: ArrayLike, df2: ArrayLike) -> ArrayLike:
    """``pf(stat, df1, df2, lower.tail = FALSE)``; NaN where ``df2 <= 0``."""
    df2 = np.asarray(df2, dtype=float)
    with np.errstate(invalid="ignore"):
        return special.fdtrc(df1, np.where(df2 > 0, df2, np.nan), stat)


def alpha_from_level(level: float) -> float:
    """metafor's ``.level``: 95 -> 0.05, 0.95 -> 0.05. Other values are rejected."""
    from cpstem.evidence.errors import EvidenceError

    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise EvidenceError(
            f"level {level!r}: give a confidence level such as 95",
            code="not_a_number",
            field="level",
            params={"value": str(level)},
        ) from None
    if 1.0 < lv < 100.0:
        return (100.0 - lv) / 100.0
    if 0.5 < lv < 1.0:
        return 1.0 - lv
    raise EvidenceError(
        f"level {level!r}: give the confidence level in percent (50 < level < 100, e.g. 95) "
        "or as a fraction (0.5 < level < 1)",
        code="out_of_range",
        field="level",
        params={"value": lv},
    )
