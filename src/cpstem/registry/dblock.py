"""A database that is busy: recognising "cannot get the lock" and not waiting where it does
not matter.

SQLite has one writer at a time; a write that cannot get the lock within the busy timeout
(``PRAGMA busy_timeout``, 30 s here) fails with ``SQLITE_BUSY``. PostgreSQL fails a statement
that waits longer than ``lock_timeout`` with SQLSTATE 55P03. Both are recognised by their codes,
never by the message text; the pages and the API answer them with 503 (see :mod:`.busy`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, OperationalError, connection, transaction

#: SQLite primary result codes of a lock that could not be had.
SQLITE_LOCK_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
#: PostgreSQL SQLSTATEs: lock_not_available (lock_timeout, NOWAIT).
POSTGRESQL_LOCK_STATES = frozenset({"55P03"})
#: How long a write that does not matter waits for the lock (milliseconds).
NO_WAIT_MS = 50


def is_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` (a Django database error or its driver's) says that a lock could not be
    had: SQLite ``SQLITE_BUSY``/``SQLITE_LOCKED`` or PostgreSQL 55P03."""
    for err in (exc, exc.__cause__):
        if err is None:
            continue
        code = getattr(err, "sqlite_errorcode", None)
        if code is not None and (code & 0xFF) in SQLITE_LOCK_CODES:
            return True
        if getattr(err, "sqlstate", None) in POSTGRESQL_LOCK_STATES:
            return True
    return False


@contextmanager
def short_lock_wait(ms: int = NO_WAIT_MS) -> Iterator[None]:
    """Within the block, a write waits at most ``ms`` milliseconds for a lock (SQLite busy
    timeout / PostgreSQL ``lock_timeout``; the connection's setting is restored after)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            previous = cur.execute("PRAGMA busy_timeout").fetchone()[0]
            cur.execute(f"PRAGMA busy_timeout={int(ms)}")
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute(f"PRAGMA busy_timeout={int(previous)}")
    elif connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SET LOCAL lock_timeout = '{int(ms)}ms'")
            yield
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        yield


def if_not_busy(write: Callable[[], object], ms: int = NO_WAIT_MS) -> bool:
    """Run a write that may be skipped (a "last used" time stamp): it waits at most ``ms`` for
    the lock and is dropped when the database is busy. Whether it was done."""
    try:
        with short_lock_wait(ms):
            write()
    except (OperationalError, DatabaseError) as exc:
        if not is_lock_error(exc):
            raise
        return False
    return True
