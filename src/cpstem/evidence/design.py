"""Input checking shared by the fitting functions: outcomes, variances, moderators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cpstem.evidence.errors import EvidenceError


def as_vector(x: Any, name: str) -> np.ndarray:
    """A 1-D float array; text that is not a number is an error naming the position."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        values = list(np.asarray(x, dtype=object).ravel())
        for i, value in enumerate(values):
            try:
                float(value)
            except (TypeError, ValueError):
                raise EvidenceError(
                    f"{name}[{i}] = {value!r}: not a number (use NaN for a missing value)",
                    code="not_a_number",
                    field=name,
                    params={"index": i, "value": str(value)},
                ) from None
        raise
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise EvidenceError(
            f"{name}: give one value per study (a 1-D array), got shape {arr.shape}",
            code="bad_shape",
            field=name,
            params={"shape": list(arr.shape)},
        )
    return arr


def outcomes(yi: Any, vi: Any, sei: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and sampling variances (``sei`` squared if given instead of ``vi``)."""
    y = as_vector(yi, "yi")
    if vi is None and sei is None:
        raise EvidenceError(
            "give the sampling variances vi (or standard errors sei)", code="required", field="vi"
        )
    if vi is not None and sei is not None:
        raise EvidenceError("give either vi or sei, not both", code="not_allowed", field="sei")
    v = as_vector(vi, "vi") if vi is not None else as_vector(sei, "sei") ** 2
    if v.size == 1 and y.size > 1:
        v = np.full(y.size, v[0])
    if v.size != y.size:
        raise EvidenceError(
            f"yi has {y.size} values but vi has {v.size}: give one per study",
            code="length_mismatch",
            field="vi",
            params={"given": int(v.size), "expected": int(y.size)},
        )
    for name, arr in (("yi", y), ("vi", v)):
        bad = np.flatnonzero(np.isinf(arr))
        if bad.size:
            raise EvidenceError(
                f"{name}[{bad[0]}] is infinite: give a finite value or NaN",
                code="not_finite",
                field=name,
                params={"index": int(bad[0])},
            )
    bad = np.flatnonzero(v < 0)
    if bad.size:
        raise EvidenceError(
            f"vi[{bad[0]}] = {v[bad[0]]:g}: a sampling variance cannot be negative",
            code="out_of_range",
            field="vi",
            params={"index": int(bad[0]), "value": float(v[bad[0]])},
        )
    return y, v


def moderators(mods: Any, k: int, intercept: bool) -> tuple[np.ndarray | None, list[str], bool]:
    """Design matrix (or None for intercept-only), column names, whether it has an intercept.

    ``mods`` may be a 1-D array, a 2-D array (studies x moderators), a pandas DataFrame or a
    mapping of name -> values. Text (or categorical) columns become treatment dummies with the
    first level (sorted, as R's ``factor``) as reference. Like metafor, an intercept is added
    unless ``intercept=False``; a column of ones among the moderators is the intercept.
    """
    if mods is None:
        if not intercept:
            raise EvidenceError(
                "a model needs an intercept or moderators", code="required", field="mods"
            )
        return None, ["intrcpt"], True
    columns: list[tuple[str, np.ndarray]] = []
    if hasattr(mods, "columns") and hasattr(mods, "__getitem__"):
        items: Sequence[tuple[str, Any]] = [(str(c), mods[c].to_numpy()) for c in mods.columns]
    elif isinstance(mods, Mapping):
        items = [(str(name), np.asarray(val)) for name, val in mods.items()]
    else:
        arr = np.asarray(mods)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise EvidenceError(
                f"mods: give a 1-D or 2-D array, got shape {arr.shape}",
                code="bad_shape",
                field="mods",
                params={"shape": list(arr.shape)},
            )
        items = [(f"mod{j + 1}", arr[:, j]) for j in range(arr.shape[1])]
    for name, col in items:
        col = np.asarray(col)
        if col.shape[0] != k:
            raise EvidenceError(
                f"moderator {name} has {col.shape[0]} values for {k} studies",
                code="length_mismatch",
                field="mods",
                params={"moderator": name, "given": int(col.shape[0]), "expected": k},
            )
        if col.dtype.kind in "OUSb" and not _numeric(col):
            levels = sorted({str(x) for x in col if x is not None and x == x})
            if len(levels) < 2:
                raise EvidenceError(
                    f"moderator {name} has a single level: nothing to compare",
                    code="constant_moderator",
                    field="mods",
                    params={"moderator": name},
                )
            text = np.array([str(x) if x is not None and x == x else "" for x in col])
            missing = text == ""
            for level in levels[1:]:
                dummy = np.where(missing, np.nan, (text == level).astype(float))
                columns.append((f"{name}={level}", dummy))
        else:
            columns.append((name, col.astype(float)))
    names = [n for n, _ in columns]
    X = np.column_stack([c for _, c in columns]) if columns else np.empty((k, 0))
    ones = [j for j in range(X.shape[1]) if np.all(np.abs(X[:, j] - 1.0) < 1e-8)]
    has_int = intercept or bool(ones)
    keep = [j for j in range(X.shape[1]) if j not in ones]
    X = X[:, keep]
    names = [names[j] for j in keep]
    if has_int:
        X = np.column_stack([np.ones(k), X])
        names = ["intrcpt", *names]
    if X.shape[1] == 0:
        raise EvidenceError(
            "a model needs an intercept or moderators", code="required", field="mods"
        )
    return X, names, has_int


def _numeric(col: np.ndarray) -> bool:
    try:
        np.asarray(col, dtype=float)
    except (TypeError, ValueError):
        return False
    return col.dtype.kind != "b" and not any(isinstance(x, str) for x in col)


def check_rank(X: np.ndarray, names: list[str]) -> None:
    """Refuse a design matrix that is not of full column rank (metafor: evtol = 1e-7)."""
    if X.shape[1] > X.shape[0]:
        raise EvidenceError(
            f"{X.shape[1]} coefficients but only {X.shape[0]} studies: remove moderators",
            code="too_few_studies",
            field="mods",
            params={"coefficients": int(X.shape[1]), "k": int(X.shape[0])},
        )
    ev = np.linalg.eigvalsh(X.T @ X)
    if np.any(ev <= 1e-7):
        rank = np.linalg.matrix_rank(X)
        for j in range(1, X.shape[1]):
            if np.linalg.matrix_rank(X[:, : j + 1]) <= np.linalg.matrix_rank(X[:, :j]):
                raise EvidenceError(
                    f"moderator {names[j]} is constant or a combination of the others "
                    f"(rank {rank} < {X.shape[1]} columns): remove it",
                    code="collinear",
                    field="mods",
                    params={"moderator": names[j]},
                )
        raise EvidenceError(
            "the moderators are collinear: remove redundant ones", code="collinear", field="mods"
        )
