"""GMFM-88 scoring (CanChild score sheet) and the GMFM-66 entry points.

GMFM-88: dimension % = raw / max x 100; total = mean of the five dimension percents; goal total =
mean over the goal dimensions; not-tested items count as 0 (CanChild). See ``data/`` for sources.
GMFM-66: :func:`score_gmfm66` validates a sheet here and estimates the ability with the Rasch
model of :mod:`cpstem.measures.gmfm66_model` (which does not import this module).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.measures.digits import ascii_digits
from cpstem.measures.errors import MeasureError
from cpstem.measures.gmfm66_model import (
    GMFM66Result,
    ItemMap,
    check_level,
    estimate_gmfm66,
    load_item_map,
)
from cpstem.measures.gmfm_items import (
    DIMENSION_CODES,
    DIMENSIONS,
    GMFM66_ITEMS,
    ITEM_BY_NUMBER,
    ITEM_MAX_SCORE,
    ITEMS,
    NOT_TESTED_CODE,
    Dimension,
    Item,
)
from cpstem.results import Result, frame_of, sealed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DIMENSIONS",
    "DIMENSION_CODES",
    "GMFM66_ITEMS",
    "ITEMS",
    "ITEM_BY_NUMBER",
    "Dimension",
    "GMFM66Result",
    "GMFM88BatchResult",
    "GMFM88Result",
    "Item",
    "ItemMap",
    "load_item_map",
    "parse_goal_dimensions",
    "parse_item_number",
    "parse_item_score",
    "parse_sheet",
    "score_gmfm66",
    "score_gmfm88",
    "score_gmfm88_batch",
]

_ALLOWED = "allowed 0, 1, 2, 3 or NT (9 or blank)"
_NT_TEXT = {"", "NT", "N/T", "9", "NA", "N/A"}


def parse_item_number(key: Any) -> int:
    """An item number 1-88 from an int or a digit string."""
    if isinstance(key, bool):
        raise MeasureError(
            f"GMFM item {key!r} is not an item number: items are numbered 1 to 88",
            code="unknown_item",
            field="items",
            params={"item": key},
        )
    if isinstance(key, str):
        text = key.strip()
        if not ascii_digits(text):
            raise MeasureError(
                f"GMFM item {key!r} is not an item number: items are numbered 1 to 88",
                code="unknown_item",
                field="items",
                params={"item": key},
            )
        key = int(text)
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    if not isinstance(key, int | np.integer):
        raise MeasureError(
            f"GMFM item {key!r} is not an item number: items are numbered 1 to 88",
            code="unknown_item",
            field="items",
            params={"item": key},
        )
    number = int(key)
    if number not in ITEM_BY_NUMBER:
        raise MeasureError(
            f"GMFM item {number} does not exist: items are numbered 1 to 88",
            code="unknown_item",
            field="items",
            params={"item": number},
        )
    return number


def _bad_score(number: int, value: Any, shown: str | None = None) -> MeasureError:
    """The error of a score that is not 0-3 or NT; ``field`` is the item's column/form field."""
    return MeasureError(
        f"GMFM item {number} score {shown if shown is not None else repr(value)}: {_ALLOWED}",
        code="invalid_score",
        field=f"item_{number}",
        params={"item": number, "value": value},
    )


