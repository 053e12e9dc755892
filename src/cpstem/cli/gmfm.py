"""``cpstem gmfm``: score GMFM sheets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cpstem.cli.app import App
from cpstem.cli.console import console
from cpstem.cli.files import read_gmfm_sheet
from cpstem.cli.options import AsJson
from cpstem.measures import gmfm

app = App(help="GMFM-88 / GMFM-66 scoring.")


def gmfm88_table(result: gmfm.GMFM88Result) -> Table:
    table = Table(title="GMFM-88" + (" with aids/orthoses" if result.with_aids else ""))
    table.add_column("Dimension")
    table.add_column("Raw", justify="right")
    table.add_column("%", justify="right")
    for code, dim in gmfm.DIMENSIONS.items():
        goal = " (goal)" if code in result.goal_dimensions else ""
        table.add_row(
            f"{code} {dim.name}{goal}",
            f"{result.dimension_raw[code]}/{dim.max_raw}",
            f"{result.dimension_percent[code]:.1f}",
        )
    table.add_row("[bold]Total score[/]", "", f"[bold]{result.total:.1f}[/]")
    if result.goal_total is not None:
        table.add_row(
            f"Goal total ({', '.join(result.goal_dimensions)})", "", f"{result.goal_total:.1f}"
        )
    return table


@app.command()
def score(
    sheet: Annotated[
        Path, typer.Argument(help="CSV with columns item,score (0-3; 9/NT/blank = not tested).")
    ],
    goal: Annotated[str, typer.Option(help="Goal dimensions, e.g. D,E.")] = "",
    aids: Annotated[bool, typer.Option("--aids", help="Sheet scored with aids/orthoses.")] = False,
    item_map: Annotated[
        Path | None, typer.Option(help="GMFM-66 item-map CSV (licensed parameters; see docs).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Score one GMFM-88 sheet (dimension %, total, goal total; GMFM-66 with --item-map)."""
    items = read_gmfm_sheet(sheet)
    result = gmfm.score_gmfm88(items, goal, with_aids=aids)
    gmfm66 = gmfm.score_gmfm66(items, gmfm.load_item_map(item_map)) if item_map else None
    if as_json:
        payload = result.to_dict() | {"sheet": str(sheet)}
        if gmfm66 is not None:
            payload["gmfm66"] = gmfm66.to_dict()
        typer.echo(json.dumps(payload, indent=2))
        return
    console.print(gmfm88_table(result))
    nt = result.not_tested
    if nt:
        console.print(f"Not tested ({len(nt)} items, scored 0): {', '.join(map(str, nt))}")
    if gmfm66 is not None:
        console.print(gmfm66.summary())
