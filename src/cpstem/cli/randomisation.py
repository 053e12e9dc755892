"""``cpstem randomisation define|generate|upload|verify|status``: the registry's randomisation
scheme and its concealed list, for the administrator of a registry data dir. Every step is kept
in the randomisation audit log with the ``--reason`` given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cpstem.cli.app import App
from cpstem.cli.console import console
from cpstem.cli.errors import InputFileError
from cpstem.cli.registry import DataDir, start
from cpstem.registry.errors import RegistryError

app = App(help="Randomisation in the registry: the scheme and its concealed, hashed list.")

Reason = Annotated[str, typer.Option(help="Why (kept in the audit log with who and when).")]
Name = Annotated[
    str | None, typer.Option(help="Study name: defines the scheme first if there is none.")
]
Method = Annotated[str, typer.Option(help="blocks (a concealed list) or minimisation.")]
Ratio = Annotated[str, typer.Option(help="Allocation ratio cells,control, e.g. 1,1 or 2,1.")]
BlockSizes = Annotated[str, typer.Option(help="Block sizes drawn at random, e.g. 2,4,6.")]
PerStratum = Annotated[int, typer.Option(help="Slots per stratum (whole blocks).")]
Factors = Annotated[
    str, typer.Option(help="Stratification factors, of site,gmfcs,age_band (comma-separated).")
]
GmfcsBand = Annotated[
    list[str] | None,
    typer.Option(
        help="A GMFCS band LABEL=LEVELS, e.g. 'I-II=1,2' (repeat; default: each level alone)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _ints(text: str, name: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise RegistryError(
            f"--{name.replace('_', '-')} {text!r}: whole numbers separated by commas",
            code="invalid",
            field=name,
        ) from None


def _bands(specs: list[str] | None) -> dict[str, list[int]] | None:
    if not specs:
        return None
    out: dict[str, list[int]] = {}
    for spec in specs:
        if "=" not in spec:
            raise RegistryError(
                f"--gmfcs-band {spec!r}: write LABEL=LEVELS, e.g. I-II=1,2",
                code="invalid",
                field="gmfcs_bands",
            )
        label, levels = spec.split("=", 1)
        out[label.strip()] = _ints(levels, "gmfcs_bands")
    return out


def _scheme_or_define(
    name: str | None,
    reason: str,
    method: str,
    ratio: str,
    block_sizes: str,
    per_stratum: int,
    factors: str,
    gmfcs_band: list[str] | None,
) -> Any:
    from cpstem.registry.services import randomisation as rz

    s = rz.scheme()
    if s is not None:
        if name and name != s.name:
            raise RegistryError(
                f"the registry's scheme is {s.name!r}, not {name!r}", code="exists", field="name"
            )
        return s
    if not name:
        raise RegistryError(
            "no randomisation scheme yet: give --name (and the design options) to define it",
            code="no_scheme",
            field="name",
        )
    s = rz.define_scheme(
        name,
        method=method,
        ratio=_ints(ratio, "ratio"),
        block_sizes=_ints(block_sizes, "block_sizes"),
        per_stratum=per_stratum,
        factors=[f.strip() for f in factors.split(",") if f.strip()],
        gmfcs_bands=_bands(gmfcs_band),
        reason=reason,
    )
    console.print(f"Scheme [bold]{s.name}[/bold] defined ({s.get_method_display()}).")
    return s


@app.command("define")
def define(
    name: Annotated[str, typer.Option(help="Study name.")],
    reason: Reason,
    method: Method = "blocks",
    ratio: Ratio = "1,1",
    block_sizes: BlockSizes = "2,4,6",
    per_stratum: PerStratum = 24,
    factors: Factors = "site,gmfcs,age_band",
    gmfcs_band: GmfcsBand = None,
    data_dir: DataDir = None,
) -> None:
    """Define the registry's randomisation scheme (arms cells and control)."""
    start(data_dir)
    from cpstem.registry.services import randomisation as rz

    if rz.scheme() is not None:
        raise RegistryError("the registry already has a randomisation scheme", code="exists")
    _scheme_or_define(name, reason, method, ratio, block_sizes, per_stratum, factors, gmfcs_band)