def parse_item_score(number: int, value: Any) -> int | None:
    """Score 0-3 of one item, or ``None`` for not tested (``None``, 9, NaN, blank, "NT")."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad_score(number, value)
    if isinstance(value, str):
        text = value.strip().upper()
        if text in _NT_TEXT:
            return None
        if not ascii_digits(text):
            raise _bad_score(number, value.strip())
        value = int(text)
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if not float(value).is_integer():
            raise _bad_score(number, value, f"{value:g}")
        value = int(value)
    if not isinstance(value, int | np.integer):
        raise _bad_score(number, value)
    score = int(value)
    if score == NOT_TESTED_CODE:
        return None
    if not 0 <= score <= ITEM_MAX_SCORE:
        raise _bad_score(number, score, str(score))
    return score


def parse_sheet(items: Mapping[Any, Any]) -> dict[int, int | None]:
    """Validate a sheet (item -> score); returns all 88 items, ``None`` = not tested."""
    if not isinstance(items, Mapping):
        raise MeasureError(
            "a GMFM sheet must map item numbers (1-88) to scores", code="not_a_sheet", field="items"
        )
    scores: dict[int, int | None] = dict.fromkeys(ITEM_BY_NUMBER)
    seen: set[int] = set()
    for key, value in items.items():
        number = parse_item_number(key)
        if number in seen:
            raise MeasureError(
                f"GMFM item {number} is given twice",
                code="duplicate_item",
                field=f"item_{number}",
                params={"item": number},
            )
        seen.add(number)
        scores[number] = parse_item_score(number, value)
    return scores


def parse_goal_dimensions(goal_dimensions: str | Iterable[str] | None) -> tuple[str, ...]:
    """Goal dimensions as sorted unique codes from "D,E" or an iterable of letters."""
    if goal_dimensions is None:
        return ()
    if isinstance(goal_dimensions, str):
        goal_dimensions = [g for g in goal_dimensions.replace(";", ",").split(",") if g.strip()]
    codes = set()
    for raw in goal_dimensions:
        code = str(raw).strip().upper()
        if code not in DIMENSIONS:
            raise MeasureError(
                f"goal dimension {str(raw).strip()!r} is not a GMFM dimension: use A, B, C, D or E",
                code="invalid_goal_dimension",
                field="goal_dimensions",
                params={"value": str(raw).strip()},
            )
        codes.add(code)
    return tuple(sorted(codes))


def _mean_in_order(values: Iterable[float]) -> float:
    """Left-to-right sum divided by the count (the batch scorer uses the same order)."""
    values = list(values)
    total = 0.0
    for v in values:
        total = total + v
    return total / len(values)


@dataclass(frozen=True)
class GMFM88Result(Result):
    """Scores of one GMFM-88 sheet (percent values are unrounded).

    ``to_dict()`` leaves out the item ``scores``. ``to_frame()``: one row per dimension,
    columns ``dimension, name, raw, max_raw, percent, goal`` (a goal dimension).
    """

    dimension_percent: Mapping[str, float]
    dimension_raw: Mapping[str, int]
    total: float
    goal_total: float | None
    goal_dimensions: tuple[str, ...]
    not_tested: tuple[int, ...]
    with_aids: bool = False
    scores: Mapping[int, int | None] = field(default_factory=dict, repr=False)

    @property
    def n_tested(self) -> int:
        return len(ITEMS) - len(self.not_tested)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension_percent": dict(self.dimension_percent),
            "dimension_raw": dict(self.dimension_raw),
            "total": self.total,
            "goal_total": self.goal_total,
            "goal_dimensions": list(self.goal_dimensions),
            "not_tested": list(self.not_tested),
            "with_aids": self.with_aids,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per dimension: ``dimension, name, raw, max_raw, percent, goal``."""
        codes = list(DIMENSION_CODES)
        return frame_of(
            {
                "dimension": codes,
                "name": [DIMENSIONS[c].name for c in codes],
                "raw": [self.dimension_raw[c] for c in codes],
                "max_raw": [DIMENSIONS[c].max_raw for c in codes],
                "percent": [self.dimension_percent[c] for c in codes],
                "goal": [c in self.goal_dimensions for c in codes],
            }
        )

    def summary(self) -> str:
        title = "GMFM-88" + (" (with aids/orthoses)" if self.with_aids else "")
        lines = [title]
        for code, dim in DIMENSIONS.items():
            lines.append(
                f"  {code} {dim.name:<28} {self.dimension_raw[code]:>3}/{dim.max_raw:<3}"
                f" {self.dimension_percent[code]:6.1f} %"
            )
        lines.append(f"  Total score{'':<27}{self.total:6.1f} %")
        if self.goal_total is not None:
            lines.append(
                f"  Goal total ({', '.join(self.goal_dimensions)}){'':<20}"[:40]
                + f"{self.goal_total:6.1f} %"
            )
        nt = len(self.not_tested)
        lines.append(
            f"  Not tested: {nt} item{'s' if nt != 1 else ''} (scored 0 for GMFM-88)"
            if nt
            else "  All 88 items tested"
        )
        return "\n".join(lines)


def score_gmfm88(
    items: Mapping[Any, Any],
    goal_dimensions: str | Iterable[str] | None = (),
    *,
    with_aids: bool = False,
) -> GMFM88Result:
    """Score one GMFM-88 sheet.

    ``items`` maps item number (1-88, int or digit string) to a score 0-3; ``None``, 9, NaN,
    blank or "NT" mean not tested, as does a missing item. Not-tested items count as 0.
    ``with_aids`` marks a sheet scored using aids/orthoses (same formulas, separate summary).
    """
    scores = parse_sheet(items)
    goals = parse_goal_dimensions(goal_dimensions)
    raw: dict[str, int] = {}
    percent: dict[str, float] = {}
    for code, dim in DIMENSIONS.items():
        raw[code] = sum(scores[n] or 0 for n in dim.item_numbers)
        percent[code] = raw[code] / dim.max_raw * 100.0
    total = _mean_in_order(percent[c] for c in DIMENSION_CODES)
    goal_total = _mean_in_order(percent[c] for c in goals) if goals else None
    return GMFM88Result(
        dimension_percent=MappingProxyType(percent),
        dimension_raw=MappingProxyType(raw),
        total=total,
        goal_total=goal_total,
        goal_dimensions=goals,
        not_tested=tuple(n for n, s in scores.items() if s is None),
        with_aids=with_aids,
        scores=MappingProxyType(scores),
    )


