"""Options shared by several commands (the registry's ``--data-dir`` is in :mod:`.registry`)."""

from __future__ import annotations

from typing import Annotated

import typer

#: ``--json``: print the result as JSON instead of a table.
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
