"""A synthetic demo cohort, drawn by the IPD cohort simulator. NOT real children.

Every patient is flagged ``is_synthetic`` and has a study ID starting with ``SYN-``; the sites are
called "... (synthetic demo)". The cohort comes from :func:`cpstem.outcomes.ipd.simulate_cohort`
(GMFCS levels, ages 1-12 years, treated children and concurrent natural-history controls with
confounded assignment, products, routes, doses per kg, visit months with jitter, and each
child's excess change: the known true effect plus noise). The registry's scores are laid on the
configured reference curves: a child keeps its own stable limit (the level's limit times a
random factor), so its *expected* change is the child-anchored change of the curves and its
registry excess is the simulator's (:data:`EFFECT` points per 12 months for cells, a dose slope
of :data:`DOSE_SLOPE` per log10 cells/kg). Spasticity (Modified Ashworth, Tardieu) and
laboratory markers (IL-6, CRP) are drawn with a smaller tone and a lower IL-6 after cells. The
numbers are chosen so that every analysis has something to show: they carry no clinical meaning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction
from scipy.special import ndtri

from cpstem.datafiles import toml_data
from cpstem.measures import gmfm
from cpstem.measures.spasticity import MAS
from cpstem.outcomes.dates import DAYS_PER_YEAR
from cpstem.outcomes.ipd import simulate_cohort
from cpstem.registry.clock import today
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    RehabEpisode,
    SpasticityAssessment,
)
from cpstem.registry.services import write
from cpstem.registry.services.trajectory import curve_set
from cpstem.registry.users import get_site

SITES = (("DEMO-N", "Demo North (synthetic demo)"), ("DEMO-S", "Demo South (synthetic demo)"))
REASON = "synthetic demo cohort"
REMOVE_REASON = "cpstem demo remove: the synthetic demo cohort is removed"
#: The simulator's product -> registry (product, origin) choices. Doses per kg are the
#: simulator's 10^U(6.5, 8) for cord blood; MSC / marrow products get a twentieth of it (their
#: published doses are about 1 x 10^6/kg: outcomes/data/dose.toml). Synthetic, confirmed.
PRODUCTS = {
    "UCB autologous": (("ucb", "autologous", 1.0),),
    "UCB allogeneic": (("ucb", "allogeneic", 1.0),),
    "UC-MSC": (
        ("uc_msc", "allogeneic", 0.05),
        ("wj_msc", "allogeneic", 0.05),
        ("bm_mnc", "autologous", 0.05),
        ("bm_msc", "autologous", 0.05),
    ),
}
#: Synthetic truth of the demo (points of GMFM-66 per 12 months after cells; per log10 dose).
EFFECT = 3.0
DOSE_SLOPE = 1.5
#: Visit months (those of the default follow-up schedule).
VISITS = (0, 1, 3, 6, 12, 24)
AE_TERMS = (("fever", 1), ("vomiting", 1), ("headache", 1), ("upper respiratory infection", 2))
SPASTIC_MUSCLES = ("gastrocnemius_soleus", "hamstrings", "hip_adductors")


def is_loaded() -> bool:
    return Patient.objects.filter(is_synthetic=True, study_id__startswith="SYN-").exists()


def demo_patients():
    """The children of the demo cohort: synthetic, ``SYN-`` study IDs, at the demo sites."""
    return Patient.objects.filter(
        is_synthetic=True, study_id__startswith="SYN-", site__code__in=[c for c, _ in SITES]
    )


def real_patients() -> int:
    """How many children in the registry are not synthetic (real patients)."""
    return Patient.objects.filter(is_synthetic=False).count()


#: The order in which a demo child's records are deleted.
RECORD_ORDER = (
    "adverseevent_set",
    "gmfm66assessment_set",
    "gmfm88assessment_set",
    "spasticityassessment_set",
    "labvalue_set",
    "classification_set",
    "rehabepisode_set",
    "administration_set",
)


def remove(reason: str = REMOVE_REASON, progress: Callable[[int], None] | None = None) -> int:
    """Delete the demo cohort through the one write path (each deletion, with its records,
    audited with ``reason``); the demo sites go too when nothing else refers to them. Real and
    other synthetic children are never touched. Returns the number of children removed."""
    from cpstem.registry.models import Site

    removed = 0
    with transaction.atomic():
        for patient in demo_patients().order_by("pk"):
            # the child's records first (a child with records is never deleted in one step),
            # adverse events before the administrations they are attributed to
            for related in RECORD_ORDER:
                for record in getattr(patient, related).all():
                    if type(record).objects.filter(pk=record.pk).exists():  # not gone with a sheet
                        write.delete(record, reason=reason)
            write.delete(patient, reason=reason)
            removed += 1
            if progress:
                progress(1)
        for code, _ in SITES:
            site = Site.objects.filter(code=code).first()
            if site is not None and not site.patients.exists():
                try:
                    with transaction.atomic():
                        site.delete()
                except IntegrityError:  # a user still belongs to it: keep the site
                    pass
    return removed


def gmfm88_items(ability: float, rng: np.random.Generator) -> dict[str, int | None]:
    """A plausible-looking synthetic sheet: easier (lower-numbered) items pass first."""
    items: dict[str, int | None] = {}
    for item in gmfm.ITEMS:
        difficulty = (item.number - 1) / 87
        p = 1 / (1 + math.exp(-10 * (ability - difficulty)))
        score = int(np.clip(round(3 * p + rng.normal(0, 0.35)), 0, 3))
        items[str(item.number)] = None if rng.random() < 0.02 else score
    return items


def _save(obj) -> None:
    """Through the registry's one write path (validated in the transaction, audited)."""
    write.save(obj, reason=REASON)


