"""``cpstem tour``: a short walk through the foundation on bundled synthetic examples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cpstem import reference
from cpstem.cli.console import console
from cpstem.cli.files import read_child_points, read_gmfm_sheet
from cpstem.cli.gmfm import gmfm88_table
from cpstem.examples import path as example
from cpstem.measures import gmfm


def tour(
    out: Annotated[Path, typer.Option(help="Folder for the tour's plot.")] = Path("cpstem-tour"),
) -> None:
    """Score an example GMFM-88 sheet, compute expected GMFM-66, draw the curves."""
    sheet_path = example("gmfm88_example.csv")
    console.rule("[bold]1. Score a GMFM-88 sheet")
    console.print(f"cpstem gmfm score {sheet_path} --goal D,E   [dim](synthetic example)[/]")
    result = gmfm.score_gmfm88(read_gmfm_sheet(sheet_path), "D,E")
    console.print(gmfm88_table(result))
    console.print(
        f"Not tested (scored 0 for GMFM-88): items {', '.join(map(str, result.not_tested))}"
    )

    console.rule("[bold]2. Expected GMFM-66 for a child")
    curves = reference.load("rosenbaum2002")
    points = read_child_points(example("child_gmfm66.csv"))
    (age0, score0), (age1, score1) = points[2], points[-1]
    console.print(
        f"cpstem curves expected --set rosenbaum2002 --gmfcs III --age {age0:g} "
        f"--baseline {score0:g} --to {age1:g}"
    )
    population = curves.expected_change("III", age0, age1)
    anchored = curves.expected_change("III", age0, age1, baseline=score0)
    console.print(
        f"  Expected GMFM-66 at {age0:g} y, GMFCS III: {curves.expected('III', age0):.1f}"
    )
    console.print(
        f"  Expected change {age0:g} -> {age1:g} y: population {population:+.2f}, "
        f"child-anchored (baseline {score0:g}) {anchored:+.2f}"
    )
    console.print(
        f"  Observed change: {score1 - score0:+.2f} "
        f"({score1 - score0 - anchored:+.2f} beyond the child-anchored expectation)"
    )

    console.rule("[bold]3. Plot the curves with the child's points")
    png = out / "curves.png"
    reference.plot(curves, child=points, level="III", out=png)
    console.print(f"Wrote {png.resolve()}")
    console.print("\nNext: `cpstem --help`; the README has the full tour.")
