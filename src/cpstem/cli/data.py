"""``cpstem demo load`` / ``demo remove``, ``export``, ``import``, ``backup`` and ``restore``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cpstem.cli.app import App
from cpstem.cli.console import console, err_console
from cpstem.cli.registry import DataDir, start
from cpstem.registry.errors import RegistryError

demo_app = App(help="The synthetic demo cohort.")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@demo_app.command("load")
def demo_load(
    per_site: Annotated[int, typer.Option(help="Synthetic patients per demo site.")] = 30,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Load even into a registry that holds real (non-synthetic) patients."
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Load the SYNTHETIC demo cohort (two demo sites); does nothing if it is already there.
    Refuses a registry with real patients (a production database) unless --force."""
    start(data_dir)
    from cpstem.registry import demo

    if demo.is_loaded():
        console.print("The synthetic demo cohort is already loaded.")
        return
    real = demo.real_patients()
    if real and not force:
        raise RegistryError(
            f"this registry holds {real} real (non-synthetic) patient(s): the demo cohort is not "
            "loaded into a production database. Use a separate data dir for the demo "
            "(`make run` uses ./cpstem-demo), or pass --force",
            code="demo_into_real_registry",
            params={"real_patients": real},
        )
    with _progress() as bar:
        task = bar.add_task("Generating synthetic patients", total=per_site * len(demo.SITES))
        n = demo.load(per_site, progress=lambda k: bar.advance(task, k))
    console.print(
        f"Loaded {n} SYNTHETIC demo patients (study IDs SYN-...; sites "
        f"{', '.join(code for code, _ in demo.SITES)}): not real children."
    )


@demo_app.command("remove")
def demo_remove(data_dir: DataDir = None) -> None:
    """Remove the SYNTHETIC demo cohort (its children, their records and the demo sites); each
    deletion is kept in the audit trail. Real patients are never touched."""
    start(data_dir)
    from cpstem.registry import demo

    n = demo.demo_patients().count()
    if not n:
        console.print("No synthetic demo cohort in this registry: nothing removed.")
        return
    with _progress() as bar:
        task = bar.add_task("Removing synthetic demo patients", total=n)
        removed = demo.remove(progress=lambda k: bar.advance(task, k))
    console.print(
        f"Removed {removed} SYNTHETIC demo patients and their records (audited: "
        f'"{demo.REMOVE_REASON}").'
    )


