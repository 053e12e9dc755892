"""Test options: ``--db=postgresql`` runs the Django tests on a throw-away PostgreSQL server."""

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
