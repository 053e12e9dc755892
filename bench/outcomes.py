"""Cohort-analysis speed: cpstem.outcomes.ipd vs R lme4 (timed inside R) and statsmodels.

(a) ``mixed_model`` (GMFM-66 ~ months * group + age + (months | child), REML) on a simulated
    cohort of 10,000 children x 10 visits against R lme4's ``lmer`` (default optimizer), timed
    with ``proc.time()`` inside Rscript around the fit only (data already read), best of
    ``--repeats``; the script checks the estimates agree;
(b) the same model with statsmodels ``MixedLM`` (REML, its default lbfgs) on a smaller cohort
    (``--sm-children``, default 1,000 x 10: at 10,000 it takes minutes and often fails to
    converge), against cpstem on that same cohort;
(c) the dashboard's cohort figures at 10,000 children: excess_change by product / GMFCS /
    age band, responders, treatment_effect (ANCOVA and IPTW), dose_response;
(d) the registry dashboard's figure tables and plots on a simulated analysis table;
(e) the dashboard page itself on a bulk-loaded registry of 10,000 children (Django test client,
    SQLite): cold (first request after a data change) and warm for every filter combination of
    ``COMBINATIONS``, against the uncached path in the same run (``--only registry``).

Run: ``make bench`` or ``.venv/bin/python bench/outcomes.py [--children 10000] [--visits 10]``.
Needs Rscript with lme4 (``make r-lme4``) and statsmodels. Record the figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cpstem.outcomes.ipd import (
    dose_response,
    excess_change,
    mixed_model,
    responders,
    simulate_cohort,
    treatment_effect,
)

FIXED = "months * group + age_baseline_years"

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$group <- factor(d$group, levels = c("control", "cells"))
d$child <- factor(d$child)
repeats <- as.integer(args[2])
times <- numeric(repeats)
for (i in seq_len(repeats)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- lmer(gmfm66 ~ months * group + age_baseline_years + (months | child), data = d,
              REML = TRUE)
  times[i] <- proc.time()[["elapsed"]] - t0
}
cat(toJSON(list(times = times, terms = names(fixef(fit)), estimate = unname(fixef(fit)),
                se = unname(sqrt(diag(as.matrix(vcov(fit))))), theta = unname(getME(fit, "theta")),
                logLik = as.numeric(logLik(fit)),
                messages = as.list(fit@optinfo$conv$lme4$messages),
                version = as.character(packageVersion("lme4")), R = R.version.string),
           auto_unbox = TRUE, digits = NA))
"""


def lme4_name(term: str) -> str:
    return "(Intercept)" if term == "Intercept" else term.replace("[T.cells]", "cells")


def timed(fn, repeats: int):  # type: ignore[no-untyped-def]
    best, result = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def cohort(children: int, visits: int, seed: int) -> pd.DataFrame:
    months = tuple(float(m) for m in np.linspace(0, 36, visits))
    return simulate_cohort(children, visits=months, seed=seed, slope_sd=0.1)


def bench_lme4(table: pd.DataFrame, repeats: int) -> None:
    t_py, res = timed(lambda: mixed_model(table, fixed=FIXED, random="months"), repeats)
    print(f"cpstem mixed_model: {t_py:.3f} s (best of {repeats}); {res.convergence}")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "cohort.csv"
        table.to_csv(csv, index=False)
        script = Path(tmp) / "fit.R"
        script.write_text(R_SCRIPT)
        try:
            out = subprocess.run(
                ["Rscript", str(script), str(csv), str(repeats)],
                capture_output=True,
                text=True,
                check=True,
            )
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            print(f"R lme4 not run ({exc}); install with `make r-lme4`")
            return
    ref = json.loads(out.stdout)
    t_r = float(np.min(ref["times"]))
    print(f"R lme4 {ref['version']} lmer: {t_r:.3f} s (best of {repeats}); {ref['messages']}")
    print(f"ratio lme4 / cpstem: {t_r / t_py:.1f}x")
    fe = res.fixed_effects.assign(term=res.fixed_effects.term.map(lme4_name)).set_index("term")
    fe = fe.loc[ref["terms"]]
    rel = np.abs(fe.estimate.to_numpy() - ref["estimate"]) / np.abs(ref["estimate"])
    rel_se = np.abs(fe.se.to_numpy() - ref["se"]) / np.abs(ref["se"])
    print(
        f"max relative difference vs lme4: fixed effects {rel.max():.1e}, SEs {rel_se.max():.1e};"
        f" logLik cpstem {res.log_likelihood:.6f} vs lme4 {ref['logLik']:.6f}"
        f" (difference {res.log_likelihood - ref['logLik']:.2e}; higher is better)"
    )


