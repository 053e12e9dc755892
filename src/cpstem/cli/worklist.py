"""``cpstem remind``: e-mail each site's clinicians the follow-up visits that are overdue or due
soon (meant for cron; SMTP settings from the environment, see README "E-mail")."""

from __future__ import annotations

from typing import Annotated

import typer

from cpstem.cli.console import console
from cpstem.cli.registry import DataDir, start


def remind(
    days: Annotated[
        int, typer.Option(help="Visits due within this many days (overdue ones always).")
    ] = 14,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the messages instead of sending them.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """E-mail each site's clinicians its work-list: visits overdue or due within --days."""
    start(data_dir)
    from cpstem.registry.clock import today
    from cpstem.registry.services import worklist

    batch = worklist.reminders(today(), worklist.check_days(days))
    if not batch:
        console.print(f"No visit is overdue or due in the next {days} days: nothing to send.")
        return
    for r in batch:
        to = ", ".join(r.recipients) or "nobody (no active clinician with an e-mail address)"
        console.print(f"{r.site}: {r.n_overdue} overdue, {r.n_due} due -> {to}")
        if dry_run:
            typer.echo(f"Subject: {r.subject}\n\n{r.body}\n")
    if dry_run:
        console.print("Dry run: nothing sent.")
        return
    sent = worklist.send_reminders(batch)
    console.print(f"Sent {sent} message{'s' if sent != 1 else ''}.")
