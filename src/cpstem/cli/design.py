"""``cpstem design``: sample size, power, group-sequential designs and trial sequential analysis."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cpstem.cli.app import App
from cpstem.cli.console import console
from cpstem.cli.errors import InputFileError
from cpstem.cli.files import read_table

if TYPE_CHECKING:
    import pandas as pd

app = App(
    help="The next trial: sample size, power, group-sequential designs, trial sequential analysis."
)

Alpha = Annotated[float, typer.Option(help="Significance level (two-sided total when --sided 2).")]
Sided = Annotated[int, typer.Option(help="1 (one-sided) or 2 (two-sided) test.")]
Analysis = Annotated[str, typer.Option(help="difference, ancova or change.")]
Correlation = Annotated[
    float | None, typer.Option(help="Correlation between baseline and follow-up (and repeats).")
]
Method = Annotated[str, typer.Option(help="t (noncentral t) or z (normal approximation).")]
Baselines = Annotated[int, typer.Option(help="Baseline measurements (Frison & Pocock).")]
Followups = Annotated[int, typer.Option(help="Follow-up measurements (Frison & Pocock).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))


def _frame_table(frame: pd.DataFrame, title: str, formats: dict[str, str] | None = None) -> Table:
    formats = formats or {}
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(str(col), justify="left" if frame[col].dtype == object else "right")
    for _, row in frame.iterrows():
        cells = []
        for col in frame.columns:
            v = row[col]
            if isinstance(v, float):
                cells.append(
                    "-" if not math.isfinite(v) else format(v, formats.get(str(col), ".4f"))
                )
            else:
                cells.append(str(v))
        table.add_row(*cells)
    return table


@app.command()
def size(
    delta: Annotated[float, typer.Option(help="Difference to detect (e.g. GMFM-66 points).")],
    sd: Annotated[float, typer.Option(help="Standard deviation of the outcome.")],
    alpha: Alpha = 0.05,
    power: Annotated[float, typer.Option(help="Target power.")] = 0.8,
    ratio: Annotated[float, typer.Option(help="Allocation ratio n2/n1.")] = 1.0,
    sided: Sided = 2,
    analysis: Analysis = "difference",
    correlation: Correlation = None,
    dropout: Annotated[float, typer.Option(help="Expected dropout fraction (0 to <1).")] = 0.0,
    method: Method = "t",
    baselines: Baselines = 1,
    followups: Followups = 1,
    justify: Annotated[
        bool, typer.Option("--justify", help="Print the sample size justification paragraph.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write the power curve (PNG, PDF or SVG).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Participants per arm to detect DELTA with the given power."""
    from cpstem.design import sample_size_means

    res = sample_size_means(
        delta, sd, alpha, power, ratio, sided, analysis, correlation, dropout, method,
        baselines=baselines, followups=followups,
    )  # fmt: skip
    from cpstem.design.justification import power_curve_plot, sample_size_justification

    if plot is not None:
        from cpstem.plotting import save_figure

        save_figure(power_curve_plot(res), plot)
    text = sample_size_justification(res)
    if as_json:
        _print_json({**res.to_dict(), "justification": text} if justify else res.to_dict())
        return
    console.print(res.summary(), markup=False, soft_wrap=True)
    console.print(_frame_table(res.to_frame(), "Participants per arm"))
    if justify:
        console.print(text, markup=False, soft_wrap=True)
    if plot is not None:
        console.print(f"Power curve written to {plot}", markup=False)


@app.command()
def power(
    n: Annotated[float, typer.Option(help="Analysed participants in arm 1.")],
    delta: Annotated[float, typer.Option(help="Difference to detect.")],
    sd: Annotated[float, typer.Option(help="Standard deviation of the outcome.")],
    n2: Annotated[
        float | None, typer.Option(help="Participants in arm 2 (default: ratio x n).")
    ] = None,
    alpha: Alpha = 0.05,
    ratio: Annotated[float, typer.Option(help="Allocation ratio n2/n1.")] = 1.0,
    sided: Sided = 2,
    analysis: Analysis = "difference",
    correlation: Correlation = None,
    method: Method = "t",
    baselines: Baselines = 1,
    followups: Followups = 1,
    as_json: AsJson = False,
) -> None:
    """Power of a two-arm comparison of means with N (and N2) participants."""
    from cpstem.design import power_means

    res = power_means(
        n, delta, sd, alpha, ratio, sided, analysis, correlation, method,
        n2=n2, baselines=baselines, followups=followups,
    )  # fmt: skip
    if as_json:
        _print_json(res.to_dict())
        return
    console.print(res.summary(), markup=False, soft_wrap=True)