def export(
    out: Annotated[
        Path | None,
        typer.Argument(help="OUT.csv (analysis table) or OUT.xlsx (all tables), --pseudonymised."),
    ] = None,
    pseudonymised: Annotated[
        bool,
        typer.Option(
            "--pseudonymised",
            help="Research IDs and ages only (required for the tables; optional for --fhir).",
        ),
    ] = False,
    analysis: Annotated[
        Path | None,
        typer.Option(
            "--analysis",
            help="Write the IPD analysis table (OUT.csv or OUT.parquet; always pseudonymised), "
            "with OUT-spasticity and OUT-labs beside it.",
        ),
    ] = None,
    spasticity: Annotated[
        Path | None,
        typer.Option(help="With --analysis: the spasticity table here (default OUT-spasticity)."),
    ] = None,
    labs: Annotated[
        Path | None,
        typer.Option(help="With --analysis: the laboratory table here (default OUT-labs)."),
    ] = None,
    fhir: Annotated[
        Path | None,
        typer.Option(
            "--fhir",
            help="Write FHIR R4 resources as NDJSON (bulk-data style) to this file instead; "
            "identified unless --pseudonymised.",
        ),
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site's children (with --fhir).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Export the registry for research, pseudonymised (research IDs, no calendar dates, no
    study IDs, no free text; CSV text cells escaped against spreadsheet formula injection).

    --analysis OUT.csv|OUT.parquet writes the analysis table every `cpstem outcomes` analysis
    reads: one row per GMFM-66 assessment of each child with a GMFCS level, an anchor (first
    administration; a control's enrolment) and a baseline GMFM-66. Columns (docs/analysis-table.md):

    child: research ID | site: site code | group: cells or control | product, route: of the
    first administration (empty for controls) | dose_cells_per_kg: first administration's cells
    per kg | gmfcs: level 1-5 at the anchor | age_baseline_years: age at the baseline GMFM-66 |
    gmfm66_baseline: baseline score | months: months since the anchor (baseline row <= 0) |
    gmfm66, gmfm66_se: score and its standard error | expected_change_population,
    expected_change_anchored: expected change since baseline (population / child-anchored
    curves) | excess_population, excess_anchored: observed minus expected change |
    dose_cells_per_kg_cumulative: cells per kg of all administrations up to this assessment |
    synthetic: demo record.

    Beside it: OUT-spasticity (child, group, muscle, side, months, mas 0-5, mas_label,
    tardieu_r1_deg, tardieu_r2_deg, tardieu_quality: one row per muscle, side and assessment)
    and OUT-labs (child, group, analyte, unit, months, value; analytes and units as terms of
    their closed lists, else "other").

    --fhir OUT.ndjson: every child as FHIR R4 resources, one per line, identified (for moving
    data to another system; import with `cpstem import --fhir`) or, with --pseudonymised, for
    research (docs/fhir.md).
    """
    if fhir is not None:
        start(data_dir)
        from cpstem.cli.fhir import export_fhir

        export_fhir(fhir, site, pseudonymised)
        return
    if analysis is None and (spasticity is not None or labs is not None):
        raise RegistryError(
            "--spasticity and --labs go with --analysis", code="required", field="analysis"
        )
    if analysis is None and out is None:
        raise RegistryError(
            "give OUT.csv / OUT.xlsx with --pseudonymised, or --analysis OUT.csv",
            code="required",
            field="out",
        )
    if out is not None and not pseudonymised:
        raise RegistryError("only pseudonymised exports exist: add --pseudonymised")
    start(data_dir)
    from cpstem.registry import exporter

    if out is not None:
        counts = exporter.write(out)
        console.print(f"Wrote {out}: " + ", ".join(f"{k} {v} rows" for k, v in counts.items()))
    if analysis is not None:
        written = exporter.write_analysis(analysis, spasticity=spasticity, labs=labs)
        for name, (path, rows) in written.items():
            console.print(f"Wrote {path}: {name} table, {rows} rows")


def import_(
    file: Annotated[
        Path | None, typer.Argument(help="CSV of GMFM-88 sheets (format: see README).")
    ] = None,
    fhir: Annotated[
        Path | None,
        typer.Option("--fhir", help="Import a FHIR R4 Bundle (.json) or NDJSON export instead."),
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Record the import as this user.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the rejected rows to this CSV as well.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import GMFM-88 sheets in bulk: all rows or none; every rejected row is reported.

    With --fhir: a FHIR export of cpstem (every record kind), all or nothing."""
    if fhir is not None:
        start(data_dir)
        from cpstem.cli.fhir import import_fhir

        import_fhir(fhir)
        return
    if file is None:
        raise RegistryError("give the CSV of GMFM-88 sheets, or --fhir FILE")
    start(data_dir)
    from django.contrib.auth import get_user_model

    from cpstem.registry import importer

    actor = None
    if user:
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise RegistryError(f"no user {user}")
    try:
        with _progress() as bar:
            task = bar.add_task(f"Importing {file.name}", total=None)
            result = importer.import_gmfm(file, actor, progress=lambda k: bar.advance(task, k))
    except importer.ImportRejected as exc:
        for r in exc.rows:
            err_console.print(
                f"{file.name} line {r.line} ({r.study_id}): {r.message}",
                markup=False,
                soft_wrap=True,
            )
        if report:
            with report.open("w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=["line", "study_id", "problem"])
                w.writeheader()
                w.writerows(importer.report_rows(exc))
        raise
    console.print(
        f"Imported {result.sheets} GMFM-88 sheets ({result.gmfm66} GMFM-66) for "
        f"{result.patients} patients from {file.name}."
    )


def backup(
    out: Annotated[Path | None, typer.Option(help="Backup file (.json.gz).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Back the whole registry up to one compressed file (restores into SQLite or PostgreSQL)."""
    start(data_dir)
    from cpstem.registry import backup as bk

    path = bk.backup(out)
    console.print(f"Backup written to {path}")


def restore(
    file: Annotated[Path, typer.Argument(help="A backup file written by `cpstem backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the data of a registry that is not empty.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Restore a backup into an empty registry (or replace one with --force); all or nothing."""
    start(data_dir)
    from cpstem.registry import backup as bk

    counts = bk.restore(file, force=force)
    console.print(f"Restored {file.name}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
