"""Randomisation lists (permuted blocks, strata, hash) and Pocock–Simon minimisation."""

import hashlib
from collections import Counter

import numpy as np
import pytest

from cpstem.design.errors import DesignError
from cpstem.design.randomisation import minimise, randomisation_list

STRATA = {"site": ["A", "B"], "gmfcs": ["I-II", "III-V"], "age": ["<5", ">=5"]}


def test_every_block_is_balanced_and_sizes_come_from_the_set():
    lst = randomisation_list(per_stratum=30, block_sizes=(2, 4, 6), strata=STRATA, seed=7)
    frame = lst.to_frame()
    assert frame["stratum"].nunique() == 8
    for (_, _), block in frame.groupby(["stratum", "block"]):
        size = block["block_size"].iloc[0]
        assert size in (2, 4, 6) and len(block) == size
        assert Counter(block["arm"]) == {"control": size // 2, "treatment": size // 2}
    # whole blocks: each stratum holds at least 30 and at most 30 + 5 slots, balanced overall
    for _, s in frame.groupby("stratum"):
        assert 30 <= len(s) <= 35
        assert (s["arm"] == "control").sum() == (s["arm"] == "treatment").sum()
    # random block sizes: more than one size is used
    assert frame["block_size"].nunique() > 1


def test_unequal_ratio_blocks():
    lst = randomisation_list(("placebo", "cells"), 12, block_sizes=(3, 6), ratio=(1, 2), seed=1)
    for _, block in lst.to_frame().groupby("block"):
        n = len(block)
        assert Counter(block["arm"]) == {"placebo": n // 3, "cells": 2 * n // 3}


def test_reproducible_and_seed_dependent():
    a = randomisation_list(per_stratum=20, strata=STRATA, seed=42)
    b = randomisation_list(per_stratum=20, strata=STRATA, seed=42)
    c = randomisation_list(per_stratum=20, strata=STRATA, seed=43)
    assert a.entries == b.entries and a.sha256 == b.sha256
    assert a.entries != c.entries and a.sha256 != c.sha256


def test_hash_is_sha256_of_the_canonical_text_and_detects_tampering():
    lst = randomisation_list(per_stratum=8, strata={"site": ["A"]}, seed=3)
    assert lst.sha256 == hashlib.sha256(lst.canonical().encode()).hexdigest()
    assert lst.verify()
    rows = list(lst.entries)
    k, s, b, z, arm = rows[0]
    rows[0] = (k, s, b, z, "treatment" if arm == "control" else "control")
    tampered = lst.__class__(**{**lst.__dict__, "entries": tuple(rows)})
    assert not tampered.verify()


def test_hash_is_stable_across_versions():
    # pinned: the list for this seed must never change silently (NumPy PCG64 + SeedSequence
    # are stable streams); if this fails, previously generated lists can no longer be re-derived
    lst = randomisation_list(
        per_stratum=6, block_sizes=(2, 4), strata={"site": ["A", "B"]}, seed=2026
    )
    assert lst.canonical().splitlines()[0] == (
        '{"arms":["control","treatment"],"block_sizes":[2,4],"ratio":[1,1],'
        '"seed":2026,"strata":{"site":["A","B"]}}'
    )
    assert lst.sha256 == "964e56a7a7f8290eef2211cf5a96a5a4859faf87474c006f39aab647cec28914"


def test_rows_carry_the_stratum_levels():
    rows = randomisation_list(per_stratum=2, block_sizes=(2,), strata=STRATA, seed=0).rows()
    assert rows[0]["stratum"] == {"site": "A", "gmfcs": "I-II", "age": "<5"}
    assert rows[0]["sequence"] == 1 and rows[1]["sequence"] == 2


def test_invalid_block_size():
    with pytest.raises(DesignError) as e:
        randomisation_list(block_sizes=(3,))
    assert e.value.code == "out_of_range" and e.value.field == "block_sizes"


def test_minimisation_hand_worked_example():
    # 3 allocated: A/site1/GMFCS II, B/site1/GMFCS III, A/site2/GMFCS II.
    # New child: site1, GMFCS II. Marginal counts: site1 A1 B1; GMFCS II A2 B0.
    # Assign A: site A2 B1 range 1, GMFCS A3 B0 range 3 -> 4;
    # assign B: site A1 B2 range 1, GMFCS A2 B1 range 1 -> 2.
    existing = [
        {"arm": "A", "site": "1", "gmfcs": "II"},
        {"arm": "B", "site": "1", "gmfcs": "III"},
        {"arm": "A", "site": "2", "gmfcs": "II"},
    ]
    res = minimise(existing, {"site": "1", "gmfcs": "II"}, 0, arms=("A", "B"), probability=1)
    assert dict(res.scores) == {"A": 4.0, "B": 2.0}
    assert res.arm == "B" and res.preferred == ("B",)


def test_minimisation_random_element_frequency():
    existing = [{"arm": "A", "site": "1"}]
    rng = np.random.default_rng(5)
    picks = [
        minimise(existing, {"site": "1"}, rng, arms=("A", "B"), probability=0.8).arm
        for _ in range(4000)
    ]
    share = picks.count("B") / 4000
    # binomial(4000, 0.8): SE 0.0063; 4 SE
    assert abs(share - 0.8) < 4 * 0.0063


def _simulate(prob, n=60, reps=200, seed=11):
    rng = np.random.default_rng(seed)
    worst = []
    for _ in range(reps):
        existing = []
        for _ in range(n):
            f = {
                "site": str(rng.integers(4)),
                "gmfcs": str(rng.integers(1, 6)),
                "age": str(rng.integers(2)),
            }
            arm = minimise(existing, f, rng, arms=("A", "B"), probability=prob).arm
            existing.append({"arm": arm, **f})
        imb = 0
        for factor in ("site", "gmfcs", "age"):
            for level in {r[factor] for r in existing}:
                c = Counter(r["arm"] for r in existing if r[factor] == level)
                imb = max(imb, abs(c["A"] - c["B"]))
        worst.append(imb)
    return float(np.mean(worst))


def test_minimisation_balances_better_than_simple_randomisation():
    # probability 0.5 with two arms is simple randomisation
    simple = _simulate(0.5, reps=60)
    minim = _simulate(0.8, reps=60)
    assert minim < simple / 2
