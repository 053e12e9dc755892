"""Comparison with metafor's reference outputs (JSON fixtures written by metafor/generate.R)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).parent / "metafor"
REL = 1e-6
ABS = 1e-8
_SPECIAL = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}

# largest relative difference seen per fixture file (reported by test_parity_report)
MAX_REL: dict[str, float] = {}


@cache
def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def num(x: Any) -> np.ndarray:
    """Fixture value as a float array (R's NA/NaN/Inf written as strings)."""
    if isinstance(x, list):
        return np.array(
            [
                _SPECIAL.get(v, v) if isinstance(v, str) else (np.nan if v is None else v)
                for v in _flat(x)
            ],
            dtype=float,
        )
    if isinstance(x, str):
        return np.array([_SPECIAL[x]])
    return np.array([np.nan if x is None else x], dtype=float)


def _flat(x: list) -> list:
    out = []
    for v in x:
        out.extend(_flat(v) if isinstance(v, list) else [v])
    return out


def close(actual: Any, expected: Any, what: str, fixture: str = "rma") -> None:
    """Assert metafor agreement: relative difference <= 1e-6, absolute 1e-8 near zero."""
    a = np.atleast_1d(np.asarray(actual, dtype=float)).ravel()
    e = num(expected) if not isinstance(expected, np.ndarray) else expected.ravel()
    assert a.shape == e.shape, f"{what}: shape {a.shape} vs metafor {e.shape}"
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    assert np.array_equal(nan_a, nan_e), f"{what}: {a} vs metafor {e} (NA differs)"
    ok = ~nan_e
    inf = np.isinf(e) & ok
    assert np.array_equal(a[inf], e[inf]), f"{what}: {a} vs metafor {e}"
    fin = ok & ~inf
    diff = np.abs(a[fin] - e[fin])
    scale = np.abs(e[fin])
    bad = diff > np.maximum(REL * scale, ABS)
    assert not bad.any(), (
        f"{what}: {a[fin][bad]} vs metafor {e[fin][bad]} (rel {diff[bad] / scale[bad]})"
    )
    big = scale > ABS / REL
    if big.any():
        rel = float(np.max(diff[big] / scale[big]))
        MAX_REL[fixture] = max(MAX_REL.get(fixture, 0.0), rel)