@dataclass(frozen=True)
class GMFM88BatchResult(Result):
    """Scores of N sheets as arrays (row i = sheet i).

    ``to_frame()``: one row per sheet, columns ``total``, ``goal_total`` (with goal
    dimensions), ``percent_A`` .. ``percent_E``, ``raw_A`` .. ``raw_E`` and ``n_not_tested``.
    """

    dimension_percent: Mapping[str, np.ndarray]
    dimension_raw: Mapping[str, np.ndarray]
    total: np.ndarray
    goal_total: np.ndarray | None
    goal_dimensions: tuple[str, ...]
    not_tested: np.ndarray  # (N, 88) bool

    @property
    def n_not_tested(self) -> np.ndarray:
        return self.not_tested.sum(axis=1)

    def __len__(self) -> int:
        return int(self.total.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per sheet (see the class documentation for the columns)."""
        cols: dict[str, Any] = {"total": self.total}
        if self.goal_total is not None:
            cols["goal_total"] = self.goal_total
        cols |= {f"percent_{c}": self.dimension_percent[c] for c in DIMENSION_CODES}
        cols |= {f"raw_{c}": self.dimension_raw[c] for c in DIMENSION_CODES}
        cols["n_not_tested"] = self.n_not_tested
        return frame_of(cols)


def score_gmfm88_batch(
    matrix: Any, goal_dimensions: str | Iterable[str] | None = ()
) -> GMFM88BatchResult:
    """Score an N x 88 array of sheets (column j = item j+1; NaN or 9 = not tested).

    Gives exactly the same floating-point figures as :func:`score_gmfm88` row by row.
    """
    arr = np.asarray(matrix, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(ITEMS):
        raise MeasureError(
            f"a GMFM-88 batch must have 88 columns (items 1-88); got shape {arr.shape}",
            code="bad_shape",
            field="items",
            params={"shape": arr.shape},
        )
    goals = parse_goal_dimensions(goal_dimensions)
    not_tested = np.isnan(arr) | (arr == NOT_TESTED_CODE)
    filled = np.where(not_tested, 0.0, arr)
    bad = (filled != np.floor(filled)) | (filled < 0) | (filled > ITEM_MAX_SCORE)
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        raise MeasureError(
            f"sheet {row + 1}: GMFM item {col + 1} score {arr[row, col]:g}: {_ALLOWED}",
            code="invalid_score",
            field=f"item_{col + 1}",
            params={"item": col + 1, "value": float(arr[row, col]), "sheet": row + 1},
        )
    # Sums of whole numbers <= 72 are exact in any order, so reduceat matches the single scorer.
    sums = np.add.reduceat(filled, [d.first_item - 1 for d in DIMENSIONS.values()], axis=1)
    percent: dict[str, np.ndarray] = {}
    raw: dict[str, np.ndarray] = {}
    for k, (code, dim) in enumerate(DIMENSIONS.items()):
        raw[code] = sums[:, k].astype(np.int64)
        percent[code] = sums[:, k] / dim.max_raw * 100.0

    def mean_in_order(codes: tuple[str, ...]) -> np.ndarray:
        acc = np.zeros(arr.shape[0])
        for c in codes:
            acc = acc + percent[c]
        return acc / len(codes)

    # every array here is new: sealed (read-only), the result keeps them without a copy
    return GMFM88BatchResult(
        dimension_percent=MappingProxyType({c: sealed(a) for c, a in percent.items()}),
        dimension_raw=MappingProxyType({c: sealed(a) for c, a in raw.items()}),
        total=sealed(mean_in_order(DIMENSION_CODES)),
        goal_total=sealed(mean_in_order(goals)) if goals else None,
        goal_dimensions=goals,
        not_tested=sealed(not_tested),
    )


def score_gmfm66(items: Mapping[Any, Any], item_map: ItemMap, level: float = 95.0) -> GMFM66Result:
    """Maximum-likelihood GMFM-66 over the tested GMFM-66 items of ``items``.

    ``items`` is a sheet as for :func:`score_gmfm88`; items outside the GMFM-66 are ignored and
    not-tested items are treated as missing (as the GMAE does). See
    :func:`cpstem.measures.gmfm66_model.estimate_gmfm66`.
    """
    check_level(level)
    return estimate_gmfm66(parse_sheet(items), item_map, level)
