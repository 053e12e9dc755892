"""The GMFM-66 partial-credit Rasch model: item maps and the ability estimate.

The official GMAE parameters are not shipped: an item map is given as a file. This module needs
validated item scores (``{item: score or None}``); :func:`cpstem.measures.gmfm.score_gmfm66`
validates a score sheet and calls :func:`estimate_gmfm66`. (:mod:`cpstem.measures.gmfm66`
gathers the GMFM-66 names in one place.)

Model: for item i with step thresholds d_i1..d_i3 (logits), P(X = k | theta) is proportional to
exp(sum_{j<=k} (theta - d_ij)). The ability estimate is the maximum-likelihood theta over the
tested GMFM-66 items; its standard error is 1/sqrt(information), information being the sum of
the item score variances at theta. Results are mapped to 0-100 with the map's linear transform.
Extreme patterns (all tested items 0, or all 3) have no finite estimate and are flagged.

Item-map file format (CSV, UTF-8)::

    # name: my-calibration            (optional)
    # source: where the parameters come from   (optional)
    # intercept: 50.0                 (required; score = intercept + slope * logit)
    # slope: 10.0                     (required, > 0)
    item,step1_logit,step2_logit,step3_logit
    2,-5.1,-4.2,-3.3
    ...                               (one row for each of the 66 GMFM-66 items)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.csvtext import parse_csv_text, read_text_file
from cpstem.datafiles import toml_data
from cpstem.measures.digits import ascii_digits
from cpstem.measures.errors import MeasureError
from cpstem.measures.gmfm_items import GMFM66_ITEMS, ITEM_BY_NUMBER, ITEM_MAX_SCORE
from cpstem.numbers import finite_float
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd

_COLUMNS = ("item", "step1_logit", "step2_logit", "step3_logit")


def _facts() -> dict[str, Any]:
    return toml_data("cpstem.measures", "data/gmfm66.toml")


MIN_ITEMS_RECOMMENDED: int = int(_facts()["minimum_items"]["value"])


@dataclass(frozen=True)
class ItemMap(Result):
    """Partial-credit Rasch parameters for the 66 GMFM-66 items plus the logit -> 0-100 map.

    ``to_frame()``: one row per item, columns ``item, step1_logit, step2_logit, step3_logit``.
    """

    thresholds: Mapping[int, tuple[float, float, float]]
    intercept: float
    slope: float
    name: str = "item map"
    source: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        missing = sorted(set(GMFM66_ITEMS) - set(self.thresholds))
        extra = sorted(set(self.thresholds) - set(GMFM66_ITEMS))
        if extra:
            raise MeasureError(
                f"item map lists item(s) {_items_text(extra)} that are not GMFM-66 items",
                code="unknown_item",
                field="item",
                params={"items": extra},
            )
        if missing:
            raise MeasureError(
                f"item map lacks GMFM-66 item(s) {_items_text(missing)}",
                code="required",
                field="item",
                params={"items": missing},
            )
        if not (math.isfinite(self.slope) and self.slope > 0 and math.isfinite(self.intercept)):
            raise MeasureError(
                "item map transform: slope must be a positive number",
                code="out_of_range",
                field="slope",
                params={"slope": self.slope, "intercept": self.intercept},
            )

    def to_scale(self, logit: float) -> float:
        """The 0-100 score of an ability in logits: ``intercept + slope * logit``."""
        return self.intercept + self.slope * logit

    def threshold_matrix(self, items: tuple[int, ...]) -> np.ndarray:
        """The step thresholds of ``items`` as an ``(n, 3)`` array."""
        return np.array([self.thresholds[i] for i in items], dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``item, step1_logit, step2_logit, step3_logit``."""
        items = sorted(self.thresholds)
        steps = self.threshold_matrix(tuple(items))
        cols: dict[str, Any] = {"item": items}
        cols |= {name: steps[:, j] for j, name in enumerate(_COLUMNS[1:])}
        return frame_of(cols)


def _items_text(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:8])
    return shown + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")


def _float(text: str, what: str) -> float:
    return finite_float(text.strip(), f"{what}:", MeasureError, params={"where": what})


def parse_item_map(text: str, name: str = "item map") -> ItemMap:
    """Parse the item-map CSV format documented in this module."""
    table = parse_csv_text(text, name, MeasureError)
    for key in ("intercept", "slope"):
        if key not in table.meta:
            raise MeasureError(
                f"{name}: the header line '# {key}: <number>' is missing",
                code="malformed_file",
                field=key,
                params={"file": name},
            )
    if tuple(table.columns) != _COLUMNS:
        raise MeasureError(
            f"{name}: columns must be {','.join(_COLUMNS)}",
            code="malformed_file",
            params={"file": name, "columns": list(table.columns)},
        )
    thresholds: dict[int, tuple[float, float, float]] = {}
    for lineno, row in table.rows:
        where = f"{name} line {lineno}"
        cell = row["item"]
        if not ascii_digits(cell) or int(cell) not in ITEM_BY_NUMBER:
            raise MeasureError(
                f"{where}: {cell!r} is not a GMFM item number",
                code="unknown_item",
                field="item",
                params={"file": name, "line": lineno, "value": cell},
            )
        item = int(cell)
        if item in thresholds:
            raise MeasureError(
                f"{where}: item {item} is listed twice",
                code="duplicate_item",
                field="item",
                params={"file": name, "line": lineno, "item": item},
            )
        steps = [_float(row[c], f"{where}, item {item}") for c in _COLUMNS[1:]]
        thresholds[item] = (steps[0], steps[1], steps[2])
    return ItemMap(
        thresholds=MappingProxyType(thresholds),
        intercept=_float(table.meta["intercept"], f"{name} intercept"),
        slope=_float(table.meta["slope"], f"{name} slope"),
        name=table.meta.get("name", name),
        source=table.meta.get("source", ""),
    )