def load(
    n_per_site: int = 20, seed: int = 2024, progress: Callable[[int], None] | None = None
) -> int:
    """Create the demo cohort (idempotent: does nothing when it exists). Patients created."""
    if is_loaded():
        return 0
    rng = np.random.default_rng(seed)
    n = n_per_site * len(SITES)
    sim = simulate_cohort(
        n,
        visits=VISITS,
        effect=EFFECT,
        seed=seed,
        confounding=0.5,
        dose_slope=DOSE_SLOPE,
        jitter_months=0.15,
    )
    children = [part for _, part in sim.groupby("child", sort=True)]
    cs = curve_set()
    now = today()
    created = 0
    with transaction.atomic():
        for k, (code, name) in enumerate(SITES):
            site = get_site(code, create=True, name=name)
            for i in range(1, n_per_site + 1):
                rows = children[k * n_per_site + i - 1].sort_values("months")
                _patient(site, f"SYN-{code[-1]}-{i:03d}", rows, rng, cs, now)
                created += 1
                if progress:
                    progress(1)
    return created


def _day(anchor: date, months: float) -> date:
    return anchor + timedelta(days=round(months * DAYS_PER_YEAR / 12))


SUBTYPES = ["spastic_bilateral", "spastic_unilateral", "dyskinetic_dystonic"]


def _topography(subtype: str, drawn: str) -> str:
    """A topography that agrees with the SCPE subtype: unilateral spastic CP is hemiplegia,
    bilateral CP is not (the same random draw as before, so the rest of the demo is unchanged)."""
    if subtype == "spastic_unilateral":
        return "hemiplegia"
    return "tetraplegia" if drawn == "hemiplegia" else drawn


def birth_weight_g(weeks: float, u: float) -> int:
    """A birth weight (g) for ``weeks`` of gestation at quantile ``u`` of Hadlock's in-utero
    weight standard (``data/demo.toml``): one uniform draw, so the demo's random stream and every
    later draw stay as they were."""
    p = toml_data("cpstem.registry", "data/demo.toml")["birth_weight"]
    a, b, c = p["ln_coefficients"]
    z = float(np.clip(ndtri(min(max(u, 1e-12), 1 - 1e-12)), -p["max_sd"], p["max_sd"]))
    return round(math.exp(a + b * weeks + c * weeks**2) * (1 + p["sd_fraction"] * z))


