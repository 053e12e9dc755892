"""``cpstem queries`` and ``cpstem sdv``: the monitor's lists from the command line (a query
report and the source-data-verification progress for a monitoring visit report), as a table,
CSV or JSON. They read the registry of the data dir as its administrator does: every site, or
the one given with ``--site``; exit code 2 for an unknown site or state."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cpstem.cli.console import console
from cpstem.cli.listing import Format, FormatOption, SiteOption, emit, require_site
from cpstem.cli.registry import DataDir, start

QUERY_COLUMNS = (
    "id",
    "site",
    "study_id",
    "record",
    "record_id",
    "field",
    "state",
    "opened_by",
    "opened",
    "updated",
    "days_open",
    "last_message",
)
#: the table (a terminal): the rest is in the CSV and JSON
QUERY_TABLE = ("id", "site", "study_id", "record", "field", "state", "days_open")
SDV_COLUMNS = ("site", "record", "verified", "total", "percent")
STATES = ("open", "answered", "closed")

State = Annotated[
    str,
    typer.Option(
        "--state",
        help="open, answered, closed or all (default: the unresolved ones, open and answered).",
    ),
]


def _query_row(q: Any, today: Any) -> dict[str, Any]:
    from cpstem.registry.models.monitoring import RecordKind

    return {
        "id": q.pk,
        "site": q.patient.site.code,
        "study_id": q.patient.study_id,
        "record": RecordKind(q.kind).label,
        "record_id": q.record_id,
        "field": q.field,
        "state": q.state,
        "opened_by": q.opened_by.get_username(),
        "opened": q.opened_at.date().isoformat(),
        "updated": q.updated_at.date().isoformat(),
        "days_open": (today - q.opened_at.date()).days if q.state != "closed" else None,
        "last_message": q.last_text,
    }


def queries(
    site: SiteOption = None,
    state: State = "",
    fmt: FormatOption = Format.table,
    data_dir: DataDir = None,
) -> None:
    """List the monitors' queries (oldest first) with their state and last message."""
    if state not in ("", "all", *STATES):
        console.print(f"[red]--state {state!r}: one of {', '.join(STATES)} or all.[/red]")
        raise typer.Exit(2)
    start(data_dir)
    from cpstem.registry.clock import today
    from cpstem.registry.models.monitoring import Query

    code = require_site(site)
    qs = Query.objects.select_related("patient", "patient__site", "opened_by")
    if code:
        qs = qs.filter(patient__site__code=code)
    if state == "":
        qs = qs.exclude(state="closed")
    elif state != "all":
        qs = qs.filter(state=state)
    day = today()
    rows = [_query_row(q, day) for q in qs.order_by("opened_at", "id")]
    what = {"": "unresolved", "all": "all"}.get(state, state)
    emit(rows, QUERY_COLUMNS, fmt, f"Queries, {what} ({len(rows)})", table_columns=QUERY_TABLE)


def sdv(
    site: SiteOption = None, fmt: FormatOption = Format.table, data_dir: DataDir = None
) -> None:
    """Source-data verification progress: records verified at their current version / records,
    per site and record kind."""
    start(data_dir)
    from cpstem.registry.models import Site
    from cpstem.registry.services import verification

    code = require_site(site)
    codes = [code] if code else list(Site.objects.order_by("code").values_list("code", flat=True))
    rows = [
        {"site": p.site, "record": p.label, "kind": p.kind} | p.to_dict()
        for p in verification.site_progress(codes)
    ]
    emit(rows, SDV_COLUMNS, fmt, "Source data verification")