def bench_statsmodels(table: pd.DataFrame, repeats: int) -> None:
    import statsmodels.formula.api as smf

    t_py, res = timed(lambda: mixed_model(table, fixed=FIXED, random="months"), repeats)
    data = table.assign(group=pd.Categorical(table.group, categories=["control", "cells"]))
    model = smf.mixedlm("gmfm66 ~ " + FIXED, data, groups=data["child"], re_formula="~months")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t_sm, fit = timed(lambda: model.fit(reml=True), 1)
    conv = "converged" if fit.converged else "NOT converged"
    print(
        f"cpstem mixed_model: {t_py:.3f} s; statsmodels MixedLM: {t_sm:.3f} s ({conv};"
        f" {len(caught)} warnings)"
    )
    print(f"ratio statsmodels / cpstem: {t_sm / t_py:.1f}x")
    ours = res.coef
    theirs = fit.fe_params
    common = [t for t in ours.index if t in theirs.index]
    rel = np.abs(ours[common] - theirs[common]) / np.abs(theirs[common])
    print(
        f"max relative difference vs statsmodels (fixed effects): {rel.max():.1e};"
        f" logLik cpstem {res.log_likelihood:.4f} vs statsmodels {fit.llf:.4f}"
    )


def bench_dashboard(table: pd.DataFrame, repeats: int) -> None:
    figures = {
        "excess_change by product, GMFCS, age band": lambda: excess_change(
            table, by=["product", "gmfcs", "age_band"]
        ),
        "responders by GMFCS (MCID 2)": lambda: responders(table, threshold=2.0, by="gmfcs"),
        "treatment_effect ANCOVA": lambda: treatment_effect(table),
        "treatment_effect IPTW": lambda: treatment_effect(table, method="iptw"),
        "dose_response": lambda: dose_response(table),
    }
    total = 0.0
    for name, fn in figures.items():
        t, _ = timed(fn, repeats)
        total += t
        print(f"  {name}: {t * 1000:.0f} ms")
    print(f"  all cohort figures: {total:.2f} s")