@app.command("generate")
def generate(
    reason: Reason,
    name: Name = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed (default: a fresh random one). Kept concealed, never printed."),
    ] = None,
    method: Method = "blocks",
    ratio: Ratio = "1,1",
    block_sizes: BlockSizes = "2,4,6",
    per_stratum: PerStratum = 24,
    factors: Factors = "site,gmfcs,age_band",
    gmfcs_band: GmfcsBand = None,
    data_dir: DataDir = None,
) -> None:
    """Generate the concealed list (stratified permuted blocks) and print its SHA-256."""
    start(data_dir)
    from cpstem.registry.services import randomisation as rz

    s = _scheme_or_define(
        name, reason, method, ratio, block_sizes, per_stratum, factors, gmfcs_band
    )
    made = rz.generate(s, seed=seed, reason=reason)
    console.print(
        f"Concealed list generated: {made.slots} slots in {made.strata} strata.\n"
        f"SHA-256 of the list:   {made.list_sha256}\n"
        f"SHA-256 of the design: {made.design_sha256}\n"
        "Record both in the trial master file; `cpstem randomisation verify` recomputes them.",
        soft_wrap=True,
    )


@app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="The list: CSV with stratum,sequence,arm.")],
    reason: Reason,
    name: Name = None,
    ratio: Ratio = "1,1",
    factors: Factors = "site,gmfcs,age_band",
    gmfcs_band: GmfcsBand = None,
    data_dir: DataDir = None,
) -> None:
    """Upload a list made elsewhere (e.g. `cpstem design randomise --out`); it is validated and
    its SHA-256 recorded."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{file}: {exc.strerror}", code="unreadable", field="file") from None
    start(data_dir)
    from cpstem.registry.services import randomisation as rz

    s = _scheme_or_define(name, reason, "blocks", ratio, "2,4,6", 24, factors, gmfcs_band)
    made = rz.upload(s, data, reason=reason)
    console.print(
        f"List uploaded: {made.slots} slots in {made.strata} strata.\n"
        f"SHA-256 of the file: {made.upload_sha256}\n"
        f"SHA-256 of the list: {made.list_sha256}",
        soft_wrap=True,
    )


@app.command("verify")
def verify(
    file: Annotated[
        Path | None, typer.Option(help="The uploaded file, to compare with the stored list.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "verification",
    data_dir: DataDir = None,
) -> None:
    """Prove the list was not changed since it was generated or uploaded (exit status 1 if it
    was): recompute its hash, regenerate a generated list from its concealed seed."""
    data = None
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InputFileError(f"{file}: {exc.strerror}", code="unreadable") from None
    start(data_dir)
    from cpstem.registry.services import randomisation as rz

    res = rz.verify(rz.require_scheme(), file=data, reason=reason)
    if res.ok:
        console.print(f"[green]OK[/green] {res.summary()}", soft_wrap=True)
        return
    console.print(f"[red]CHANGED[/red] {res.summary()}", soft_wrap=True)
    raise typer.Exit(1)


@app.command("status")
def status(as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """The scheme, the list's hashes and verification, children allocated per stratum and arm
    (never the arms of free slots)."""
    start(data_dir)
    from cpstem.registry.services import randomisation as rz

    st = rz.status(rz.require_scheme())
    if as_json:
        typer.echo(json.dumps(st, default=str, indent=2))
        return
    console.print(
        f"[bold]{st['name']}[/bold] · {st['method']} · ratio "
        + ":".join(str(r) for r in st["ratio"])
    )
    verified = st["verified_at"]
    console.print(
        f"list: {st['list_source'] or 'none'}  sha256 {st['list_sha256'] or '-'}\n"
        + (
            "verified: never"
            if verified is None
            else f"verified: {verified:%Y-%m-%d %H:%M} UTC "
            + ("(unchanged)" if st["verified_ok"] else "(CHANGED)")
        ),
        soft_wrap=True,
    )
    table = Table("stratum", *st["arms"], "free slots")
    for r in st["strata_counts"]:
        table.add_row(
            r["stratum"], *(str(r["allocated"][a]) for a in st["arms"]), str(r["free_slots"])
        )
    console.print(table)
    console.print(
        "allocated: "
        + ", ".join(f"{a} {n}" for a, n in st["allocated_total"].items())
        + f"; unblinded: {st['unblinded']}"
    )
