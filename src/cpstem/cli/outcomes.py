"""``cpstem outcomes``: cohort analyses of a registry's analysis table (``cpstem export
--analysis``) — a report folder, or one analysis printed as a table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cpstem.cli.app import App
from cpstem.cli.console import console

if TYPE_CHECKING:
    import pandas as pd

# pandas, statsmodels and the analyses are imported inside the commands: quick `cpstem --help`.

app = App(help="Cohort analyses of the registry's analysis table (observational evidence).")

FileArg = Annotated[Path, typer.Argument(help="The analysis table (.csv or .parquet).")]
MonthsOpt = Annotated[float, typer.Option(help="Target visit in months after baseline.")]
ByOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="Subgroup (repeatable): group, product, gmfcs, age_band, route, dose_group, site."
    ),
]
McidOpt = Annotated[float | None, typer.Option(help="GMFM-66 MCID in points (cite its source).")]


def _table(path: Path) -> pd.DataFrame:
    from cpstem.reports.outcomes import read_analysis_table

    return read_analysis_table(path)


def print_frame(frame: pd.DataFrame, title: str, digits: int = 3) -> None:
    """``frame`` as a rich table (numbers rounded to ``digits``; p-values by ``format_p``)."""
    import pandas as pd
    from rich.table import Table

    from cpstem.formatting import format_p

    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[name])
        # fold, never truncate: a number cut to "1.2…" would be wrong
        table.add_column(str(name), justify="right" if numeric else "left", overflow="fold")
    for _, row in frame.iterrows():
        cells = []
        for name, value in row.items():
            if isinstance(value, float):
                if value != value:  # NaN
                    cells.append("")
                elif str(name).startswith("p_value") or str(name).endswith("_p"):
                    cells.append(format_p(value))
                else:
                    cells.append(f"{value:.{digits}f}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    console.print(table)


@app.command()
def report(
    file: FileArg,
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("outcomes-report"),
    months: MonthsOpt = 12.0,
    mcid: McidOpt = None,
    spasticity: Annotated[
        Path | None, typer.Option(help="The spasticity table (CSV): adds its section.")
    ] = None,
    labs: Annotated[
        Path | None, typer.Option(help="The laboratory table (CSV): adds its section.")
    ] = None,
) -> None:
    """Write a report folder: HTML, PDF, Markdown, results.json, tables/*.csv, figures/*.png."""
    from cpstem.reports.outcomes import OutcomesSettings, write_outcomes_report

    result = write_outcomes_report(
        _table(file),
        out,
        OutcomesSettings(months=months, mcid=mcid),
        spasticity=_read_csv(spasticity) if spasticity else None,
        labs=_read_csv(labs) if labs else None,
    )
    analyses = result.results["analyses"]
    overall = analyses["excess_change"]["table"][0]
    console.print(f"Report written to {out}")
    console.print(
        f"  excess change at {months:g} months (all): {overall['mean']:.2f}"
        f" [{overall['ci_lower']:.2f}, {overall['ci_upper']:.2f}], n {overall['n']}"
    )
    for effect in analyses["treatment_effect"]:
        console.print(
            f"  cells - controls ({effect['method']}): {effect['estimate']:.2f}"
            f" [{effect['ci_lower']:.2f}, {effect['ci_upper']:.2f}]"
        )
    for note in result.notes:
        console.print(note, markup=False)
    console.print("Observational evidence: see the warning in the report.")
    console.print(f"Open {out / 'report.html'}")


@app.command()
def excess(
    file: FileArg,
    months: MonthsOpt = 12.0,
    method: Annotated[str, typer.Option(help="anchored or population.")] = "anchored",
    by: ByOpt = None,
) -> None:
    """Mean excess GMFM-66 change (observed - expected) with t and bootstrap CIs."""
    from cpstem.outcomes.ipd import excess_change

    res = excess_change(_table(file), months=months, method=method, by=by)  # type: ignore[arg-type]
    print_frame(res.table, f"Excess change ({res.method}) at {res.window}")


@app.command()
def responders(
    file: FileArg,
    months: MonthsOpt = 12.0,
    mcid: McidOpt = None,
    by: ByOpt = None,
) -> None:
    """Children beyond measurement error (and beyond the MCID if given), exact CIs."""
    from cpstem.outcomes.ipd import responders as run

    res = run(_table(file), months=months, threshold=mcid, by=by)
    print_frame(res.table, f"Responders at {res.window}")
    if res.mcid_source is None:
        console.print("No MCID given (--mcid) and none verified in the bundled data.")


@app.command()
def model(
    file: FileArg,
    fixed: Annotated[str, typer.Option(help="Fixed part (patsy formula).")] = (
        "months * group + age_baseline_years"
    ),
    random: Annotated[str, typer.Option(help="Random part per child: months or 1.")] = "months",
    method: Annotated[str, typer.Option(help="REML or ML.")] = "REML",
) -> None:
    """Linear mixed model of GMFM-66 over all visits (profiled REML/ML as lme4)."""
    from cpstem.outcomes.ipd import mixed_model

    res = mixed_model(_table(file), fixed=fixed, random=random, method=method)  # type: ignore[arg-type]
    console.print(res.summary().splitlines()[0], markup=False)
    print_frame(res.fixed_effects, "Fixed effects", digits=4)
    print_frame(res.variance_components, "Variance components", digits=4)


@app.command()
def effect(
    file: FileArg,
    months: MonthsOpt = 12.0,
    method: Annotated[str, typer.Option(help="ancova or iptw.")] = "ancova",
) -> None:
    """Treated vs concurrent controls (ANCOVA or IPTW) with the E-value."""
    from cpstem.outcomes.ipd import treatment_effect

    res = treatment_effect(_table(file), months=months, method=method)  # type: ignore[arg-type]
    console.print(res.summary(), markup=False)
    print_frame(res.balance, "Standardised differences")


@app.command()
def dose(file: FileArg, months: MonthsOpt = 12.0) -> None:
    """Excess change vs log10 dose per kg (linear and restricted cubic spline)."""
    from cpstem.outcomes.ipd import dose_response

    res = dose_response(_table(file), months=months)
    print_frame(res.slopes, f"Dose-response at {res.window}")
    print_frame(res.nonlinearity, "Nonlinearity (spline terms jointly 0)")


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    from cpstem.outcomes.errors import OutcomeError

    if not path.is_file():
        raise OutcomeError(
            f"{path}: no such file", code="not_found", field="path", params={"path": str(path)}
        )
    return pd.read_csv(path, comment="#", keep_default_na=False, na_values=[""])


@app.command()
def spasticity(
    file: Annotated[Path, typer.Argument(help="The spasticity table (CSV).")],
    months: Annotated[
        list[float] | None, typer.Option(help="Target months (repeatable; default 6 and 12).")
    ] = None,
) -> None:
    """Modified Ashworth / Tardieu change per muscle group; cells vs controls (ordinal model)."""
    from cpstem.outcomes.ipd import spasticity_change

    res = spasticity_change(_read_csv(file), months=tuple(months or (6.0, 12.0)))
    columns = [
        "months",
        "muscle",
        "n",
        "improved_proportion",
        "unchanged_proportion",
        "worse_proportion",
        "median_change",
        "wilcoxon_p",
        "tardieu_change",
    ]
    print_frame(res.table[columns], "Modified Ashworth change per muscle group")
    print_frame(
        res.comparison, "Cells vs controls: proportional-odds model, SEs clustered by child"
    )
    console.print(res.warning, markup=False)


@app.command()
def labs(
    file: Annotated[Path, typer.Argument(help="The laboratory table (CSV).")],
    months: Annotated[
        list[float] | None, typer.Option(help="Target months (repeatable; default 6 and 12).")
    ] = None,
) -> None:
    """Laboratory markers against the pre-administration value (log scale where skewed)."""
    from cpstem.outcomes.ipd import lab_change

    res = lab_change(_read_csv(file), months=tuple(months or (6.0, 12.0)))
    columns = [
        "analyte",
        "months",
        "scale",
        "n",
        "mean_change",
        "ratio",
        "ci_lower",
        "ci_upper",
        "p_value",
        "scale_reason",
    ]
    print_frame(res.table[columns], "Laboratory markers")
