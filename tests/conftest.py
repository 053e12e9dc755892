"""Test options (``--db=postgresql`` runs the Django tests on a throw-away PostgreSQL server)
and the metafor parity summary line."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="database of the registry tests: SQLite (default) or a throw-away PostgreSQL server "
        "started from the machine's binaries",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"registry database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def db_vendor(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def postgres_server(request):
    from tests.pgserver import PostgresServer

    server = PostgresServer()
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, db_vendor, django_db_modify_db_settings_parallel_suffix):
    """On --db=postgresql, point Django's default database at the throw-away server."""
    if db_vendor != "postgresql":
        return
    from django.conf import settings
    from django.db import connections

    server = request.getfixturevalue("postgres_server")
    settings.DATABASES["default"].update(server.django_settings())
    try:
        connections["default"].close()
        del connections["default"]
    except (AttributeError, KeyError):
        pass


@pytest.fixture
def registry(tmp_path, db_vendor, request):
    """A fresh registry for the real ``cpstem`` command: a data dir, and on --db=postgresql a
    fresh database on the throw-away server."""
    from tests.registry.cli_env import Registry

    url = None
    if db_vendor == "postgresql":
        server = request.getfixturevalue("postgres_server")
        url = server.url(server.create_database())
    return Registry(tmp_path / "data", url)


# The largest relative difference from metafor seen in the run (tests/evidence/parity.py),
# printed at the end; under pytest-xdist each worker sends its figures to the controller.


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from tests.evidence.parity import MAX_REL

        workeroutput["metafor_max_rel"] = dict(MAX_REL)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    from tests.evidence.parity import MAX_REL

    for name, rel in getattr(node, "workeroutput", {}).get("metafor_max_rel", {}).items():
        MAX_REL[name] = max(MAX_REL.get(name, 0.0), rel)


def pytest_terminal_summary(terminalreporter) -> None:
    from tests.evidence.parity import MAX_REL

    if MAX_REL:
        parts = ", ".join(f"{name} {rel:.1e}" for name, rel in sorted(MAX_REL.items()))
        terminalreporter.write_line(f"metafor parity, max relative difference: {parts}")
