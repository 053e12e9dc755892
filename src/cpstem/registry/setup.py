"""Start Django for the command line: data dir, settings, migrations."""

from __future__ import annotations

import io
import os
from pathlib import Path

_ready = False


def start(data_dir: Path | None = None, migrate: bool = True) -> Path:
    """Point the registry at ``data_dir`` (or CPSTEM_DATA_DIR), set Django up, migrate."""
    global _ready
    if data_dir is not None:
        os.environ["CPSTEM_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpstem.registry.settings")
    import django

    if not _ready:
        django.setup()
        _ready = True
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0, stdout=io.StringIO())
    from django.conf import settings

    return Path(settings.DATA_DIR)
