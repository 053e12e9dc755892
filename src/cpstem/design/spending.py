"""Lan–DeMets alpha- and beta-spending functions, with rpact's conventions.

``spending_values(kind, t, level, sided, gamma)`` is rpact's ``getSpendingValueCpp``
(rpact 3.3.4, ``src/f_design_group_sequential.cpp``): the cumulative error spent at
information fractions ``t``.

- ``"obf"`` (rpact ``asOF``/``bsOF``): Lan & DeMets (1983) O'Brien–Fleming type. For a
  one-sided level ``a`` it is ``2(1 − Φ(z_{1−a/2}/√t))``; rpact applies it per side for a
  two-sided design, i.e. ``4(1 − Φ(z_{1−a/4}/√t))`` of the total two-sided ``a``. Beta
  spending always uses the one-sided form.
- ``"pocock"`` (``asP``/``bsP``): ``a·log(1 + (e − 1)t)``.
- ``"hsd"`` (``asHSD``/``bsHSD``): Hwang, Shih & DeCani (1990), ``a(1 − e^{−γt})/(1 − e^{−γ})``
  (``a·t`` for γ = 0).
- ``"kd"`` (``asKD``/``bsKD``): Kim & DeMets power family ``a·t^γ``.

The two-sided Lan–DeMets O'Brien–Fleming function of the TSA literature,
``2 − 2Φ(z_{1−a/2}/√t)`` of the *total* two-sided ``a`` split equally between the sides,
is :func:`lan_demets_obf`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

from cpstem.design.errors import DesignError

SPENDING = ("obf", "pocock", "hsd", "kd")


def lan_demets_obf(t: np.ndarray | float, alpha: float) -> np.ndarray:
    """Lan & DeMets (1983) O'Brien–Fleming-type spending ``2 − 2Φ(z_{1−α/2}/√t)``."""
    tt = np.asarray(t, dtype=float)
    return 2.0 * (1.0 - ndtr(ndtri(1.0 - alpha / 2.0) / np.sqrt(tt)))


def spending_values(
    kind: str,
    t: np.ndarray,
    level: float,
    *,
    sided: int = 1,
    gamma: float | None = None,
    beta: bool = False,
) -> np.ndarray:
    """Cumulative ``level`` spent at fractions ``t`` (rpact's getSpendingValueCpp)."""
    tt = np.asarray(t, dtype=float)
    if kind == "pocock":
        return level * np.log(1.0 + (math.e - 1.0) * tt)
    if kind == "obf":
        s = 1 if beta else sided
        return 2.0 * s * (1.0 - ndtr(ndtri(1.0 - level / (2.0 * s)) / np.sqrt(tt)))
    if kind in ("hsd", "kd"):
        if gamma is None:
            raise DesignError(
                f"spending {kind!r} needs gamma",
                code="missing",
                field="gamma",
                params={"spending": kind},
            )
        if kind == "kd":
            return level * tt**gamma
        if gamma == 0:
            return level * tt
        return level * (1.0 - np.exp(-gamma * tt)) / (1.0 - math.exp(-gamma))
    raise DesignError(
        f"spending {kind!r}: allowed {', '.join(SPENDING)}",
        code="not_allowed",
        field="spending",
        params={"value": kind, "allowed": list(SPENDING)},
    )
