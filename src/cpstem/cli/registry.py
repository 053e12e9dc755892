"""Shared pieces of the registry commands: the --data-dir option and starting Django."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="CPSTEM_DATA_DIR",
        help="Registry data folder (SQLite database, secret key, backups); default ./cpstem-data. "
        "CPSTEM_DATABASE_URL selects PostgreSQL instead of SQLite.",
        show_default=False,
    ),
]


def start(data_dir: Path | None, migrate: bool = True) -> Path:
    """Set the registry up on ``data_dir`` (applying migrations) and return the folder."""
    from cpstem.registry import setup

    return setup.start(data_dir, migrate=migrate)
