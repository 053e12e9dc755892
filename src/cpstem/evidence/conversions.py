"""Means and SDs from what trial reports give instead: medians, quartiles, ranges, SE, CI.

Trials of cell therapy in cerebral palsy often report GMFM change as median (IQR) or median
(range), or a mean with SEM or a 95 % CI. These helpers estimate the mean and SD so the arm
can enter an SMD/MD meta-analysis. Constants and sources: ``data/conversions.toml``.

* Mean from a five-number summary: Luo et al. 2018 (default; sample-size weighted) or Hozo et
  al. 2005 / Wan et al. 2014 (``(a + 2m + b) / 4`` and ``(q1 + m + q3) / 3`` forms).
* SD from the range and/or the IQR: Wan et al. 2014.
* SD from a standard error or a confidence interval of a mean: Cochrane Handbook 6.5.2.2.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import numpy as np
from scipy import integrate, special, stats

from cpstem.datafiles import toml_data
from cpstem.evidence.errors import EvidenceError


def constants() -> dict[str, Any]:
    """The constants and their sources (``data/conversions.toml``)."""
    return toml_data("cpstem.evidence", "data/conversions.toml")


@cache
def expected_range(n: int) -> float:
    """Expected range of ``n`` standard normal values: Wan et al. 2014, xi(n).

    Exact (numerical integration) for n <= 50 as the paper's Table 1; the paper's closed form
    ``2 * qnorm((n - 0.375) / (n + 0.25))`` beyond.
    """
    c = constants()["wan2014"]
    if n < 2:
        raise EvidenceError(
            f"n = {n}: a range needs at least 2 participants",
            code="out_of_range",
            field="n",
            params={"value": n},
        )
    if n > c["table_max"]:
        return float(2 * special.ndtri((n - c["xi_a"]) / (n + c["xi_b"])))

    def integrand(x: float) -> float:
        p = special.ndtr(x)
        return 1.0 - p**n - (1.0 - p) ** n

    value, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-12)
    return float(value)


def expected_iqr(n: int) -> float:
    """Wan et al. 2014, eta(n) = 2 * qnorm((0.75 n - 0.125) / (n + 0.25))."""
    c = constants()["wan2014"]
    return float(2 * special.ndtri((c["eta_p"] * n - c["eta_a"]) / (n + c["eta_b"])))


def mean_sd_from_median(
    n: int,
    median: float,
    q1: float | None = None,
    q3: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    mean_method: str = "luo",
) -> tuple[float, float]:
    """Estimated ``(mean, sd)`` of an arm reported as median with IQR and/or range.

    Scenario S1: median, minimum, maximum. S2: all five numbers. S3: median, q1, q3.
    ``mean_method``: ``"luo"`` (Luo et al. 2018, default) or ``"wan"`` (Hozo 2005 / Wan 2014
    unweighted forms). The SD is Wan et al. 2014's estimator for the scenario.
    """
    n = int(n)
    if n < 2:
        raise EvidenceError(
            f"n = {n}: need at least 2 participants to estimate an SD",
            code="out_of_range",
            field="n",
            params={"value": n},
        )
    rng = (float(minimum), float(maximum)) if minimum is not None and maximum is not None else None
    iqr = (float(q1), float(q3)) if q1 is not None and q3 is not None else None
    if rng is None and iqr is None:
        raise EvidenceError(
            "give the quartiles (q1, q3) and/or the range (minimum, maximum)",
            code="required",
            field="q1",
        )
    values = [v for v in (minimum, q1, median, q3, maximum) if v is not None]
    if any(b < a for a, b in itertools.pairwise(values)):
        raise EvidenceError(
            f"summary {values}: need minimum <= q1 <= median <= q3 <= maximum",
            code="inconsistent",
            field="median",
            params={"values": values},
        )
    if mean_method not in ("luo", "wan"):
        raise EvidenceError(
            f"mean_method {mean_method!r}: allowed 'luo' or 'wan'",
            code="invalid_choice",
            field="mean_method",
            params={"value": mean_method},
        )
    c = constants()["luo2018"]
    m = float(median)
    if rng is not None and iqr is not None:
        (a, b), (lq, uq) = rng, iqr
        if mean_method == "luo":
            w2 = c["s2_a"] / (c["s2_a"] + n ** c["s2_exp"])
            w3 = c["s2_b"] - c["s2_c"] / n ** c["s2_exp2"]
            mean = w2 * (a + b) / 2 + w3 * (lq + uq) / 2 + (1 - w2 - w3) * m
        else:
            mean = (a + 2 * lq + 2 * m + 2 * uq + b) / 8
        sd = (b - a) / (2 * expected_range(n)) + (uq - lq) / (2 * expected_iqr(n))
    elif rng is not None:
        a, b = rng
        if mean_method == "luo":
            w1 = c["s1_a"] / (c["s1_a"] + n ** c["s1_exp"])
            mean = w1 * (a + b) / 2 + (1 - w1) * m
        else:
            mean = (a + 2 * m + b) / 4
        sd = (b - a) / expected_range(n)
    elif iqr is not None:
        lq, uq = iqr
        if mean_method == "luo":
            w = c["s3_b"] + c["s3_c"] / n
            mean = w * (lq + uq) / 2 + (1 - w) * m
        else:
            mean = (lq + m + uq) / 3
        sd = (uq - lq) / expected_iqr(n)
    return float(mean), float(sd)


def hozo_mean_sd(n: int, median: float, minimum: float, maximum: float) -> tuple[float, float]:
    """Hozo et al. 2005: mean ``(a + 2m + b) / 4``, SD ``sqrt(((a-2m+b)^2/4 + (b-a)^2) / 12)``."""
    a, m, b = float(minimum), float(median), float(maximum)
    if not a <= m <= b:
        raise EvidenceError(
            f"need minimum <= median <= maximum, got {a}, {m}, {b}",
            code="inconsistent",
            field="median",
            params={"values": [a, m, b]},
        )
    return (a + 2 * m + b) / 4, float(np.sqrt(((a - 2 * m + b) ** 2 / 4 + (b - a) ** 2) / 12))


def sd_from_se(se: float, n: int) -> float:
    """SD of an arm from the standard error of its mean (SEM): ``SE * sqrt(n)``."""
    if se < 0 or n < 1:
        raise EvidenceError(
            f"se = {se}, n = {n}: need se >= 0 and n >= 1",
            code="out_of_range",
            field="se" if se < 0 else "n",
            params={"se": se, "n": n},
        )
    return float(se * np.sqrt(n))


def sd_from_ci(lower: float, upper: float, n: int, level: float = 95, dist: str = "t") -> float:
    """SD of an arm from a confidence interval of its mean (Cochrane Handbook 6.5.2.2).

    ``sqrt(n) * (upper - lower) / (2 * q)`` with ``q`` the t quantile on ``n - 1`` df
    (``dist="t"``, right for small trials) or the normal quantile (``dist="z"``: 3.92 / 2).
    """
    if upper < lower:
        raise EvidenceError(
            f"CI {lower} to {upper}: the upper limit is below the lower",
            code="inconsistent",
            field="upper",
            params={"lower": lower, "upper": upper},
        )
    if n < 2:
        raise EvidenceError(
            f"n = {n}: need at least 2 participants",
            code="out_of_range",
            field="n",
            params={"value": n},
        )
    p = (1 + (level / 100 if level > 1 else level)) / 2
    if dist == "t":
        q = float(stats.t.ppf(p, n - 1))
    elif dist == "z":
        q = float(special.ndtri(p))
    else:
        raise EvidenceError(
            f"dist {dist!r}: allowed 't' or 'z'",
            code="invalid_choice",
            field="dist",
            params={"value": dist},
        )
    return float(np.sqrt(n) * (upper - lower) / (2 * q))
