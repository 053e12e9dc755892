"""Machine components the tests need: PostgreSQL server binaries, Debian chromium, Pango.

Tests never install anything and never skip for a missing component: ``make test`` installs
them first (its ``system-deps`` target), and a test whose component is missing fails with the
command that installs it.
"""

from __future__ import annotations

import glob
import os
import shutil
from typing import NoReturn

import pytest

#: Debian packages per component, as ``make system-deps`` installs them.
PACKAGES = {
    "postgresql": ("postgresql",),
    "chromium": ("chromium",),
    "pango": ("libpango-1.0-0", "libpangoft2-1.0-0", "fontconfig", "fonts-dejavu-core"),
}


def missing(component: str, what: str) -> NoReturn:
    """Fail the test: ``component`` is not installed; say how to install it."""
    packages = " ".join(PACKAGES[component])
    pytest.fail(
        f"{what} not found: run `make system-deps` (installs every system package the tests "
        f"need), or `sudo apt-get install -y --no-install-recommends {packages}`",
        pytrace=False,
    )


def pg_bindir() -> str:
    """Folder of the PostgreSQL server binaries (initdb, pg_ctl)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(os.path.realpath(initdb))
    missing("postgresql", "PostgreSQL server binaries (initdb)")


def chromium() -> str:
    """Path of Debian's chromium."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    missing("chromium", "chromium (headless browser for the browser tests)")


def require_pango() -> None:
    """WeasyPrint (PDF reports) loads the system's Pango library on import."""
    try:
        import weasyprint  # noqa: F401
    except OSError:
        missing("pango", "the Pango library (PDF reports through WeasyPrint)")
