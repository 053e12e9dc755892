"""A cohort simulator that writes the analysis table (synthetic children, known true effect).

Used by the tests (unbiasedness and coverage of the estimators) and the benchmark. Everything
here is synthetic: the natural history is a simple linear model, not a reference curve.

Per child: GMFCS level (1–5), age at baseline U(1, 12) years, true baseline GMFM-66
``85 - 10 gmfcs + age + N(0, 4^2)``, natural-history gain per month
``0.55 - 0.07 gmfcs - 0.02 age`` plus a child-specific N(0, slope_sd^2), measurement error
N(0, measurement_se^2) at every visit. Treatment (``cells``) is assigned with
``logit P = c (-0.4 (gmfcs - 3) + 0.1 (age - 6) + 0.05 (observed baseline - 50))`` with
``c = confounding`` (0: randomised, P = 1/2); treated children gain ``effect`` extra points
per 12 months (plus ``dose_slope`` per log10 cell dose above 7). Expected change (both
methods) is the natural history, so ``excess`` is observed minus natural-history change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PRODUCTS = ("UCB autologous", "UCB allogeneic", "UC-MSC")
ROUTES = ("intravenous", "intrathecal")
SITES = ("site A", "site B", "site C", "site D")


def simulate_cohort(
    n_children: int = 200,
    visits: Sequence[float] = (0, 3, 6, 12, 24),
    effect: float = 3.0,
    *,
    seed: int = 1,
    confounding: float = 1.0,
    dose_slope: float = 0.0,
    slope_sd: float = 0.08,
    measurement_se: float = 1.5,
    jitter_months: float = 0.5,
) -> pd.DataFrame:
    """An analysis table (all contract columns) of ``n_children`` simulated children."""
    rng = np.random.default_rng(seed)
    n = int(n_children)
    gmfcs = rng.choice(np.arange(1, 6), size=n, p=[0.25, 0.2, 0.2, 0.2, 0.15])
    age = rng.uniform(1.0, 12.0, n)
    true0 = 85.0 - 10.0 * gmfcs + age + rng.normal(0.0, 4.0, n)
    obs0 = true0 + rng.normal(0.0, measurement_se, n)
    lin = confounding * (-0.4 * (gmfcs - 3) + 0.1 * (age - 6) + 0.05 * (obs0 - 50.0))
    treated = rng.random(n) < 1.0 / (1.0 + np.exp(-lin))
    log_dose = rng.uniform(6.5, 8.0, n)
    dose = np.where(treated, 10.0**log_dose, np.nan)
    gain = 0.55 - 0.07 * gmfcs - 0.02 * age
    slope = gain + rng.normal(0.0, slope_sd, n)
    extra = np.where(treated, (effect + dose_slope * (log_dose - 7.0)) / 12.0, 0.0)
    product = np.where(treated, rng.choice(PRODUCTS, n), "")
    route = np.where(treated, rng.choice(ROUTES, n), "")
    site = rng.choice(SITES, n)

    v = np.asarray(visits, dtype=float)
    k = len(v)
    months = np.tile(v, n) + np.where(
        np.tile(v, n) > 0, rng.uniform(-jitter_months, jitter_months, n * k), 0.0
    )
    idx = np.repeat(np.arange(n), k)
    score = true0[idx] + (slope[idx] + extra[idx]) * months
    score = score + rng.normal(0.0, measurement_se, n * k)
    score[np.tile(v, n) == 0] = obs0
    expected = gain[idx] * months
    change = score - obs0[idx]
    return pd.DataFrame(
        {
            "child": np.char.add("R", np.char.zfill(idx.astype(str), 5)),
            "site": site[idx],
            "group": np.where(treated[idx], "cells", "control"),
            "product": product[idx],
            "route": route[idx],
            "dose_cells_per_kg": dose[idx],
            "gmfcs": gmfcs[idx],
            "age_baseline_years": age[idx],
            "gmfm66_baseline": obs0[idx],
            "months": months,
            "gmfm66": score,
            "gmfm66_se": np.full(n * k, measurement_se),
            "expected_change_population": expected,
            "expected_change_anchored": expected,
            "excess_population": change - expected,
            "excess_anchored": change - expected,
        }
    )


SPASTIC_MUSCLES = ("gastrocnemius_soleus", "hamstrings", "hip_adductors")


def simulate_spasticity(
    n_children: int = 100,
    visits: Sequence[float] = (0, 6, 12),
    log_or: float = -1.0,
    *,
    seed: int = 1,
    muscles: Sequence[str] = SPASTIC_MUSCLES,
    baseline_slope: float = 1.5,
    child_sd: float = 0.0,
    tardieu_effect_deg: float = 5.0,
) -> pd.DataFrame:
    """A spasticity table (every :data:`~cpstem.outcomes.ipd.table.SPASTICITY_COLUMNS` column)
    with a known treatment effect on the proportional-odds scale.

    Per child: group ``cells`` with probability 1/2 (randomised), a child effect
    N(0, child_sd^2) shared by all its limbs (clustering). Per limb (muscle x side): the baseline
    MAS code is ``digitize(a_muscle + u_child + L, cuts)`` with L standard logistic, cuts
    (-1, 0, 1, 2, 3) and a_muscle 0, 0.5, 1, ... At each follow-up month the MAS code follows
    the proportional-odds model ``P(Y <= j) = F(c_j - eta)`` with
    ``eta = log_or * treated + baseline_slope * (mas_0 - 2) + a_muscle + u_child`` and cut
    points (-1, 0, 1, 2, 3): exactly the model :func:`spasticity_change` fits (its muscle
    indicators absorb ``a_muscle``), so its odds ratio estimates ``exp(log_or)`` when
    ``child_sd = 0`` (with a child effect the marginal odds ratio is attenuated towards 1).
    Tardieu: R2 ~ N(110, 8^2) degrees, dynamic component R2 - R1 = 10 + 6 mas + N(0, 4^2),
    and treated limbs' dynamic component smaller by ``tardieu_effect_deg`` at follow-up.
    """
    rng = np.random.default_rng(seed)
    n = int(n_children)
    treated = rng.random(n) < 0.5
    u = rng.normal(0.0, child_sd, n) if child_sd > 0 else np.zeros(n)
    cuts = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])
    rows = []
    for c in range(n):
        child = f"S{c:05d}"
        group = "cells" if treated[c] else "control"
        for k, muscle in enumerate(muscles):
            a = 0.5 * k
            for side in ("left", "right"):
                mas0 = int(np.digitize(a + u[c] + rng.logistic(), cuts))
                r2 = rng.normal(110.0, 8.0)
                for month in visits:
                    if month <= 0:
                        mas = mas0
                    else:
                        eta = log_or * treated[c] + baseline_slope * (mas0 - 2) + a + u[c]
                        mas = int(np.digitize(eta + rng.logistic(), cuts))
                    dyn = 10.0 + 6.0 * mas + rng.normal(0.0, 4.0)
                    if month > 0 and treated[c]:
                        dyn -= tardieu_effect_deg
                    rows.append((child, group, muscle, side, float(month), mas, r2 - dyn, r2))
    frame = pd.DataFrame(
        rows,
        columns=[
            "child",
            "group",
            "muscle",
            "side",
            "months",
            "mas",
            "tardieu_r1_deg",
            "tardieu_r2_deg",
        ],
    )
    frame["mas_label"] = np.array(["0", "1", "1+", "2", "3", "4"])[frame["mas"].to_numpy()]
    frame["tardieu_quality"] = np.minimum(frame["mas"], 4)
    return frame
