"""Randomisation lists and minimisation (the pure part; the registry stores and conceals them).

- :func:`randomisation_list`: stratified permuted blocks with randomly chosen block sizes
  (every block holds each arm in proportion to ``ratio``), one independent sequence per stratum
  (the cross product of the stratification factors' levels, e.g. site × GMFCS × age band).
  The list is a pure function of its arguments and ``seed`` (NumPy ``PCG64`` seeded with
  ``SeedSequence([seed, stratum index])``), so it is reproducible; its SHA-256 over a canonical
  text (:meth:`RandomisationList.canonical`) is recorded with it (``sha256``) and
  :meth:`RandomisationList.verify` recomputes it, which makes any later edit evident.
- :func:`minimise`: Pocock–Simon minimisation (Pocock SJ, Simon R. Sequential treatment
  assignment with balancing for prognostic factors in the controlled clinical trial.
  Biometrics 1975;31:103–115): for each arm the marginal counts of the new participant's
  factor levels after a hypothetical assignment give an imbalance (range, the default, or
  variance over arms, weighted per factor); the arm with the least total imbalance is
  assigned with probability ``p`` (default 0.8), otherwise one of the other arms at random;
  ties are broken at random.

A Django module calls :func:`randomisation_list` (``.rows()`` → plain dicts) and
:func:`minimise` (existing allocations as mappings, the new participant's factors, an RNG).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpstem.design.errors import DesignError
from cpstem.results import Result

__all__ = [
    "MinimisationResult",
    "RandomisationList",
    "minimise",
    "randomisation_list",
]


def _arms_and_ratio(arms: Sequence[str], ratio: Sequence[int] | None) -> tuple[int, ...]:
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise DesignError(
            "arms: give at least two distinct arm names",
            code="out_of_range",
            field="arms",
            params={"value": list(arms)},
        )
    weights = tuple(int(r) for r in (ratio if ratio is not None else [1] * len(arms)))
    if len(weights) != len(arms) or min(weights) < 1:
        raise DesignError(
            f"ratio {list(weights)}: one positive whole number per arm",
            code="out_of_range",
            field="ratio",
            params={"value": list(weights)},
        )
    return weights


@dataclass(frozen=True)
class RandomisationList(Result):
    """A stratified permuted-block list: ``rows()`` in order of stratum then sequence number.

    ``sha256`` is the hex digest of :meth:`canonical`; :meth:`verify` is True only while the
    rows are unchanged.
    """

    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    block_sizes: tuple[int, ...]
    strata: Mapping[str, tuple[str, ...]]
    per_stratum: int
    seed: int
    entries: tuple[tuple[str, int, int, int, str], ...]  # (stratum key, seq, block, size, arm)
    sha256: str

    def rows(self) -> list[dict[str, Any]]:
        """One dict per slot: stratum (mapping factor → level), stratum_key, sequence,
        block, block_size, arm."""
        out = []
        for key, seq, block, size, arm in self.entries:
            levels = dict(zip(self.strata, key.split("|"), strict=True)) if self.strata else {}
            out.append(
                {
                    "stratum": levels,
                    "stratum_key": key,
                    "sequence": seq,
                    "block": block,
                    "block_size": size,
                    "arm": arm,
                }
            )
        return out

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            [
                {"stratum": k, "sequence": s, "block": b, "block_size": z, "arm": a}
                for k, s, b, z, a in self.entries
            ]
        )
        return frame

    def canonical(self) -> str:
        return _canonical(
            self.arms, self.ratio, self.block_sizes, self.strata, self.seed, self.entries
        )

    def verify(self) -> bool:
        return hashlib.sha256(self.canonical().encode()).hexdigest() == self.sha256

    def summary(self) -> str:
        n_strata = len({e[0] for e in self.entries})
        counts = {a: sum(1 for e in self.entries if e[4] == a) for a in self.arms}
        return (
            f"Randomisation list: {len(self.entries)} slots in {n_strata} strata "
            f"({self.per_stratum} per stratum), arms "
            + ", ".join(f"{a} {c}" for a, c in counts.items())
            + f"; block sizes {list(self.block_sizes)}; seed {self.seed}; sha256 {self.sha256}"
        )


def _canonical(
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    strata: Mapping[str, Sequence[str]],
    seed: int,
    entries: Sequence[tuple[str, int, int, int, str]],
) -> str:
    header = json.dumps(
        {
            "arms": list(arms),
            "ratio": list(ratio),
            "block_sizes": list(block_sizes),
            "strata": {k: list(v) for k, v in strata.items()},
            "seed": seed,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    body = "\n".join(f"{k}\t{s}\t{b}\t{z}\t{a}" for k, s, b, z, a in entries)
    return header + "\n" + body + "\n"


def randomisation_list(
    arms: Sequence[str] = ("control", "treatment"),
    per_stratum: int = 24,
    *,
    block_sizes: Sequence[int] = (2, 4, 6),
    ratio: Sequence[int] | None = None,
    strata: Mapping[str, Sequence[str]] | None = None,
    seed: int = 0,
) -> RandomisationList:
    """Stratified permuted blocks with block sizes drawn uniformly from ``block_sizes``.

    Each stratum gets whole blocks until it holds at least ``per_stratum`` slots (so a stratum
    never ends in a partial block and the arms are balanced within every block).
    ``strata`` maps factor → levels, e.g. ``{"site": ["A", "B"], "gmfcs": ["I-II", "III-V"]}``.
    """
    arms = tuple(str(a) for a in arms)
    weights = _arms_and_ratio(arms, ratio)
    unit = sum(weights)
    sizes = tuple(int(b) for b in block_sizes)
    if not sizes or any(b < unit or b % unit for b in sizes):
        raise DesignError(
            f"block sizes {list(sizes)}: each must be a positive multiple of {unit} "
            f"(the sum of the allocation ratio)",
            code="out_of_range",
            field="block_sizes",
            params={"value": list(sizes), "multiple_of": unit},
        )
    if per_stratum < 1:
        raise DesignError(
            f"per_stratum {per_stratum}: at least 1",
            code="out_of_range",
            field="per_stratum",
            params={"value": per_stratum},
        )
    strata_t = {str(f): tuple(str(v) for v in levels) for f, levels in (strata or {}).items()}
    for f, levels in strata_t.items():
        if not levels or any("|" in v for v in levels):
            raise DesignError(
                f"stratum factor {f!r}: give one or more levels without '|'",
                code="out_of_range",
                field="strata",
                params={"factor": f},
            )
    combos = list(itertools.product(*strata_t.values())) if strata_t else [()]
    entries: list[tuple[str, int, int, int, str]] = []
    for index, combo in enumerate(combos):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), index])))
        key = "|".join(combo)
        seq = 0
        block = 0
        while seq < per_stratum:
            size = sizes[int(rng.integers(len(sizes)))]
            block += 1
            reps = size // unit
            content = [a for a, w in zip(arms, weights, strict=True) for _ in range(w * reps)]
            for arm in rng.permutation(np.array(content, dtype=object)):
                seq += 1
                entries.append((key, seq, block, size, str(arm)))
    entries_t = tuple(entries)
    digest = hashlib.sha256(
        _canonical(arms, weights, sizes, strata_t, int(seed), entries_t).encode()
    ).hexdigest()
    return RandomisationList(
        arms=arms,
        ratio=weights,
        block_sizes=sizes,
        strata=strata_t,
        per_stratum=int(per_stratum),
        seed=int(seed),
        entries=entries_t,
        sha256=digest,
    )


@dataclass(frozen=True)
class MinimisationResult(Result):
    """The arm assigned, the imbalance score each arm would give, and whether the preferred
    (least-imbalance) arm was taken."""

    arm: str
    scores: Mapping[str, float]
    preferred: tuple[str, ...]
    took_preferred: bool
    probability: float

    def summary(self) -> str:
        sc = ", ".join(f"{a} {s:g}" for a, s in self.scores.items())
        return (
            f"Minimisation: assigned {self.arm} "
            f"(imbalance if assigned: {sc}; p = {self.probability:g})"
        )


def minimise(
    existing_allocations: Sequence[Mapping[str, Any]],
    new_factors: Mapping[str, Any],
    rng: np.random.Generator | int | None = None,
    *,
    arms: Sequence[str] = ("control", "treatment"),
    probability: float = 0.8,
    weights: Mapping[str, float] | None = None,
    measure: str = "range",
    arm_key: str = "arm",
) -> MinimisationResult:
    """Pocock–Simon minimisation of one new participant.

    ``existing_allocations``: one mapping per participant already allocated, holding
    ``arm_key`` and the factor levels (e.g. ``{"arm": "treatment", "site": "A", "gmfcs": "II"}``);
    ``new_factors``: the new participant's levels of the same factors. ``probability`` is the
    chance of taking the least-imbalance arm (1 = deterministic minimisation; 1/len(arms) =
    simple randomisation).
    """
    arms = tuple(str(a) for a in arms)
    _arms_and_ratio(arms, None)
    if not 0 < probability <= 1:
        raise DesignError(
            f"probability {probability:g}: allowed above 0 up to 1",
            code="out_of_range",
            field="probability",
            params={"value": probability},
        )
    if measure not in ("range", "variance"):
        raise DesignError(
            f"measure {measure!r}: allowed range, variance",
            code="not_allowed",
            field="measure",
            params={"value": measure, "allowed": ["range", "variance"]},
        )
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    w = {f: float((weights or {}).get(f, 1.0)) for f in new_factors}
    counts = {f: dict.fromkeys(arms, 0) for f in new_factors}
    for row in existing_allocations:
        arm = str(row[arm_key])
        if arm not in arms:
            raise DesignError(
                f"allocation to unknown arm {arm!r}",
                code="not_allowed",
                field=arm_key,
                params={"value": arm, "allowed": list(arms)},
            )
        for f, level in new_factors.items():
            if f in row and row[f] == level:
                counts[f][arm] += 1
    scores: dict[str, float] = {}
    for candidate in arms:
        total = 0.0
        for f in new_factors:
            c = np.array([counts[f][a] + (a == candidate) for a in arms], dtype=float)
            total += w[f] * (float(c.max() - c.min()) if measure == "range" else float(c.var()))
        scores[candidate] = total
    best = min(scores.values())
    preferred = tuple(a for a in arms if scores[a] == best)
    if len(preferred) == len(arms):
        chosen, took = arms[int(gen.integers(len(arms)))], True
    elif gen.random() < probability:
        chosen, took = preferred[int(gen.integers(len(preferred)))], True
    else:
        others = [a for a in arms if a not in preferred]
        chosen, took = others[int(gen.integers(len(others)))], False
    return MinimisationResult(
        arm=chosen,
        scores=scores,
        preferred=preferred,
        took_preferred=took,
        probability=probability,
    )