def _floats(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        from cpstem.design import DesignError

        raise DesignError(
            f"{name} {text!r}: give numbers separated by commas, e.g. 0.33,0.67,1",
            code="invalid",
            field=name,
        ) from None


@app.command()
def sequential(
    k: Annotated[int | None, typer.Option(help="Number of analyses (equally spaced).")] = None,
    timing: Annotated[
        str | None, typer.Option(help="Information fractions, comma-separated, ending at 1.")
    ] = None,
    alpha: Alpha = 0.025,
    beta: Annotated[float, typer.Option(help="Type II error (1 - power).")] = 0.2,
    sided: Sided = 1,
    spending: Annotated[str, typer.Option(help="obf, pocock, hsd or kd.")] = "obf",
    gamma: Annotated[float | None, typer.Option(help="Gamma of hsd/kd spending.")] = None,
    futility: Annotated[
        str | None, typer.Option(help="Beta-spending function for futility: obf, pocock, hsd, kd.")
    ] = None,
    gamma_futility: Annotated[
        float | None, typer.Option(help="Gamma of hsd/kd beta spending.")
    ] = None,
    binding: Annotated[bool, typer.Option(help="Binding futility bounds.")] = False,
    classic: Annotated[bool, typer.Option(help="Classic Pocock / O'Brien-Fleming design.")] = False,
    n_fixed: Annotated[float | None, typer.Option(help="Fixed-design sample size.")] = None,
    as_json: AsJson = False,
) -> None:
    """A group-sequential design: boundaries, alpha spent, inflation factor, expected n."""
    from cpstem.design import group_sequential

    d = group_sequential(
        k, _floats(timing, "timing"), alpha, beta, sided, spending, gamma, futility, binding,
        gamma_futility=gamma_futility, classic=classic, n_fixed=n_fixed,
    )  # fmt: skip
    if as_json:
        _print_json(d.to_dict())
        return
    head, _, _ = d.summary().partition("\n  Stage")
    console.print(head, markup=False, soft_wrap=True)
    table = Table(title="Boundaries (z-scale), spending and power", title_justify="left")
    table.add_column("Stage")
    for i in range(1, d.k + 1):
        table.add_column(str(i), justify="right")
    for row in d.table_rows():
        table.add_row(*row)
    console.print(table)
    tail = d.summary().splitlines()[-2 if d.n_max is not None else -1 :]
    for line in tail:
        console.print(line.strip(), markup=False, soft_wrap=True)


BINARY_COLUMNS = (
    ("ai", "n1i", "ci", "n2i"),
    ("events_cells", "n_cells", "events_control", "n_control"),
    ("events_e", "n_e", "events_c", "n_c"),
)


def _read_trials(path: Path) -> dict[str, Any]:
    """Trials of FILE: continuous (yi, vi or sei, n) or binary (2x2 counts: ai, n1i, ci, n2i;
    or events_cells, n_cells, events_control, n_control as evidence/data/safety.csv)."""
    table = read_table(path)
    cols = set(table.columns)
    binary = next((c for c in BINARY_COLUMNS if set(c) <= cols), None)
    if binary is None and not ({"yi", "n"} <= cols and ({"vi"} & cols or {"sei"} & cols)):
        raise InputFileError(
            f"{path.name}: columns must include yi, vi (or sei) and n (continuous), or "
            "ai, n1i, ci, n2i (binary: events and participants, intervention then control)"
        )
    out: dict[str, list[Any]] = {"yi": [], "vi": [], "n": [], "years": [], "labels": []}
    if binary is not None:
        out.update({"ai": [], "n1i": [], "ci": [], "n2i": []})
    for lineno, row in table.rows:
        if binary is not None and not all(str(row.get(c) or "").strip() for c in binary):
            continue  # no comparator arm (single-arm rows of safety.csv)
        try:
            if binary is not None:
                for key, col in zip(("ai", "n1i", "ci", "n2i"), binary, strict=True):
                    out[key].append(float(row[col]))
            else:
                out["yi"].append(float(row["yi"]))
                out["vi"].append(float(row["vi"]) if "vi" in cols else float(row["sei"]) ** 2)
                out["n"].append(float(row["n"]))
            out["years"].append(float(row["year"]) if "year" in cols else float(lineno))
        except ValueError:
            what = ", ".join(binary) if binary is not None else "yi, vi/sei, n"
            raise InputFileError(
                f"{path.name} line {lineno}: {what} and year must be numbers"
            ) from None
        out["labels"].append(
            row.get("label") or row.get("study") or row.get("trial") or f"line {lineno}"
        )
    if not out["years"]:
        raise InputFileError(f"{path.name}: no trials")
    return {**out, "binary": binary is not None}


def _bundled_trials(what: str, months: int) -> dict[str, Any]:
    """The bundled evidence (cpstem/evidence/data): ``sae`` (serious adverse events of the
    randomised controlled trials), ``md`` (GMFM-66 change, the primary analysis rows) or
    ``smd`` (GMFM change, any version) at ``months``."""
    from cpstem.evidence.bundled import load_bundle

    bundle = load_bundle()
    year = bundle.trials.set_index("trial")["year"]
    if what == "sae":
        ev = bundle.safety
        rows = ev[(ev["event"] == "serious adverse event") & ev["n_control"].notna()]
        rows = rows[bundle.randomised(rows["trial"])].reset_index(drop=True)
        return {
            "binary": True,
            "ai": rows["events_cells"].tolist(),
            "n1i": rows["n_cells"].tolist(),
            "ci": rows["events_control"].tolist(),
            "n2i": rows["n_control"].tolist(),
            "years": [float(year[t]) for t in rows["trial"]],
            "labels": list(rows["trial"]),
        }
    from cpstem.reports.evidence.bundled import MotorData, primary_rows, secondary_rows
    from cpstem.reports.evidence.choices import load_choices
    from cpstem.reports.evidence.settings import Settings

    choices = load_choices()
    data = MotorData.build(bundle, choices, Settings())
    if months not in data.tables:
        raise InputFileError(
            f"--months {months}: the bundled GMFM time points are "
            f"{', '.join(str(m) for m in sorted(data.tables))}"
        )
    table = data.tables[months]
    rows = primary_rows(table, choices) if what == "md" else secondary_rows(table)
    col, vcol = ("md", "vi_md") if what == "md" else ("smd", "vi_smd")
    if len(rows) < 1:
        raise InputFileError(f"no bundled {what.upper()} rows at {months} months")
    return {
        "binary": False,
        "yi": rows[col].astype(float).tolist(),
        "vi": rows[vcol].astype(float).tolist(),
        "n": (rows["n1i"] + rows["n2i"]).astype(float).tolist(),
        "years": [float(year[t]) for t in rows["trial"]],
        "labels": list(rows["trial"]),
        "n1i": rows["n1i"].astype(float).tolist(),
        "n2i": rows["n2i"].astype(float).tolist(),
    }


@app.command("tsa")
def tsa_command(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="CSV: yi, vi (or sei), n [, year, label] for a continuous outcome, or "
            "ai, n1i, ci, n2i [, year, label] (events/participants, intervention then control) "
            "for a binary one."
        ),
    ] = None,
    bundled: Annotated[
        str | None,
        typer.Option(
            help="Use the bundled evidence instead of FILE: sae (serious adverse events, "
            "risk ratio), md (GMFM-66 points) or smd (any GMFM version)."
        ),
    ] = None,
    months: Annotated[int, typer.Option(help="Time point of --bundled md/smd.")] = 12,
    delta: Annotated[
        float | None,
        typer.Option(help="Effect to detect on the yi scale (the MCID for GMFM-66 points)."),
    ] = None,
    sd: Annotated[
        float | None, typer.Option(help="Standard deviation (continuous outcome).")
    ] = None,
    control_risk: Annotated[
        float | None,
        typer.Option(help="Control-group risk (binary; default: pooled control arms)."),
    ] = None,
    rrr: Annotated[
        float | None, typer.Option(help="Relative risk reduction (binary; default 0.25).")
    ] = None,
    measure: Annotated[str, typer.Option(help="Binary: RR (risk ratio) or RD.")] = "RR",
    zero: Annotated[
        float, typer.Option(help="Binary: continuity correction for a zero cell.")
    ] = 0.5,
    double_zero: Annotated[
        str, typer.Option(help="Binary: trials without events: exclude or include.")
    ] = "exclude",
    alpha: Alpha = 0.05,
    beta: Annotated[float, typer.Option(help="Type II error (1 - power).")] = 0.2,
    model: Annotated[str, typer.Option(help="random or fixed.")] = "random",
    adjustment: Annotated[str, typer.Option(help="diversity, i2 or none.")] = "diversity",
    alpha_spending: Annotated[
        str,
        typer.Option(help="total (TSA literature) or per_side (alpha/2 each side, R RTSA)."),
    ] = "total",
    futility: Annotated[bool, typer.Option(help="Add beta-spending futility boundaries.")] = False,
    benefit: Annotated[
        str | None,
        typer.Option(
            help="Sign of yi favouring the intervention (default positive; negative for "
            "binary harms)."
        ),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the TSA plot (PNG, PDF or SVG).")] = None,
    as_json: AsJson = False,
) -> None:
    """Trial sequential analysis of the trials in FILE or the bundled evidence (by year).

    Prints the cumulative Z-curve against the monitoring boundaries, the required information
    size, the TSA-adjusted CI and the verdict in words (benefit / harm / futility /
    inconclusive with the participants still needed).
    """
    from cpstem.design import DesignError, tsa, tsa_binary

    if (file is None) == (bundled is None):
        raise InputFileError("give a FILE or --bundled sae|md|smd (one of the two)")
    if bundled is not None and bundled not in ("sae", "md", "smd"):
        raise DesignError(
            f"--bundled {bundled!r}: allowed sae, md, smd", code="not_allowed", field="bundled"
        )
    trials = _bundled_trials(bundled, months) if bundled is not None else _read_trials(file)  # type: ignore[arg-type]
    if trials["binary"]:
        if delta is not None or sd is not None:
            raise DesignError(
                "a binary outcome takes --control-risk and --rrr, not --delta/--sd",
                code="invalid",
                field="delta",
            )
        res = tsa_binary(
            trials["ai"], trials["n1i"], trials["ci"], trials["n2i"], trials["years"],
            rrr=0.25 if rrr is None else rrr, control_risk=control_risk, measure=measure,
            zero=zero, double_zero=double_zero, alpha=alpha, beta=beta, model=model,
            adjustment=adjustment, futility=futility, benefit=benefit or "negative",
            labels=trials["labels"], alpha_spending=alpha_spending,
        )  # fmt: skip
    else:
        if bundled == "smd":
            sd = 1.0 if sd is None else sd
            if delta is None:
                from cpstem.design import diversity

                het = diversity(trials["yi"], trials["vi"])
                w = [1.0 / (v + het.tau2) for v in trials["vi"]]
                delta = abs(sum(wi * y for wi, y in zip(w, trials["yi"], strict=True)) / sum(w))
                if not as_json:
                    console.print(
                        f"Anticipated SMD: the pooled random-effects estimate {delta:.3f} "
                        "(DerSimonian-Laird; give --delta for another)",
                        markup=False,
                    )
        if bundled == "md" and delta is None:
            raise DesignError(
                "--bundled md needs --delta (the GMFM-66 MCID in points: no verified value is "
                "bundled, see cpstem/outcomes/data/mcid.toml)",
                code="missing",
                field="delta",
            )
        if bundled == "md" and sd is None:
            from cpstem.design import implied_sd

            sd = implied_sd(trials["vi"], trials["n1i"], trials["n2i"])
            if not as_json:
                console.print(
                    f"SD {sd:.2f} GMFM-66 points: implied by the trials' variances "
                    "(give --sd for another)",
                    markup=False,
                )
        res = tsa(
            trials["yi"], trials["vi"], trials["n"], trials["years"], labels=trials["labels"],
            delta=delta, sd=sd, control_risk=control_risk, rrr=rrr, alpha=alpha, beta=beta,
            model=model, adjustment=adjustment, futility=futility,
            benefit=benefit or "positive", alpha_spending=alpha_spending,
        )  # fmt: skip
    if plot is not None:
        from cpstem.plotting import save_figure

        save_figure(res.plot(), plot)
    if as_json:
        _print_json(res.to_dict())
        return
    frame = res.to_frame()[["label", "year", "accrued", "fraction", "z", "upper", "futility"]]
    console.print(
        _frame_table(
            frame, "Cumulative Z-curve", {"year": ".0f", "accrued": ".0f", "fraction": ".3f"}
        )
    )
    console.print(res.summary(), markup=False, soft_wrap=True)
    if plot is not None:
        console.print(f"Plot written to {plot}", markup=False)


