"""Where the registry keeps its data, and the environment variables that configure it.

``CPSTEM_DATA_DIR`` (default ``./cpstem-data``): SQLite database, secret key, backups.
``CPSTEM_DATABASE_URL``: a PostgreSQL URL (``postgres://user:pass@host:5432/db``) instead of SQLite.
``CPSTEM_SECRET_KEY``: overrides the key generated into the data dir on first use.
``CPSTEM_GMFM66_ITEM_MAP``: a GMFM-66 item-map CSV; GMFM-88 sheets then also get a GMFM-66.
``CPSTEM_SCHEDULE``: a follow-up schedule TOML (site policy) instead of the default.
``CPSTEM_CURVE_SET``: reference curve set (bundled name or file), default ``rosenbaum2002``.
``CPSTEM_HTTPS=1``: served behind TLS: secure cookies, HSTS, redirect to https.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_DATA_DIR = "cpstem-data"


def data_dir() -> Path:
    """The data directory (created if missing, readable by its owner only: it holds the
    database, its backups and the secret key)."""
    path = Path(os.environ.get("CPSTEM_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """``CPSTEM_SECRET_KEY``, else a key kept in ``<data dir>/secret_key`` (mode 600)."""
    if key := os.environ.get("CPSTEM_SECRET_KEY"):
        return key
    path = directory / "secret_key"
    if not path.exists():
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
    return path.read_text().strip()


def flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
