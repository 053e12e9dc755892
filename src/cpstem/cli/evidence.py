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
    with_registry: Annotated[
        Path | None,
        typer.Option(
            "--with-registry",
            help="A registry's analysis table (`cpstem export --analysis`, .csv or .parquet): "
            "its treated vs concurrent-control comparison joins the bundled trials as a "
            "labelled observational study, pooled without, with, and with inflated variance.",
        ),
    ] = None,
    bias_factor: Annotated[
        float | None,
        typer.Option(
            "--bias-factor",
            help="With --with-registry: multiply the registry study's variance by this (>= 1) in "
            "the third analysis. Default 2 (reports/evidence/registry.toml: design-adjusted "
            "synthesis, Efthimiou 2017 Stat Med 36:1210; the value is a cpstem judgement).",
        ),
    ] = None,
    tsa_delta: Annotated[
        float | None,
        typer.Option(help="TSA: anticipated SMD (default: the pooled estimate)."),
    ] = None,
    mcid: Annotated[
        float | None,
        typer.Option(help="TSA: GMFM-66 MCID in points for --measure MD (none is bundled)."),
    ] = None,
) -> None:
    """Write a report folder (HTML, Markdown, JSON, figures, tables)."""
    from cpstem.evidence.errors import EvidenceError
    from cpstem.evidence.rma import check_method_test
    from cpstem.reports.evidence import Settings, run_bundled, run_user
    from cpstem.reports.evidence_input import read_study_table

    method, test = check_method_test(method, test)
    settings = Settings(
        measure=measure.upper(),
        method=method,
        test=test,
        level=level,
        tsa_delta=tsa_delta,
        mcid=mcid,
    )
    if with_registry is not None and file is not None:
        raise EvidenceError(
            "--with-registry adds the registry to the bundled trials: leave out your file",
            code="invalid_combination",
            field="with_registry",
        )
    if bias_factor is not None and with_registry is None:
        raise EvidenceError(
            "--bias-factor goes with --with-registry", code="required", field="with_registry"
        )
    if file is None:
        registry = None
        if with_registry is not None:
            from cpstem.reports.outcomes import read_analysis_table

            registry = read_analysis_table(with_registry)
        result = run_bundled(out, settings, registry=registry, bias_factor=bias_factor)
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