@app.command()
def simulate(
    n: Annotated[int, typer.Option(help="Analysed participants in arm 1.")],
    delta: Annotated[float, typer.Option(help="Difference (ancova) or slope difference (slope).")],
    sd: Annotated[float, typer.Option(help="Standard deviation of the outcome.")] = 1.0,
    analysis: Annotated[str, typer.Option(help="ancova (12 months) or slope (visits).")] = "ancova",
    ratio: Annotated[float, typer.Option(help="Allocation ratio n2/n1.")] = 1.0,
    correlation: Annotated[float, typer.Option(help="Baseline-follow-up correlation.")] = 0.0,
    times: Annotated[
        str, typer.Option(help="Visit times (slope), e.g. 0,3,6,9,12.")
    ] = "0,3,6,9,12",
    sd_residual: Annotated[float | None, typer.Option(help="Residual SD (slope).")] = None,
    sd_slope: Annotated[float, typer.Option(help="SD of the child slopes (slope).")] = 0.0,
    table: Annotated[
        Path | None,
        typer.Option(help="Analysis table (CSV/XLSX): sd and correlation estimated from it."),
    ] = None,
    alpha: Alpha = 0.05,
    sims: Annotated[int, typer.Option(help="Number of simulated trials.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    chunk: Annotated[int, typer.Option(help="Blocks of 1000 trials per task.")] = 10,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler ADDRESS (e.g. tcp://host:8786).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Power of the planned analysis by simulating trials (vectorised; optional Dask)."""
    from rich.progress import Progress

    from cpstem.design import power_means
    from cpstem.design.assurance import slope_sd, variance_from_table
    from cpstem.design.simulation import simulate_power

    if table is not None:
        vc = variance_from_table(read_table(table))
        sd, correlation = vc.sd, vc.correlation
        if not as_json:
            console.print(vc.summary(), markup=False, soft_wrap=True)
    visit_times = _floats(times, "times") or [0.0, 12.0]
    with Progress(console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task("simulating", total=sims)
        res = simulate_power(
            n, delta, sd, analysis=analysis, ratio=ratio, correlation=correlation,
            times=visit_times, sd_residual=sd_residual, sd_slope=sd_slope, alpha=alpha,
            n_sims=sims, seed=seed, chunk=chunk, scheduler=scheduler,
            progress=lambda done: bar.update(task, completed=done),
        )  # fmt: skip
    if analysis == "ancova":
        closed = power_means(n, delta, sd, alpha, ratio, analysis="ancova", correlation=correlation)
    else:
        s = slope_sd(visit_times, sd if sd_residual is None else sd_residual, sd_slope)
        closed = power_means(n, delta, s, alpha, ratio)
    if as_json:
        _print_json({**res.to_dict(), "closed_form_power": closed.power})
        return
    console.print(res.summary(), markup=False, soft_wrap=True)
    console.print(f"Closed form: {closed.summary()}", markup=False, soft_wrap=True)


@app.command()
def randomise(
    per_stratum: Annotated[int, typer.Option(help="Slots per stratum (whole blocks).")] = 24,
    arms: Annotated[str, typer.Option(help="Arm names, comma-separated.")] = "control,treatment",
    ratio: Annotated[str | None, typer.Option(help="Allocation ratio, e.g. 1,2.")] = None,
    block_sizes: Annotated[str, typer.Option(help="Block sizes to draw from.")] = "2,4,6",
    stratum: Annotated[
        list[str] | None,
        typer.Option(help="Stratification factor FACTOR=LEVEL1,LEVEL2 (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (record it).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the list as CSV.")] = None,
    as_json: AsJson = False,
) -> None:
    """A stratified permuted-block randomisation list with its SHA-256."""
    from cpstem.design import DesignError
    from cpstem.design.randomisation import randomisation_list

    strata: dict[str, list[str]] = {}
    for spec in stratum or []:
        if "=" not in spec:
            raise DesignError(
                f"stratum {spec!r}: write FACTOR=LEVEL1,LEVEL2", code="invalid", field="stratum"
            )
        name, levels = spec.split("=", 1)
        strata[name.strip()] = [x.strip() for x in levels.split(",") if x.strip()]
    ratios = _floats(ratio, "ratio")
    res = randomisation_list(
        [a.strip() for a in arms.split(",") if a.strip()], per_stratum,
        block_sizes=[int(b) for b in _floats(block_sizes, "block_sizes") or []],
        ratio=None if ratios is None else [int(r) for r in ratios], strata=strata, seed=seed,
    )  # fmt: skip
    if out is not None:
        res.to_frame().to_csv(out, index=False)
        out.with_name(out.name + ".sha256").write_text(f"{res.sha256}  {out.name}\n")
    if as_json:
        _print_json({"sha256": res.sha256, "seed": res.seed, "rows": res.rows()})
        return
    console.print(res.summary(), markup=False, soft_wrap=True)
    if out is not None:
        console.print(
            f"List written to {out} (SHA-256 of the canonical list recorded)", markup=False
        )


@app.command()
def report(
    out: Annotated[Path, typer.Argument(help="Folder for report.html, report.pdf, figures.")],
    delta: Annotated[float, typer.Option(help="Difference to detect.")],
    sd: Annotated[float, typer.Option(help="Standard deviation of the outcome.")],
    alpha: Alpha = 0.05,
    power: Annotated[float, typer.Option(help="Target power.")] = 0.8,
    ratio: Annotated[float, typer.Option(help="Allocation ratio n2/n1.")] = 1.0,
    analysis: Analysis = "difference",
    correlation: Correlation = None,
    dropout: Annotated[float, typer.Option(help="Expected dropout fraction.")] = 0.0,
    k: Annotated[int, typer.Option(help="Looks of the group-sequential design (1 = none).")] = 3,
    spending: Annotated[str, typer.Option(help="obf, pocock or hsd.")] = "obf",
    prior_sd: Annotated[
        float | None, typer.Option(help="SD of a normal prior on delta (assurance).")
    ] = None,
) -> None:
    """Design report: summary, power curve, justification paragraph, boundaries (HTML/PDF)."""
    from cpstem.design import group_sequential, sample_size_means
    from cpstem.design.assurance import assurance
    from cpstem.reports.design_report import write_design_report

    size_res = sample_size_means(delta, sd, alpha, power, ratio, 2, analysis, correlation, dropout)
    design = (
        group_sequential(k, alpha=alpha / 2, beta=1 - power, spending=spending) if k > 1 else None
    )
    assur = (
        None
        if prior_sd is None
        else assurance(size_res.n1, delta, prior_sd, sd, alpha, ratio, analysis=analysis,
                       correlation=correlation, method="t")
    )  # fmt: skip
    res = write_design_report(out, size_res, design, assurance=assur)
    for f in res.files:
        console.print(f"wrote {f}", markup=False)
    for note in res.notes:
        console.print(note, markup=False)
