"""A missing system component fails the test with the command that installs it (tests never
install packages themselves)."""

from __future__ import annotations

import pytest

from tests import system


@pytest.fixture
def bare_machine(monkeypatch):
    """A machine without chromium and without PostgreSQL server binaries."""
    monkeypatch.setattr(system.shutil, "which", lambda name: None)
    monkeypatch.setattr(system.glob, "glob", lambda pattern: [])


def test_missing_postgresql_says_how_to_install_it(bare_machine):
    with pytest.raises(pytest.fail.Exception) as failed:
        system.pg_bindir()
    assert str(failed.value) == (
        "PostgreSQL server binaries (initdb) not found: run `make system-deps` (installs every "
        "system package the tests need), or "
        "`sudo apt-get install -y --no-install-recommends postgresql`"
    )


def test_missing_chromium_says_how_to_install_it(bare_machine):
    with pytest.raises(pytest.fail.Exception, match="make system-deps") as failed:
        system.chromium()
    assert str(failed.value).endswith("`sudo apt-get install -y --no-install-recommends chromium`")


def test_missing_pango_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(pytest.fail.Exception, match="make system-deps") as failed:
        system.require_pango()
    assert "apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0" in str(
        failed.value
    )
