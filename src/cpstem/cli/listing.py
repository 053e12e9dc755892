"""Printing a list of rows as a rich table, CSV (formula-safe) or JSON: the registry's
monitoring commands (``cpstem check``, ``cpstem queries``, ``cpstem sdv``) share it."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from cpstem.cli.console import console, err_console


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="table (default), csv or json.")]
SiteOption = Annotated[
    str | None, typer.Option("--site", help="Only this site's patients (its code).")
]


def require_site(site: str | None) -> str:
    """The site's code (``users.get_site``: stripped, upper-cased); an unknown site prints that
    helper's message and exits with code 2 (1 means findings for ``cpstem check``)."""
    if not site:
        return ""
    from cpstem.registry import users
    from cpstem.registry.errors import RegistryError

    try:
        return users.get_site(site).code
    except RegistryError as exc:
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    title: str,
    json_body: Mapping[str, Any] | None = None,
    table_columns: Sequence[str] | None = None,
) -> None:
    """Print ``rows``: a table of ``table_columns`` (default ``columns``: a terminal is narrow),
    CSV of ``columns`` (text cells that a spreadsheet would run as a formula get a leading
    apostrophe) or JSON (``json_body``, else the rows)."""
    if fmt == Format.json:
        typer.echo(json.dumps(json_body if json_body is not None else rows, indent=2, default=str))
    elif fmt == Format.csv:
        from cpstem.spreadsheet import escape_formula  # pandas: not at the CLI's start

        writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: escape_formula(v) for k, v in r.items()} for r in rows)
    else:
        table = Table(title=title, title_justify="left")
        shown = table_columns or columns
        for col in shown:
            table.add_column(col.replace("_", " "), overflow="fold")
        for r in rows:
            table.add_row(*("" if r.get(c) is None else str(r[c]) for c in shown))
        console.print(table)
