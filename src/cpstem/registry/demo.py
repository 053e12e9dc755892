"""A synthetic demo cohort, generated from the reference curves. NOT real children.

Every patient is flagged ``is_synthetic`` and has a study ID starting with ``SYN-``; the sites are
called "... (synthetic demo)". Motor scores follow each child's own stable-limit curve (the
level's curve scaled by a random factor) plus noise, with an arbitrary small extra gain after
cells so that the charts have something to show: the numbers carry no clinical meaning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.db import IntegrityError, transaction

from cpstem.measures import gmfm
from cpstem.measures.spasticity import MAS
from cpstem.outcomes.dates import DAYS_PER_YEAR, add_months
from cpstem.registry.clock import today
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
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
#: Products with the per-kg dose, origin and route of a published trial using them (see
#: outcomes/data/dose.toml and docs/evidence-dossier.md).
PRODUCTS = (
    ("ucb", 3e7, "allogeneic", "intravenous"),  # Min 2013: TNC > 3 x 10^7/kg, IV
    ("uc_msc", 1e6, "allogeneic", "intravenous"),  # Boyali 2024: 1 x 10^6/kg
    ("wj_msc", 1e6, "allogeneic", "intrathecal"),
    ("bm_mnc", 1e6, "autologous", "intrathecal"),  # Liu 2017: 1 x 10^6/kg, intrathecal
    ("bm_msc", 1e6, "autologous", "intrathecal"),  # Liu 2017
)
AE_TERMS = (("fever", 1), ("vomiting", 1), ("headache", 1), ("upper respiratory infection", 2))


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


def remove(reason: str = REMOVE_REASON, progress: Callable[[int], None] | None = None) -> int:
    """Delete the demo cohort through the one write path (each deletion, with its records,
    audited with ``reason``); the demo sites go too when nothing else refers to them. Real and
    other synthetic children are never touched. Returns the number of children removed."""
    from cpstem.registry.models import Site

    removed = 0
    with transaction.atomic():
        for patient in demo_patients().order_by("pk"):
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
    cs = curve_set()
    now = today()
    created = 0
    with transaction.atomic():
        for code, name in SITES:
            site = get_site(code, create=True, name=name)
            for i in range(1, n_per_site + 1):
                _patient(site, f"SYN-{code[-1]}-{i:03d}", rng, cs, now)
                created += 1
                if progress:
                    progress(1)
    return created


def _patient(site, study_id, rng, cs, now) -> Patient:
    level = int(rng.choice([1, 2, 3, 4, 5], p=[0.2, 0.25, 0.25, 0.2, 0.1]))
    first = now - timedelta(days=int(rng.integers(60, 900)))
    age0 = float(rng.uniform(2.0, 8.0))
    birth = first - timedelta(days=int(age0 * DAYS_PER_YEAR))
    baseline = first - timedelta(days=int(rng.integers(3, 20)))
    p = Patient(
        site=site,
        study_id=study_id,
        birth_date=birth,
        sex=str(rng.choice(["F", "M"])),
        gestational_age_weeks=Decimal(f"{rng.uniform(26, 41):.1f}"),
        birth_weight_g=int(rng.uniform(800, 3900)),
        subtype=str(rng.choice(["spastic_bilateral", "spastic_unilateral", "dyskinetic_dystonic"])),
        topography=str(rng.choice(["diplegia", "tetraplegia", "hemiplegia"])),
        mrics=str(rng.choice(["B1", "B2", "C1", "C2", "E"])),
        hie=bool(rng.random() < 0.2),
        maternal_infection=bool(rng.random() < 0.15),
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
    product, per_kg, origin, route = PRODUCTS[int(rng.integers(0, len(PRODUCTS)))]
    weight = round(float(8 + 2.3 * age0 + rng.normal(0, 1.5)), 1)
    admin = Administration(
        patient=p,
        date=first,
        product=product,
        origin=origin,
        route=route,
        hla_match="5/6" if origin == "allogeneic" and product == "ucb" else "",
        cells_total=per_kg * weight,
        weight_kg=weight,
        lot=f"SYN-LOT-{int(rng.integers(1000, 9999))}",
        gcsf=False,
        epo=product == "ucb" and bool(rng.random() < 0.3),
    )
    _save(admin)
    _save(RehabEpisode(patient=p, date=baseline, therapy="physiotherapy", hours_per_week=3.0))
    curve = cs.curve(level)
    own = float(np.clip(rng.normal(1.0, 0.08), 0.75, 1.25)) * curve.limit
    gain = float(rng.normal(1.0, 1.0))  # arbitrary synthetic extra gain after cells
    for months in (0, 1, 3, 6, 12, 24):
        day = (
            baseline
            if months == 0
            else add_months(first, months) + timedelta(days=int(rng.integers(-5, 6)))
        )
        if day > now or (months and rng.random() < 0.1):
            continue
        age = (day - birth).days / DAYS_PER_YEAR
        score = (
            own * float(curve.fraction(age)) + (gain * min(months, 12) / 12) + rng.normal(0, 1.2)
        )
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
                score=round(score, 1),
                se=se,
                ci_lower=round(max(0, score - 1.96 * se), 1),
                ci_upper=round(min(100, score + 1.96 * se), 1),
                source="synthetic",
            )
        )
        if months in (0, 6, 12, 24):
            base = max(
                0,
                min(
                    5,
                    level
                    - 1
                    + int(rng.integers(-1, 2))
                    - (1 if months >= 6 and rng.random() < 0.3 else 0),
                ),
            )
            grade = MAS.from_ordinal(base).value
            _save(
                SpasticityAssessment(
                    patient=p,
                    date=day,
                    mas=[
                        {"muscle": "gastrocnemius_soleus", "side": s, "grade": grade}
                        for s in ("left", "right")
                    ]
                    + [
                        {
                            "muscle": "hamstrings",
                            "side": s,
                            "grade": MAS.from_ordinal(max(0, base - 1)).value,
                        }
                        for s in ("left", "right")
                    ],
                    tardieu=[
                        {
                            "muscle": "gastrocnemius_soleus",
                            "side": "left",
                            "r1_deg": -10.0 - 5 * base,
                            "r2_deg": 10.0,
                            "quality": min(base, 4),
                        }
                    ],
                )
            )
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
    return p


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
