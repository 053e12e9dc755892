"""``cpstem redcap dictionary|import|export``: cpstem's instruments as a REDCap project."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from cpstem.cli.app import App
from cpstem.cli.console import console, err_console
from cpstem.cli.registry import DataDir, start

app = App(help="REDCap: data dictionary and events of cpstem's instruments; records in and out.")


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


@app.command("dictionary")
def dictionary_cmd(
    out: Annotated[Path, typer.Argument(help="The data dictionary CSV to write.")],
    data_dir: DataDir = None,
) -> None:
    """Write the REDCap data dictionary (18 standard columns) and, beside it, the longitudinal
    events (OUT_events.csv), the instrument-event mapping (OUT_instruments.csv) and the
    repeating instruments (OUT_repeating.csv), matching cpstem's follow-up schedule."""
    start(data_dir)
    from cpstem.registry.redcap import dictionary

    rows = dictionary.dictionary_rows()
    _write(out, rows)
    stem = out.with_suffix("")
    extra = {
        Path(f"{stem}_events.csv"): dictionary.event_rows(),
        Path(f"{stem}_instruments.csv"): dictionary.mapping_rows(),
        Path(f"{stem}_repeating.csv"): dictionary.repeating_rows(),
    }
    for path, table in extra.items():
        _write(path, table)
    forms = len({r[1] for r in rows[1:]})
    console.print(
        f"Wrote {out}: {len(rows) - 1} fields in {forms} instruments; events, instrument "
        f"mapping and repeating instruments in {', '.join(p.name for p in extra)}.",
        soft_wrap=True,
    )


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Argument(help="Records file: .csv (flat) or .json.")],
    site: Annotated[str | None, typer.Option("--site", help="Only this site's children.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export the registry's records in the shape of cpstem's REDCap dictionary (identified:
    study IDs and dates, for moving a site's data; keep the file as safe as the registry)."""
    start(data_dir)
    from cpstem.registry.errors import RegistryError
    from cpstem.registry.models import Patient, Site
    from cpstem.registry.redcap.records import export_rows, write_csv, write_json

    patients = Patient.objects.select_related("site").order_by("site__code", "study_id")
    if site:
        if not Site.objects.filter(code=site).exists():
            raise RegistryError(f"no site {site!r} (see `cpstem site list`)")
        patients = patients.filter(site__code=site)
    rows = export_rows(patients)
    (write_json if out.suffix.lower() == ".json" else write_csv)(rows, out)
    console.print(f"Wrote {out}: {len(rows)} rows of {patients.count()} records.", soft_wrap=True)


@app.command("import")
def import_cmd(
    records: Annotated[Path, typer.Argument(help="A REDCap records export: flat CSV or JSON.")],
    dictionary: Annotated[
        Path,
        typer.Option("--dictionary", help="The data dictionary the project was built from."),
    ],
    site: Annotated[
        str | None,
        typer.Option("--site", help="Site of records without a site or data access group."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import a REDCap records export made with cpstem's dictionary: all or nothing; every
    refused value is listed with record ID, event, field and reason."""
    start(data_dir)
    from cpstem.registry.redcap.records import (
        RedcapImportError,
        check_dictionary,
        import_rows,
        read_rows,
    )

    check_dictionary(dictionary)
    try:
        summary = import_rows(
            read_rows(records), reason=f"imported from REDCap {records.name}", site=site
        )
    except RedcapImportError as exc:
        for record, event, field, reason in exc.problems:
            err_console.print(
                f"{records.name} record {record} event {event} field {field}: {reason}",
                markup=False,
                soft_wrap=True,
            )
        raise
    console.print(f"{summary} from {records.name}.", soft_wrap=True)
