"""``cpstem curves``: expected GMFM-66 by age and GMFCS level, and curve plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cpstem import reference
from cpstem.cli.app import App
from cpstem.cli.console import console
from cpstem.cli.errors import InputFileError
from cpstem.cli.files import read_child_points
from cpstem.cli.options import AsJson
from cpstem.reference import CurveSet

app = App(help="Motor-development reference curves (GMFM-66 by GMFCS level).")

SetOption = Annotated[
    str, typer.Option("--set", help="Bundled set name (see `curves list`) or a .toml/.csv file.")
]


def resolve_set(name_or_path: str) -> CurveSet:
    """A bundled set by name, or a user's file when the value names a .toml/.csv file."""
    if name_or_path.lower().endswith((".toml", ".csv")) or Path(name_or_path).is_file():
        return reference.load_file(name_or_path)
    return reference.load(name_or_path)


@app.command("list")
def list_sets() -> None:
    """List the bundled curve sets and how well each is verified."""
    table = Table(title="Bundled curve sets")
    for col in ("name", "title", "scale", "verified"):
        table.add_column(col)
    for name in reference.available():
        s = reference.load(name)
        table.add_row(s.name, s.title, s.scale, s.verified)
    console.print(table)


@app.command()
def show(name: Annotated[str, typer.Argument(help="Set name or file.")] = "rosenbaum2002") -> None:
    """Parameters, citation and verification notes of one curve set."""
    s = resolve_set(name)
    console.print(s.summary())
    console.print(f"Citation: {s.citation}")
    if s.verification:
        console.print(f"Verification: {s.verification}")


@app.command()
def expected(
    gmfcs: Annotated[str, typer.Option(help="GMFCS level (I-V).")],
    age: Annotated[float, typer.Option(help="Age in years.")],
    set_name: SetOption = "rosenbaum2002",
    to: Annotated[
        float | None, typer.Option(help="Second age (years) for the expected change.")
    ] = None,
    baseline: Annotated[
        float | None, typer.Option(help="Child's GMFM-66 at --age (child-anchored change).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Expected GMFM-66 at an age, and the expected change to --to (population / child-anchored)."""
    curves = resolve_set(set_name)
    if baseline is not None and to is None:
        raise InputFileError("--baseline needs --to (the age to project to)")
    level = reference.curves.parse_level(gmfcs)
    out: dict[str, object] = {
        "set": curves.name,
        "gmfcs": str(level),
        "age_years": age,
        "expected": curves.expected(level, age),
    }
    if to is not None:
        out |= {
            "to_years": to,
            "expected_at_to": curves.expected(level, to),
            "population_change": curves.expected_change(level, age, to),
        }
    if baseline is not None and to is not None:
        change = curves.expected_change(level, age, to, baseline=baseline)
        out |= {
            "baseline": baseline,
            "child_limit": curves.child_limit(level, age, baseline),
            "child_anchored_change": change,
            "child_expected_at_to": baseline + change,
        }
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(f"[bold]{curves.name}[/], GMFCS {level}")
    console.print(f"  Expected GMFM-66 at {age:g} y: {out['expected']:.1f}")
    if to is not None:
        console.print(f"  Expected GMFM-66 at {to:g} y: {out['expected_at_to']:.1f}")
        console.print(f"  Population change {age:g} -> {to:g} y: {out['population_change']:+.2f}")
    if baseline is not None:
        console.print(
            f"  Child-anchored: baseline {baseline:g} at {age:g} y -> own limit "
            f"{out['child_limit']:.1f}; expected change {out['child_anchored_change']:+.2f} "
            f"(to {out['child_expected_at_to']:.1f})"
        )


@app.command()
def plot(
    out: Annotated[Path, typer.Option(help="Output file (.png, .svg or .pdf).")],
    child: Annotated[
        Path | None, typer.Option(help="CSV of the child's observations: age_years,gmfm66.")
    ] = None,
    gmfcs: Annotated[str | None, typer.Option(help="Child's GMFCS level (emphasised).")] = None,
    set_name: SetOption = "rosenbaum2002",
) -> None:
    """Draw the five curves, with a child's observed points on top."""
    curves = resolve_set(set_name)
    points = read_child_points(child) if child else None
    reference.plot(curves, child=points, level=gmfcs, out=out)
    console.print(f"Wrote {out}")