def _patient(site, study_id: str, sim: pd.DataFrame, rng, cs, now: date) -> Patient:
    """One synthetic child from the simulator's rows (one per visit) of one child."""
    first_row = sim.iloc[0]
    level = int(first_row["gmfcs"])
    treated = first_row["group"] == "cells"
    anchor = now - timedelta(days=int(rng.integers(200, 900)))
    baseline = anchor - timedelta(days=int(rng.integers(3, 20)))
    age0 = float(first_row["age_baseline_years"])
    birth = baseline - timedelta(days=round(age0 * DAYS_PER_YEAR))
    p = Patient(
        site=site,
        study_id=study_id,
        birth_date=birth,
        sex=str(rng.choice(["F", "M"])),
        gestational_age_weeks=(ga := Decimal(f"{rng.uniform(26, 41):.1f}")),
        birth_weight_g=birth_weight_g(float(ga), rng.uniform()),
        subtype=(subtype := str(rng.choice(SUBTYPES))),
        topography=_topography(subtype, str(rng.choice(["diplegia", "tetraplegia", "hemiplegia"]))),
        mrics=str(rng.choice(["B1", "B2", "C1", "C2", "E"])),
        hie=bool(rng.random() < 0.2),
        maternal_infection=bool(rng.random() < 0.15),
        group="cells" if treated else "control",
        enrolment_date=anchor,
        consent_date=baseline - timedelta(days=14),
        consent_version="1.0 (synthetic)",
        is_synthetic=True,
    )
    _save(p)
    _save(Classification(patient=p, date=baseline, system="gmfcs", level=level))
    _save(
        Classification(
            patient=p,
            date=baseline,
            system="macs",
            level=int(min(5, max(1, level + rng.integers(-1, 2)))),
        )
    )
    admin = None
    if treated:
        choices = PRODUCTS[str(first_row["product"])]
        product, origin, scale = choices[int(rng.integers(0, len(choices)))]
        per_kg = float(first_row["dose_cells_per_kg"]) * scale
        weight = round(float(8 + 2.3 * age0 + rng.normal(0, 1.5)), 1)
        doses = [anchor]
        if rng.random() < 0.2 and _day(anchor, 6) <= now:
            doses.append(_day(anchor, 6))
        for day in doses:
            admin = Administration(
                patient=p,
                date=day,
                product=product,
                origin=origin,
                route=str(first_row["route"]),
                hla_match="5/6" if origin == "allogeneic" and product == "ucb" else "",
                cells_total=per_kg * weight,
                weight_kg=weight,
                dose_confirmed=True,
                lot=f"SYN-LOT-{int(rng.integers(1000, 9999))}",
                gcsf=False,
                epo=product == "ucb" and bool(rng.random() < 0.3),
            )
            _save(admin)
        admin = Administration.objects.filter(patient=p).order_by("date").first()
    _save(RehabEpisode(patient=p, date=baseline, therapy="physiotherapy", hours_per_week=3.0))
    curve = cs.curve(level)
    own = float(np.clip(rng.normal(1.0, 0.08), 0.75, 1.25)) * curve.limit
    base_age = (baseline - birth).days / DAYS_PER_YEAR
    base_score = own * float(curve.fraction(base_age))
    for _, row in sim.iterrows():
        months = float(row["months"])
        day = baseline if months == 0 else _day(anchor, months)
        if day > now or (months and rng.random() < 0.1):
            continue
        age = (day - birth).days / DAYS_PER_YEAR
        expected = own * (float(curve.fraction(age)) - float(curve.fraction(base_age)))
        score = base_score + (0.0 if months == 0 else expected + float(row["excess_anchored"]))
        score = float(np.clip(score, 1, 99))
        sheet = GMFM88Assessment(
            patient=p, date=day, items=gmfm88_items(score / 100, rng), goal_dimensions="D,E"
        )
        _save(sheet)
        se = round(float(rng.uniform(1.2, 2.2)), 2)
        _save(
            GMFM66Assessment(
                patient=p,
                date=day,
                score=round(score, 2),
                se=se,
                ci_lower=round(max(0, score - 1.96 * se), 1),
                ci_upper=round(min(100, score + 1.96 * se), 1),
                source="synthetic",
            )
        )
    _spasticity(p, level, treated, baseline, anchor, now, rng)
    _labs(p, treated, baseline, anchor, now, rng)
    if admin is not None:
        _adverse_events(admin, now, rng)
    return p


