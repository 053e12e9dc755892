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
