"""``cpstem evidence``: pool the bundled stem-cell trials, or a user's own file."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from cpstem.cli.app import App
from cpstem.cli.console import console

# The engine (SciPy, matplotlib, pandas) is imported inside the commands: quick `cpstem --help`.
MEASURES = (
    "MD",
    "SMD",
    "ROM",
    "SMCR",
    "OR",
    "RR",
    "RD",
    "PETO",
    "PR",
    "PLO",
    "PAS",
    "PFT",
    "ZCOR",
    "GEN",
)

app = App(help="Meta-analysis: the bundled stem-cell CP trials or your own data.")


@app.command()
def run(
    file: Annotated[
        Path | None,
        typer.Argument(help="Your CSV (format: `cpstem evidence format`); default: bundled data."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("evidence-report"),
    measure: Annotated[str, typer.Option(help=f"Effect measure: {', '.join(MEASURES)}.")] = "SMD",
    method: Annotated[
        str, typer.Option(help="tau^2 estimator: FE, DL, REML, ML, PM, HE, SJ, HS, EB.")
    ] = "REML",
    test: Annotated[str, typer.Option(help="z, or knha (Hartung-Knapp-Sidik-Jonkman).")] = "knha",
    level: Annotated[
        float, typer.Option(help="Confidence level in % (e.g. 90): every interval and label.")
    ] = 95.0,
    subgroup: Annotated[
        str | None, typer.Option(help="Column of your file to split subgroups by.")
    ] = None,
) -> None:
    """Write a report folder (HTML, Markdown, JSON, figures, tables)."""
    from cpstem.evidence.rma import check_method_test
    from cpstem.reports.evidence import Settings, run_bundled, run_user
    from cpstem.reports.evidence_input import read_study_table

    method, test = check_method_test(method, test)
    settings = Settings(measure=measure.upper(), method=method, test=test, level=level)
    if file is None:
        result = run_bundled(out, settings)
    else:
        table = read_study_table(file, measure, subgroup=subgroup)
        result = run_user(table, out, settings)
    console.print(result.summary(), markup=False)  # labels and warnings are literal text
    console.print(f"Open {out / 'report.html'}")


@app.command("format")
def show_format() -> None:
    """Describe the CSV columns a user's file needs for each measure."""
    from cpstem.reports import evidence_input

    console.print(evidence_input.__doc__ or "", markup=False)


@app.command()
def data(
    out: Annotated[Path, typer.Option(help="Folder to copy the bundled CSV files to.")] = Path(
        "evidence-data"
    ),
) -> None:
    """Export the bundled, cited dataset (trials, per-arm outcomes, safety) as CSV files."""
    out.mkdir(parents=True, exist_ok=True)
    folder = resources.files("cpstem.evidence").joinpath("data")
    for item in folder.iterdir():
        if item.name.endswith(".csv"):
            with item.open("rb") as src, (out / item.name).open("wb") as dst:
                shutil.copyfileobj(src, dst)
            console.print(f"  {out / item.name}")
