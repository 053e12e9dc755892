"""``cpstem check``: run the registry's data-quality rules over every patient (or one site's)
and list the findings as a table, CSV or JSON.

Exit code: 0 when there is no finding, 1 when there are findings (so a cron job or a CI step can
alert), 2 for a usage error (e.g. an unknown site).
"""

from __future__ import annotations

import typer

from cpstem.cli.console import console
from cpstem.cli.listing import Format, FormatOption, SiteOption, emit, require_site
from cpstem.cli.registry import DataDir, start

COLUMNS = ("site", "study_id", "rule", "record", "record_id", "date", "message")


def check(
    site: SiteOption = None,
    fmt: FormatOption = Format.table,
    data_dir: DataDir = None,
) -> None:
    """Run the data-quality rules; exit code 0 = no findings, 1 = findings."""
    start(data_dir)
    from cpstem.registry.models import Patient
    from cpstem.registry.services import data_quality

    code = require_site(site)
    qs = Patient.objects.filter(site__code=code) if code else Patient.objects.all()
    rows = [f.to_dict() for f in data_quality.check_patients(qs)]
    rules = [r.to_dict() for r in data_quality.RULES.values()]
    emit(
        rows,
        COLUMNS,
        fmt,
        f"Data-quality findings ({len(rows)})",
        {"rules": rules, "findings": rows},
    )
    if fmt == Format.table and rows:
        console.print(
            "Rules: " + "; ".join(f"{r.id} = {r.title}" for r in data_quality.RULES.values())
        )
    if rows:
        raise typer.Exit(1)
