"""``cpstem check``: run the registry's data-quality rules over every patient (or one site's)
and list the findings as a table, CSV or JSON.

Exit code: 0 when there is no finding, 1 when there are findings (so a cron job or a CI step can
alert), 2 for a usage error (e.g. an unknown site).
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from cpstem.cli.console import console
from cpstem.cli.registry import DataDir, start

COLUMNS = ("site", "study_id", "rule", "record", "record_id", "date", "message")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def check(
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site's patients (its code).")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table (default), csv or json.")
    ] = Format.table,
    data_dir: DataDir = None,
) -> None:
    """Run the data-quality rules; exit code 0 = no findings, 1 = findings."""
    start(data_dir)
    from cpstem.registry.models import Patient, Site
    from cpstem.registry.services import data_quality

    qs = Patient.objects.all()
    if site:
        if not Site.objects.filter(code=site).exists():
            console.print(f"[red]No site with code {site}.[/red]")
            raise typer.Exit(2)
        qs = qs.filter(site__code=site)
    findings = data_quality.check_patients(qs)
    rows = [f.to_dict() for f in findings]
    if fmt == Format.json:
        rules = [r.to_dict() for r in data_quality.RULES.values()]
        typer.echo(json.dumps({"rules": rules, "findings": rows}, indent=2))
    elif fmt == Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=f"Data-quality findings ({len(rows)})", title_justify="left")
        for col in COLUMNS:
            table.add_column(col.replace("_", " "), overflow="fold")
        for r in rows:
            table.add_row(*("" if r[c] is None else str(r[c]) for c in COLUMNS))
        console.print(table)
        if rows:
            console.print(
                "Rules: " + "; ".join(f"{r.id} = {r.title}" for r in data_quality.RULES.values())
            )
    if rows:
        raise typer.Exit(1)
