"""Behind a TLS proxy: which client a request comes from and whether it came over https.

waitress (``cpstem serve``, one process) does this itself (``trusted_proxy``). For the
multi-process server (gunicorn, ``cpstem serve --workers N``) :class:`TrustedProxy` does the
same in front of the Django application: only when the peer is the trusted proxy are its
``X-Forwarded-For`` (the client address the proxy appended: the log-in lock-out is per user
*and* client address) and ``X-Forwarded-Proto`` (https: no redirect loop with
``CPSTEM_HTTPS=1``) believed; from any other peer these headers are removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")
#: The forwarded headers waitress is told to believe from the trusted proxy.
WAITRESS_HEADERS = "x-forwarded-for x-forwarded-host x-forwarded-proto x-forwarded-port"

Environ = dict[str, Any]
WSGIApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]


def is_loopback(host: str) -> bool:
    return host in {"127.0.0.1", "localhost", "::1"} or host.startswith("127.")


class TrustedProxy:
    """WSGI middleware: believe the forwarded headers from ``proxy`` only ("*": any peer)."""

    def __init__(self, app: WSGIApp, proxy: str | None):
        self.app = app
        self.proxy = proxy

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        if self.proxy and (self.proxy == "*" or peer == self.proxy):
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            hops = [h.strip() for h in forwarded.split(",") if h.strip()]
            if hops:
                environ["REMOTE_ADDR"] = hops[-1]  # the address the trusted proxy saw
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        else:
            for key in FORWARDED:
                environ.pop(key, None)
        return self.app(environ, start_response)