def _spasticity(p, level, treated, baseline, anchor, now, rng) -> None:
    """MAS of three muscle groups on both sides at baseline, 6, 12 and 24 months: one grade
    lower with probability 0.35 after cells (0.12 in controls), one higher with 0.08; Tardieu of
    the calf, its dynamic component 5 degrees smaller after cells."""
    start = {
        (m, s): int(np.clip(level - 1 - k + rng.integers(-1, 2), 0, 5))
        for k, m in enumerate(SPASTIC_MUSCLES)
        for s in ("left", "right")
    }
    better = 0.35 if treated else 0.12
    for months in (0, 6, 12, 24):
        day = baseline if months == 0 else _day(anchor, months)
        if day > now:
            break
        grades = {}
        for limb, base in start.items():
            change = 0
            if months:
                u = rng.random()
                change = -1 if u < better else (1 if u > 0.92 else 0)
            grades[limb] = int(np.clip(base + change, 0, 5))
        r2 = 110.0
        _save(
            SpasticityAssessment(
                patient=p,
                date=day,
                mas=[
                    {"muscle": m, "side": s, "grade": MAS.from_ordinal(g).value}
                    for (m, s), g in grades.items()
                ],
                tardieu=[
                    {
                        "muscle": "gastrocnemius_soleus",
                        "side": s,
                        "r1_deg": _r1(
                            r2, grades[("gastrocnemius_soleus", s)], treated and months, rng
                        ),
                        "r2_deg": r2,
                        "quality": min(grades[("gastrocnemius_soleus", s)], 4),
                    }
                    for s in ("left", "right")
                ],
            )
        )


def _r1(r2: float, grade: int, after_cells: bool, rng) -> float:
    """Tardieu R1: dynamic component R2 - R1 = 10 + 6 grade + N(0, 3^2) degrees, 5 smaller after
    cells, at least 2 degrees (R1 below R2)."""
    dynamic = 10 + 6 * grade - (5 if after_cells else 0) + float(rng.normal(0, 3))
    return round(r2 - max(dynamic, 2.0), 0)


def _labs(p, treated, baseline, anchor, now, rng) -> None:
    """IL-6 (pg/mL, log-normal around 4) and CRP (mg/L, around 1.5) before and 6 and 12 months
    after the anchor; IL-6 about 30 % lower after cells."""
    il6, crp = (
        float(np.exp(rng.normal(math.log(4.0), 0.5))),
        float(np.exp(rng.normal(math.log(1.5), 0.6))),
    )
    for months in (0, 6, 12):
        day = baseline if months == 0 else _day(anchor, months)
        if day > now:
            break
        ratio = 0.7 if treated and months else 1.0
        _save(
            LabValue(
                patient=p,
                date=day,
                analyte="IL-6",
                unit="pg/mL",
                value=round(il6 * ratio * float(np.exp(rng.normal(0, 0.25))), 2),
            )
        )
        _save(
            LabValue(
                patient=p,
                date=day,
                analyte="CRP",
                unit="mg/L",
                value=round(crp * float(np.exp(rng.normal(0, 0.4))), 2),
            )
        )


def _adverse_events(admin: Administration, now: date, rng) -> None:
    first = admin.date
    if rng.random() < 0.45:
        term, ae_grade = AE_TERMS[int(rng.integers(0, len(AE_TERMS)))]
        onset = first + timedelta(days=int(rng.integers(0, 3)))
        if onset <= now:
            _adverse_event(
                admin,
                onset,
                now,
                term=term,
                grade=ae_grade,
                relatedness=str(rng.choice(["possible", "probable", "unlikely"])),
                days_to_resolution=int(rng.integers(1, 5)),
            )
    if rng.random() < 0.05:
        onset = first + timedelta(days=int(rng.integers(10, 60)))
        if onset <= now:
            _adverse_event(
                admin,
                onset,
                now,
                term="seizure",
                grade=3,
                relatedness="unlikely",
                days_to_resolution=2,
                serious=True,
                action="hospitalised",
            )


def _adverse_event(
    admin: Administration,
    onset: date,
    now: date,
    *,
    term: str,
    grade: int,
    relatedness: str,
    days_to_resolution: int,
    serious: bool = False,
    action: str = "none",
) -> None:
    """Save an adverse event after ``admin``, resolved ``days_to_resolution`` days after onset
    (not after ``now``)."""
    _save(
        AdverseEvent(
            patient=admin.patient,
            date=onset,
            term=term,
            grade=grade,
            serious=serious,
            relatedness=relatedness,
            action=action,
            resolution_date=min(now, onset + timedelta(days=days_to_resolution)),
            administration=admin,
        )
    )
