"""``cpstem serve``: migrate, then serve the registry with waitress (a production WSGI server)."""

from __future__ import annotations

from typing import Annotated

import typer

from cpstem.cli.console import console
from cpstem.cli.registry import DataDir, start


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    threads: Annotated[int, typer.Option(help="Worker threads.")] = 8,
    data_dir: DataDir = None,
) -> None:
    """Apply migrations and serve the registry (static files via whitenoise)."""
    folder = start(data_dir)
    from django.conf import settings
    from waitress import serve as waitress_serve

    from cpstem.registry.wsgi import application

    db = settings.DATABASES["default"]
    where = (
        db["NAME"]
        if db["ENGINE"].endswith("sqlite3")
        else f"PostgreSQL {db.get('HOST')}/{db['NAME']}"
    )
    console.print(f"cpstem registry: data in {folder}, database {where}")
    console.print(f"Serving on http://{host}:{port}/  (Ctrl+C stops)")
    waitress_serve(application, host=host, port=port, threads=threads, ident="cpstem", _quiet=True)
