"""``cpstem demo load``, ``export``, ``import``, ``backup`` and ``restore``."""

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
    data_dir: DataDir = None,
) -> None:
    """Load the SYNTHETIC demo cohort (two demo sites); does nothing if it is already there."""
    start(data_dir)
    from cpstem.registry import demo

    if demo.is_loaded():
        console.print("The synthetic demo cohort is already loaded.")
        return
    with _progress() as bar:
        task = bar.add_task("Generating synthetic patients", total=per_site * len(demo.SITES))
        n = demo.load(per_site, progress=lambda k: bar.advance(task, k))
    console.print(
        f"Loaded {n} SYNTHETIC demo patients (study IDs SYN-...; sites "
        f"{', '.join(code for code, _ in demo.SITES)}): not real children."
    )


def export(
    out: Annotated[
        Path | None,
        typer.Argument(help="OUT.csv (analysis table) or OUT.xlsx (all tables)."),
    ] = None,
    pseudonymised: Annotated[
        bool,
        typer.Option(
            "--pseudonymised",
            help="Research IDs and ages only (required for the tables; optional for --fhir).",
        ),
    ] = False,
    fhir: Annotated[
        Path | None,
        typer.Option(
            "--fhir",
            help="Write FHIR R4 resources as NDJSON (bulk-data style) to this file instead.",
        ),
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site's children (with --fhir).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Export the registry for research, pseudonymised (research IDs, ages in months, no dates,
    no study IDs, no free text; text cells escaped against spreadsheet formula injection).

    With --fhir: every child as FHIR R4 resources, one per line, identified (for moving data to
    another system; import with `cpstem import --fhir`) or, with --pseudonymised, for research."""
    if fhir is not None:
        start(data_dir)
        from cpstem.cli.fhir import export_fhir

        export_fhir(fhir, site, pseudonymised)
        return
    if out is None:
        raise RegistryError("give the output file (OUT.csv or OUT.xlsx), or --fhir OUT.ndjson")
    if not pseudonymised:
        raise RegistryError("only pseudonymised exports exist: add --pseudonymised")
    start(data_dir)
    from cpstem.registry import exporter

    counts = exporter.write(out)
    console.print(f"Wrote {out}: " + ", ".join(f"{k} {v} rows" for k, v in counts.items()))


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
