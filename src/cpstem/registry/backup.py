"""Backup and restore: the whole registry as a compressed JSON fixture (any database).

A backup taken from SQLite restores into PostgreSQL and back. Login-throttling records,
sessions, permissions and content types are not included (they are rebuilt).

A backup never makes the clinic wait. On SQLite the database is first copied with SQLite's
online backup API (:meth:`sqlite3.Connection.backup`: a consistent copy made in steps, each a
short read; in WAL mode reads never block writes) into a private file next to the backups,
and the (slow) dump is made from that copy; the copy is deleted after. On PostgreSQL the dump
runs in one REPEATABLE READ, READ ONLY transaction: one consistent snapshot, no lock that a
write would wait for.
"""

from __future__ import annotations

import gzip
import io
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, connections, transaction

from cpstem.registry.errors import RegistryError
from cpstem.registry.models import Patient, Site

EXCLUDE = ["contenttypes", "auth.permission", "sessions", "admin.logentry", "axes"]


def backup(out: str | Path | None = None) -> Path:
    """Write a backup (default: <data dir>/backups/cpstem-YYYYmmdd-HHMMSS.json.gz)."""
    if out is None:
        folder = Path(settings.DATA_DIR) / "backups"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        out = folder / f"cpstem-{datetime.now():%Y%m%d-%H%M%S}.json.gz"
    path = Path(out)
    if not path.name.endswith(".json.gz"):
        raise RegistryError(f"backup file {path.name}: use a .json.gz name")
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    with consistent_source(path.parent) as alias:
        call_command(
            "dumpdata",
            natural_foreign=True,
            natural_primary=True,
            exclude=EXCLUDE,
            database=alias,
            stdout=buf,
            verbosity=0,
        )
    tmp = path.with_name(path.name + ".part")
    # Owner-only: a backup holds every patient, password hashes and API token hashes.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
    tmp.replace(path)
    return path


#: Online backup of SQLite: pages copied per step, and the pause between steps (seconds).
PAGES_PER_STEP = 4096
STEP_PAUSE_S = 0.001
#: After this many restarts (every write by another connection restarts a stepwise copy) the
#: copy is made in one step: one read transaction, which in WAL mode still blocks no write.
MAX_RESTARTS = 3
SNAPSHOT_ALIAS = "backup_snapshot"


class _Restarted(Exception):
    pass


def sqlite_snapshot(source: str | Path | sqlite3.Connection, target: str | Path) -> None:
    """Copy the SQLite database ``source`` (a file, or an open connection) to ``target`` with the
    online backup API, in steps of :data:`PAGES_PER_STEP` pages with a short pause between
    them; if writes keep restarting the copy, it is finished in one step (a single read
    snapshot)."""
    own = not isinstance(source, sqlite3.Connection)
    src = sqlite3.connect(str(source), timeout=30) if own else source
    dst = sqlite3.connect(str(target))
    try:
        seen = {"remaining": None, "restarts": 0}

        def progress(status: int, remaining: int, total: int) -> None:
            last = seen["remaining"]
            if last is not None and remaining > last:  # the copy started again
                seen["restarts"] += 1
                if seen["restarts"] > MAX_RESTARTS:
                    raise _Restarted
            seen["remaining"] = remaining

        try:
            src.backup(dst, pages=PAGES_PER_STEP, progress=progress, sleep=STEP_PAUSE_S)
        except _Restarted:
            src.backup(dst, pages=-1)
    finally:
        dst.close()
        if own:
            src.close()


@contextmanager
def consistent_source(folder: Path) -> Iterator[str]:
    """The database alias to dump from: a consistent copy that no write waits for (see the
    module's doc)."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():  # in-memory: the tests
        outer = connection.in_atomic_block  # already in a transaction: its snapshot is used
        with transaction.atomic():
            if connection.vendor == "postgresql" and not outer:
                with connection.cursor() as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield "default"
        return
    live = connection.settings_dict["NAME"]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=folder))  # mode 700
    copy = work / "registry.sqlite3"
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # holds every patient
    os.close(fd)
    try:
        sqlite_snapshot(live, copy)
        settings_dict = {**connection.settings_dict, "NAME": str(copy)}
        settings_dict["OPTIONS"] = {**settings_dict.get("OPTIONS", {}), "transaction_mode": None}
        connections.settings[SNAPSHOT_ALIAS] = settings_dict
        try:
            yield SNAPSHOT_ALIAS
        finally:
            connections[SNAPSHOT_ALIAS].close()
            del connections[SNAPSHOT_ALIAS]
            del connections.settings[SNAPSHOT_ALIAS]
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()


def dump_locked(out: Path) -> float:
    """The old way, for the benchmark's comparison: dump the live database inside one write
    transaction (SQLite ``BEGIN IMMEDIATE``: every write waits for the whole dump). Seconds."""
    t = time.perf_counter()
    buf = io.StringIO()
    with transaction.atomic():
        call_command(
            "dumpdata",
            natural_foreign=True,
            natural_primary=True,
            exclude=EXCLUDE,
            stdout=buf,
            verbosity=0,
        )
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
    return time.perf_counter() - t


def restore(path: str | Path, force: bool = False) -> dict[str, int]:
    """Load a backup. Refuses a registry that holds data unless ``force`` (which replaces it)."""
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"{path}: no such file")
    if not path.name.endswith(".json.gz"):
        raise RegistryError(f"{path.name}: not a cpstem backup (.json.gz)")
    holds_data = (
        Patient.objects.exists() or Site.objects.exists() or get_user_model().objects.exists()
    )
    if holds_data and not force:
        raise RegistryError(
            "this registry already holds data: restore into an empty data dir, "
            "or pass --force to replace it"
        )
    with transaction.atomic():
        if holds_data:
            call_command("flush", interactive=False, verbosity=0)
        try:
            call_command("loaddata", str(path), verbosity=0)
        except Exception as exc:  # a damaged or foreign file: nothing is kept
            raise RegistryError(f"{path.name}: cannot be restored ({exc})") from None
    return {
        "patients": Patient.objects.count(),
        "sites": Site.objects.count(),
        "users": get_user_model().objects.count(),
    }