def bench_dashboard_page(children: int, repeats: int) -> None:
    """The registry dashboard's figures (every table, then the five SVG plots) on the analysis
    table of ``children`` simulated children x 6 visits: the work of a page with new filters;
    an unchanged page is a cache lookup per data version."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpstem.registry.test_settings")
    django.setup()
    import numpy as np

    from cpstem.outcomes.ipd import simulate_cohort, simulate_spasticity
    from cpstem.registry.services import cohort_ipd

    table = simulate_cohort(children, visits=(0, 1, 3, 6, 12, 24), seed=3)
    table["patient_id"] = pd.factorize(table["child"])[0]
    table["synthetic"] = False
    sp = simulate_spasticity(children, seed=3)
    sp["patient_id"] = pd.factorize(sp["child"])[0]
    f = cohort_ipd.Filters()
    t, fig = timed(lambda: cohort_ipd.compute(table, sp, f), repeats)
    print(f"  tables (excess, beyond error, trajectories, dose, spasticity, ANCOVA): {t:.2f} s")
    t, _ = timed(lambda: [draw(fig) for draw in cohort_ipd.PLOTS.values()], repeats)
    print(f"  five SVG plots: {t:.2f} s")
    kept = np.ones(len(table), bool)
    t, _ = timed(lambda: cohort_ipd.filtered(_Data(table, sp), None, f), repeats)
    print(f"  filtering the cached table: {t * 1000:.0f} ms ({kept.sum():,} rows)")


def load_registry(n_children: int, seed: int = 2024) -> dict[str, int]:
    """Bulk-load a SYNTHETIC registry of ``n_children`` drawn as ``cpstem demo load`` draws them
    (:func:`cpstem.registry.demo`: the IPD simulator laid on the configured reference curves,
    treated children and concurrent controls, products, doses, spasticity, IL-6/CRP, adverse
    events) on four sites, with ``bulk_create`` (no audit history, no GMFM-88 sheets: the demo's
    per-record audited saves would take an hour at this size). Every child is synthetic, but only
    every other one is *flagged* ``is_synthetic`` so that the dashboard's "exclude synthetic"
    filter has children left (a throw-away bench registry). Returns the record counts."""
    from datetime import timedelta

    from django.db import transaction

    from cpstem.outcomes.dates import DAYS_PER_YEAR
    from cpstem.registry import demo, users
    from cpstem.registry.clock import today
    from cpstem.registry.models import (
        Administration,
        AdverseEvent,
        Classification,
        GMFM66Assessment,
        LabValue,
        Patient,
        SpasticityAssessment,
    )
    from cpstem.registry.services.trajectory import curve_set

    rng = np.random.default_rng(seed)
    sim = simulate_cohort(
        n_children,
        visits=demo.VISITS,
        effect=demo.EFFECT,
        seed=seed,
        confounding=0.5,
        dose_slope=demo.DOSE_SLOPE,
        jitter_months=0.15,
    )
    k = len(demo.VISITS)
    first = sim.iloc[::k].reset_index(drop=True)
    months = sim["months"].to_numpy(float).reshape(n_children, k)
    excess = sim["excess_anchored"].to_numpy(float).reshape(n_children, k)
    cs, now = curve_set(), today()
    sites = [
        users.get_site(f"BENCH-{c}", create=True, name=f"Bench site {c} (synthetic)")
        for c in "ABCD"
    ]
    collected: list = []
    saved = demo._save
    demo._save = collected.append  # demo's record generators, collected for bulk_create
    try:
        with transaction.atomic():
            plan = []
            for _, row in first.iterrows():
                treated = row["group"] == "cells"
                anchor = now - timedelta(days=int(rng.integers(200, 900)))
                baseline = anchor - timedelta(days=int(rng.integers(3, 20)))
                age0 = float(row["age_baseline_years"])
                birth = baseline - timedelta(days=round(age0 * DAYS_PER_YEAR))
                plan.append((treated, anchor, baseline, birth, int(row["gmfcs"]), age0))
            patients = Patient.objects.bulk_create(
                [
                    Patient(
                        site=sites[i % 4],
                        study_id=f"SYN-B-{i:05d}",
                        birth_date=birth,
                        sex="FM"[i % 2],
                        gmfcs=level,
                        group="cells" if treated else "control",
                        enrolment_date=anchor,
                        consent_date=baseline - timedelta(days=14),
                        consent_version="1.0 (synthetic)",
                        is_synthetic=i % 2 == 0,  # half flagged, for the synthetic filter
                    )
                    for i, (treated, anchor, baseline, birth, level, _) in enumerate(plan)
                ],
                batch_size=2000,
            )
            admins, classes, scores = [], [], []
            for i, (p, (treated, anchor, baseline, birth, level, age0)) in enumerate(
                zip(patients, plan, strict=True)
            ):
                classes.append(
                    Classification(patient=p, date=baseline, system="gmfcs", level=level)
                )
                if treated:
                    choices = demo.PRODUCTS[str(first.at[i, "product"])]
                    product, origin, scale = choices[int(rng.integers(0, len(choices)))]
                    weight = round(float(8 + 2.3 * age0 + rng.normal(0, 1.5)), 1)
                    per_kg = float(first.at[i, "dose_cells_per_kg"]) * scale
                    days = [anchor]
                    if rng.random() < 0.2 and demo._day(anchor, 6) <= now:
                        days.append(demo._day(anchor, 6))
                    for day in days:
                        admins.append(
                            Administration(
                                patient=p,
                                date=day,
                                product=product,
                                origin=origin,
                                route=str(first.at[i, "route"]),
                                cells_total=per_kg * weight,
                                weight_kg=weight,
                                dose_cells_per_kg=per_kg,
                                dose_confirmed=True,
                            )
                        )
                curve = cs.curve(level)
                own = float(np.clip(rng.normal(1.0, 0.08), 0.75, 1.25)) * curve.limit
                base_age = (baseline - birth).days / DAYS_PER_YEAR
                base_score = own * float(curve.fraction(base_age))
                for m, e in zip(months[i], excess[i], strict=True):
                    day = baseline if m == 0 else demo._day(anchor, float(m))
                    if day > now or (m and rng.random() < 0.1):
                        continue
                    age = (day - birth).days / DAYS_PER_YEAR
                    expected = own * (float(curve.fraction(age)) - float(curve.fraction(base_age)))
                    score = float(np.clip(base_score + (0.0 if m == 0 else expected + e), 1, 99))
                    se = round(float(rng.uniform(1.2, 2.2)), 2)
                    scores.append(
                        GMFM66Assessment(
                            patient=p, date=day, score=round(score, 2), se=se, source="synthetic"
                        )
                    )
                demo._spasticity(p, level, treated, baseline, anchor, now, rng)
                demo._labs(p, treated, baseline, anchor, now, rng)
            Classification.objects.bulk_create(classes, batch_size=2000)
            Administration.objects.bulk_create(admins, batch_size=2000)
            GMFM66Assessment.objects.bulk_create(scores, batch_size=2000)
            SpasticityAssessment.objects.bulk_create(
                [r for r in collected if isinstance(r, SpasticityAssessment)], batch_size=2000
            )
            LabValue.objects.bulk_create(
                [r for r in collected if isinstance(r, LabValue)], batch_size=2000
            )
            collected.clear()
            firsts = {}
            for a in admins:
                firsts.setdefault(a.patient_id, a)
            for a in firsts.values():
                demo._adverse_events(a, now, rng)
            AdverseEvent.objects.bulk_create(collected, batch_size=2000)
    finally:
        demo._save = saved
    return {
        "patients": len(patients),
        "administrations": len(admins),
        "gmfm66": len(scores),
        "spasticity": SpasticityAssessment.objects.count(),
        "labs": LabValue.objects.count(),
        "adverse_events": AdverseEvent.objects.count(),
    }


#: Filter combinations of the dashboard benchmark (query strings; every filter alone, pairs,
#: all four, other visits and the population method).
COMBINATIONS = (
    "",
    "site=BENCH-A",
    "product=ucb",
    "gmfcs=3",
    "exclude_synthetic=on",
    "site=BENCH-B&product=uc_msc",
    "site=BENCH-C&gmfcs=2",
    "product=ucb&gmfcs=4",
    "gmfcs=1&exclude_synthetic=on",
    "site=BENCH-D&product=ucb&gmfcs=3&exclude_synthetic=on",
    "months=6",
    "months=24&method=population",
)


def bench_registry_dashboard(children: int, peer_combinations: int) -> None:
    """The dashboard through Django's test client on a registry of ``children`` (bulk-loaded by
    :func:`load_registry`, SQLite in a temporary data dir): server time of the page (its
    figures) for every combination of :data:`COMBINATIONS` cold — the first request after a
    data change (a GMFM-66 added through the audited write path) — and warm (the same request
    again), then its five plots. Peer, in the same run: the uncached path (the table built
    child by child through ``compare()`` and every figure computed) on the first
    ``peer_combinations`` combinations."""
    import os
    import random

    folder = Path(tempfile.mkdtemp(prefix="cpstem-bench-dash-"))
    os.environ["CPSTEM_DATA_DIR"] = str(folder / "data")
    os.environ.pop("CPSTEM_DATABASE_URL", None)
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    from cpstem.registry import setup

    setup.start()
    from datetime import timedelta

    from django.test import Client

    from cpstem.registry import users
    from cpstem.registry.clock import today
    from cpstem.registry.models import GMFM66Assessment, Patient
    from cpstem.registry.services import analysis, cohort_ipd, write

    t0 = time.perf_counter()
    counts = load_registry(children)
    print(f"  loaded {counts} in {time.perf_counter() - t0:.1f} s (bulk)")
    admin = users.create_user("bench-admin", "admin", None, "bench-password-123")
    clin = users.create_user("bench-clin", "clinician", "BENCH-A", "bench-password-123")
    web, web_clin = Client(), Client()
    web.force_login(admin)
    web_clin.force_login(clin)
    ids = list(Patient.objects.values_list("id", flat=True))
    rnd = random.Random(5)

    def page(client: Client, query: str) -> float:
        t = time.perf_counter()
        r = client.get("/dashboard/?" + query)
        assert r.status_code == 200, r.status_code
        return time.perf_counter() - t

    def plots(client: Client, query: str) -> float:
        t = time.perf_counter()
        for name in cohort_ipd.PLOTS:
            assert client.get(f"/dashboard/plot/{name}.svg?{query}").status_code == 200
        return time.perf_counter() - t

    def change() -> None:
        p = Patient.objects.get(pk=rnd.choice(ids))
        day = today() - timedelta(days=rnd.randint(0, 30))
        write.save(
            GMFM66Assessment(patient=p, date=day, score=50.0, se=1.5, duplicate_confirmed=True),
            reason="bench: a new assessment",
        )

    web.get("/patients/")  # the process's imports, not the dashboard's work
    t = page(web, "")
    print(f"  first request after the server started (tables built from scratch): {t:.2f} s")
    # what `cpstem serve` and each gunicorn worker do at start: build the tables in a
    # background thread; a first visit after that build pays only the figures
    from django.core.cache import cache

    analysis.forget()
    cache.clear()
    t = time.perf_counter()
    warming = analysis.warm_in_background()
    assert warming is not None, "CPSTEM_WARM_DASHBOARD=0 is set"
    warming.join()
    built = time.perf_counter() - t
    t = page(web, "")
    print(
        f"  first request after the start-up build ({built:.2f} s in the background): "
        f"{t * 1000:.0f} ms"
    )
    rows = []
    for query in COMBINATIONS:
        change()
        cold = page(web, query)
        warm = min(page(web, query) for _ in range(3))
        cold_plots = plots(web, query)
        warm_plots = plots(web, query)
        rows.append((query or "(none)", cold, warm, cold_plots, warm_plots))
    change()
    rows.append(("clinician of BENCH-A", page(web_clin, ""), page(web_clin, ""), 0.0, 0.0))
    print(f"  {'filters':<52} {'cold':>8} {'warm':>8} {'plots cold':>11} {'warm':>8}")
    for q, c, w, pc, pw in rows:
        print(
            f"  {q:<52} {c * 1000:6.0f}ms {w * 1000:6.0f}ms {pc * 1000:9.0f}ms {pw * 1000:6.0f}ms"
        )
    cold_all = [r[1] for r in rows]
    warm_all = [r[2] for r in rows]
    print(
        f"  page cold: median {np.median(cold_all) * 1000:.0f} ms, max {max(cold_all) * 1000:.0f}"
        f" ms; warm: median {np.median(warm_all) * 1000:.0f} ms, max {max(warm_all) * 1000:.0f} ms"
    )
    peer = []
    for query in COMBINATIONS[:peer_combinations]:
        t = time.perf_counter()
        data = analysis.build_per_child()
        form_filters = _filters(query)
        table, sp = cohort_ipd.filtered(data, None, form_filters)
        cohort_ipd.compute(table, sp, form_filters)
        peer.append(time.perf_counter() - t)
    if peer:
        ours = np.median(cold_all[: len(peer)])
        print(
            f"  peer (uncached: table child by child + every figure), {len(peer)} combinations:"
            f" median {np.median(peer):.2f} s; cold page {ours * 1000:.0f} ms:"
            f" {np.median(peer) / ours:.0f}x"
        )


def _filters(query: str):  # type: ignore[no-untyped-def]
    from urllib.parse import parse_qs

    from cpstem.registry.services.cohort_ipd import Filters

    q = {k: v[0] for k, v in parse_qs(query).items()}
    return Filters(
        months=int(q.get("months", 12)),
        method=q.get("method", "anchored"),
        site=q.get("site"),
        product=q.get("product"),
        gmfcs=int(q["gmfcs"]) if "gmfcs" in q else None,
        exclude_synthetic="exclude_synthetic" in q,
    )


class _Data:
    def __init__(self, table: pd.DataFrame, spasticity: pd.DataFrame):
        self.table, self.spasticity = table, spasticity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=10)
    parser.add_argument("--sm-children", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--peer-combinations", type=int, default=3, help="(e) uncached peer: combinations run"
    )
    parser.add_argument(
        "--only",
        choices=["lme4", "statsmodels", "dashboard", "page", "registry"],
        help="run one part: (a) lme4, (b) statsmodels or (c) dashboard",
    )
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    big = cohort(args.children, args.visits, seed=2026)
    if args.only in (None, "lme4"):
        print(
            f"\n(a) mixed model, {args.children:,} children x {args.visits} visits"
            f" ({len(big):,} rows)"
        )
        bench_lme4(big, args.repeats)
    if args.only in (None, "statsmodels"):
        small = cohort(args.sm_children, args.visits, seed=7)
        print(f"\n(b) vs statsmodels MixedLM, {args.sm_children:,} children x {args.visits} visits")
        bench_statsmodels(small, args.repeats)
    if args.only in (None, "dashboard"):
        print(f"\n(c) dashboard cohort figures at {args.children:,} children")
        bench_dashboard(big, args.repeats)
    if args.only in (None, "registry"):
        print(f"\n(e) the dashboard page on a registry of {args.children:,} children")
        bench_registry_dashboard(args.children, args.peer_combinations)
    if args.only in (None, "page"):
        print(f"\n(d) the registry dashboard's figures at {args.children:,} children x 6 visits")
        bench_dashboard_page(args.children, args.repeats)


if __name__ == "__main__":
    main()