def load_item_map(path: str | Path) -> ItemMap:
    """Read an item-map CSV file (format in the module docstring)."""
    path = Path(path)
    text = read_text_file(path, MeasureError, "item map file")
    return parse_item_map(text, name=path.name)


@dataclass(frozen=True)
class GMFM66Result(Result):
    """A GMFM-66 ability estimate on the 0-100 scale (``None`` for extreme patterns).

    ``to_frame()``: one row of the fields (``warnings`` joined by ``"; "``).
    """

    estimate: float | None
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    logit: float | None
    logit_se: float | None
    n_items: int
    raw_score: int
    max_raw: int
    extreme: str | None  # "minimum" (all 0), "maximum" (all 3) or None
    warnings: tuple[str, ...] = ()
    item_map: str = ""

    def summary(self) -> str:
        if self.estimate is None:
            where = "below" if self.extreme == "minimum" else "above"
            text = (
                f"GMFM-66: no finite estimate - all {self.n_items} tested items scored "
                f"{0 if self.extreme == 'minimum' else ITEM_MAX_SCORE}; ability is {where} the "
                "range these items measure (test items nearer the child's level)"
            )
        else:
            text = (
                f"GMFM-66 {self.estimate:.1f} (SE {self.se:.2f}; 95% CI "
                f"{self.ci_lower:.1f} to {self.ci_upper:.1f}) from {self.n_items} items"
            )
        return "\n".join([text, *(f"  note: {w}" for w in self.warnings)])

    def to_frame(self) -> pd.DataFrame:
        """One row of the fields (``warnings`` joined by ``"; "``)."""
        row = self.to_dict() | {"warnings": "; ".join(self.warnings)}
        return frame_of({k: [v] for k, v in row.items()})


def _log_probs(theta: float, steps: np.ndarray) -> np.ndarray:
    """log P(X=k), k=0..3, for each item (rows of ``steps``) at ability ``theta``."""
    from scipy import special  # SciPy is imported when a GMFM-66 is first scored

    k = np.arange(ITEM_MAX_SCORE + 1)
    psi = theta * k - np.concatenate([np.zeros((steps.shape[0], 1)), np.cumsum(steps, 1)], 1)
    return psi - special.logsumexp(psi, axis=1, keepdims=True)


def _moments(theta: float, steps: np.ndarray) -> tuple[float, float]:
    """Expected raw score and test information (sum of item variances) at ``theta``."""
    p = np.exp(_log_probs(theta, steps))
    k = np.arange(ITEM_MAX_SCORE + 1)
    mean = p @ k
    var = p @ (k**2) - mean**2
    return float(mean.sum()), float(var.sum())


def check_level(level: float) -> float:
    """A confidence level in percent, strictly between 0 and 100."""
    if not 0 < level < 100:
        raise MeasureError(
            f"confidence level {level} must lie between 0 and 100",
            code="out_of_range",
            field="level",
            params={"value": level},
        )
    return float(level)


def estimate_gmfm66(
    scores: Mapping[int, int | None], item_map: ItemMap, level: float = 95.0
) -> GMFM66Result:
    """Maximum-likelihood GMFM-66 from validated item scores (``None`` = not tested).

    ``scores`` maps item numbers to scores 0-3 as :func:`cpstem.measures.gmfm.parse_sheet`
    returns them; items outside the GMFM-66 are ignored and not-tested or absent items are
    treated as missing (as the GMAE does).
    """
    from scipy import optimize, stats  # SciPy is imported when a GMFM-66 is first scored

    check_level(level)
    tested_scores = [(n, s) for n in GMFM66_ITEMS if (s := scores.get(n)) is not None]
    tested = tuple(n for n, _ in tested_scores)
    if not tested:
        raise MeasureError(
            "GMFM-66: no GMFM-66 item was tested, so no score can be estimated",
            code="no_items",
            field="items",
        )
    raw = sum(s for _, s in tested_scores)
    max_raw = ITEM_MAX_SCORE * len(tested)
    warnings = []
    if len(tested) < MIN_ITEMS_RECOMMENDED:
        warnings.append(
            f"only {len(tested)} GMFM-66 items tested; at least {MIN_ITEMS_RECOMMENDED} "
            "around the child's level are recommended"
        )
    if raw in (0, max_raw):
        return GMFM66Result(
            None,
            None,
            None,
            None,
            None,
            None,
            n_items=len(tested),
            raw_score=raw,
            max_raw=max_raw,
            extreme="minimum" if raw == 0 else "maximum",
            warnings=tuple(warnings),
            item_map=item_map.name,
        )
    steps = item_map.threshold_matrix(tested)
    lo, hi = float(steps.min()) - 10.0, float(steps.max()) + 10.0
    while _moments(lo, steps)[0] > raw:
        lo -= 10.0
    while _moments(hi, steps)[0] < raw:
        hi += 10.0
    theta = float(
        optimize.brentq(
            lambda t: _moments(t, steps)[0] - raw, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=500
        )
    )
    info = _moments(theta, steps)[1]
    logit_se = 1.0 / math.sqrt(info)
    z = float(stats.norm.ppf(0.5 + level / 200.0))
    estimate = item_map.to_scale(theta)
    se = item_map.slope * logit_se
    return GMFM66Result(
        estimate=estimate,
        se=se,
        ci_lower=estimate - z * se,
        ci_upper=estimate + z * se,
        logit=theta,
        logit_se=logit_se,
        n_items=len(tested),
        raw_score=raw,
        max_raw=max_raw,
        extreme=None,
        warnings=tuple(warnings),
        item_map=item_map.name,
    )
