"""Backup and restore: the whole registry as a compressed JSON fixture (any database).

A backup taken from SQLite restores into PostgreSQL and back. Login-throttling records,
sessions, permissions and content types are not included (they are rebuilt).
"""

from __future__ import annotations

import gzip
import io
import os
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

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
    with transaction.atomic():  # one consistent snapshot
        call_command(
            "dumpdata",
            natural_foreign=True,
            natural_primary=True,
            exclude=EXCLUDE,
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
