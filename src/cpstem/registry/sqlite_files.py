"""SQLite settings and files of the registry.

Every SQLite connection gets:

* ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers
  (a backup reads while the clinic writes);
* ``busy_timeout``: a write waits up to 30 s (``CPSTEM_SQLITE_BUSY_TIMEOUT_S``) for the one
  write lock before it fails (it is then answered with 503, see
  :mod:`cpstem.registry.http_policy`);
* ``synchronous=NORMAL`` (default) or ``FULL`` (``CPSTEM_SQLITE_SYNCHRONOUS=FULL``). In WAL mode
  both survive a crash of the server process or of the operating system's programs without
  losing or corrupting anything committed. On a **power loss** (or a kernel crash) NORMAL may
  lose the transactions committed in the last moments before it (those not yet checkpointed
  or synced; the database itself stays consistent); FULL syncs the WAL at every commit, so that
  a saved record survives a power loss too, at the cost of one disk sync per write. A clinic
  without a UPS on the server, or with a disk cache that lies about syncs, should set FULL and
  take regular backups either way;
* ``foreign_keys=ON``.

The database, its ``-wal`` and ``-shm`` files, the backups and the secret key are readable by
their owner only (mode 600, folders 700), also in a data dir made by an older version.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SYNCHRONOUS_MODES = ("NORMAL", "FULL")


def synchronous_mode() -> str:
    """``CPSTEM_SQLITE_SYNCHRONOUS`` (NORMAL or FULL; default NORMAL)."""
    from cpstem.registry.errors import RegistryError

    mode = (os.environ.get("CPSTEM_SQLITE_SYNCHRONOUS") or "NORMAL").strip().upper()
    if mode not in SYNCHRONOUS_MODES:
        raise RegistryError(
            f"CPSTEM_SQLITE_SYNCHRONOUS={mode}: allowed NORMAL or FULL",
            code="invalid_choice",
            params={"value": mode, "allowed": list(SYNCHRONOUS_MODES)},
        )
    return mode


def busy_timeout_ms() -> int:
    """``CPSTEM_SQLITE_BUSY_TIMEOUT_S`` (seconds a write waits for the lock; default 30) in ms."""
    return int(float(os.environ.get("CPSTEM_SQLITE_BUSY_TIMEOUT_S") or 30) * 1000)


def pragmas() -> list[str]:
    return [
        "PRAGMA journal_mode=WAL",
        f"PRAGMA busy_timeout={busy_timeout_ms()}",
        f"PRAGMA synchronous={synchronous_mode()}",
        "PRAGMA foreign_keys=ON",
    ]


def _owner_only(path: Path, mode: int) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != mode:
        path.chmod(mode)


def owner_only(database: str | Path) -> None:
    """Make the SQLite database, its -wal/-shm files, the backups and the secret key of its
    data dir readable by the owner only (files 600, the backups folder 700)."""
    db = Path(database)
    if str(database) in ("", ":memory:") or str(database).startswith("file:"):
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        _owner_only(db.with_name(db.name + suffix), 0o600)
    folder = db.parent
    _owner_only(folder / "secret_key", 0o600)
    backups = folder / "backups"
    if backups.is_dir():
        _owner_only(backups, 0o700)
        for f in backups.iterdir():
            if f.is_file():
                _owner_only(f, 0o600)
