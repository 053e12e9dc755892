"""``cpstem serve``: migrate, then serve the registry with waitress (one process, threads) or,
with ``--workers N`` (N > 1), gunicorn (N processes; Linux/macOS): production WSGI servers."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from cpstem.cli.console import console, err_console
from cpstem.cli.registry import DataDir, start


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    threads: Annotated[int, typer.Option(help="Worker threads (per worker process).")] = 8,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes. 1: waitress (one process, any OS). N > 1: gunicorn with N "
            "processes (Linux/macOS), so that the server uses several cores; "
            "about the number of cores is a good start.",
        ),
    ] = 1,
    trusted_proxy: Annotated[
        str | None,
        typer.Option(
            "--trusted-proxy",
            metavar="ADDR",
            help="Address of the TLS proxy in front (e.g. 127.0.0.1): its X-Forwarded-Proto "
            "and X-Forwarded-For are believed (https is known, the log-in lock-out is per "
            "client address); from any other peer they are ignored.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Apply migrations and serve the registry (static files via whitenoise)."""
    folder = start(data_dir)
    from django.conf import settings
    from django.db import connections

    from cpstem.registry.demo_banner import demo_loaded
    from cpstem.registry.wsgi import application

    db = settings.DATABASES["default"]
    where = (
        db["NAME"]
        if db["ENGINE"].endswith("sqlite3")
        else f"PostgreSQL {db.get('HOST')}/{db['NAME']}"
    )
    console.print(f"cpstem registry: data in {folder}, database {where}")
    if demo_loaded():
        console.print(
            "This is a DEMO registry: it holds the SYNTHETIC demo cohort (`cpstem demo remove` "
            "removes it before real use)."
        )
    for line in exposure_warnings(host, trusted_proxy):
        err_console.print(f"[bold yellow]WARNING[/]: {line}", soft_wrap=True)
    connections.close_all()  # no connection is shared with the worker processes
    servers = f"{workers} gunicorn workers x {threads} threads" if workers > 1 else "waitress"
    console.print(f"Serving on http://{host}:{port}/ ({servers}; Ctrl+C stops)")
    if workers > 1:
        run_gunicorn(application, host, port, workers, threads, trusted_proxy)
    else:
        from waitress import serve as waitress_serve

        from cpstem.registry.services.analysis import warm_in_background

        warm_in_background()

        from cpstem.registry.proxy import WAITRESS_HEADERS

        proxy: dict[str, Any] = (
            {"trusted_proxy": trusted_proxy, "trusted_proxy_headers": WAITRESS_HEADERS}
            if trusted_proxy
            else {}
        )
        waitress_serve(
            application, host=host, port=port, threads=threads, ident="cpstem", _quiet=True, **proxy
        )


def exposure_warnings(host: str, trusted_proxy: str | None) -> list[str]:
    """What is wrong with serving on ``host`` as configured."""
    from django.conf import settings

    from cpstem.registry.proxy import is_loopback

    out = []
    if settings.HTTPS and not trusted_proxy:
        out.append(
            "CPSTEM_HTTPS=1 without --trusted-proxy: the server cannot see that the proxy "
            "received https, so every request is redirected to https again (a loop)."
        )
    if is_loopback(host):
        return out
    if not settings.HTTPS:
        out.append(
            f"listening on {host} (reachable from the network) without CPSTEM_HTTPS=1: "
            "passwords and patient data would travel unencrypted. Serve behind a TLS proxy "
            "(README: 'Deploy for a clinic'), set CPSTEM_HTTPS=1 and --trusted-proxy."
        )
    if not os.environ.get("CPSTEM_ALLOWED_HOSTS"):
        out.append(
            "CPSTEM_ALLOWED_HOSTS is not set: only requests for 127.0.0.1 / localhost are "
            "answered (any other host name gets 400). Set it to the registry's host name, "
            "e.g. CPSTEM_ALLOWED_HOSTS=registry.example.org."
        )
    return out


def _warm_worker(worker: Any) -> None:
    """gunicorn hook: each worker process builds its dashboard tables once it starts."""
    from cpstem.registry.services.analysis import warm_in_background

    warm_in_background()


def run_gunicorn(
    application: Any, host: str, port: int, workers: int, threads: int, trusted_proxy: str | None
) -> None:
    """Serve with gunicorn: ``workers`` processes with ``threads`` threads each."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # Windows: gunicorn needs fork()
        from cpstem.registry.errors import RegistryError

        raise RegistryError(
            "--workers > 1 needs gunicorn (Linux or macOS); on this system serve with one "
            "process (--workers 1)"
        ) from None
    from cpstem.registry.proxy import TrustedProxy

    app = TrustedProxy(application, trusted_proxy)
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "forwarded_allow_ips": "",  # TrustedProxy decides what is believed
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "cpstem",
        "timeout": 120,
        "graceful_timeout": 10,
        "post_worker_init": _warm_worker,
    }

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Server().run()
