"""Shared database fixtures: a fresh, empty SQLite file or PostgreSQL database per test.

``database_url`` runs a test once on each. The databases are not migrated; call
``analytics.store.db.migrate(url)`` (or use a fixture that does) first.
PostgreSQL comes from $CAREBOT_TEST_POSTGRES_URL, default the local trust-auth server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbfixtures import fresh_postgres_database, fresh_sqlite_url
from sqlalchemy import create_engine


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file in the test's temporary directory (not created yet)."""
    return fresh_sqlite_url(tmp_path)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The test runs once against SQLite and once against PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


# -- a real `carebot serve` over a seeded demo shop (tests/bot, tests/agent, tests/browser) --


@pytest.fixture(scope="module")
def module_sqlite_url(tmp_path_factory) -> str:
    return fresh_sqlite_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def database_backend() -> str:
    """Which database fixture a module's server runs on; modules override it to run on both."""
    return "module_sqlite_url"


@pytest.fixture(scope="module")
def seeded_database_url(request, database_backend) -> str:
    """A demo-shop database with console users of every role, for one test module."""
    from live_server import seed_shop

    return seed_shop(request.getfixturevalue(database_backend))


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory):
    from live_server import WIDGET_SECRET, start_server

    running = start_server(seeded_database_url, tmp_path_factory.mktemp("server"),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET)
    yield running
    running.stop()


@pytest.fixture
def server_factory(tmp_path):
    """Start (and at the end stop) as many servers as a test needs."""
    from live_server import start_server

    started = []

    def start(database_url: str, **extra_env: str):
        running = start_server(database_url, tmp_path, **extra_env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def db(seeded_database_url):
    engine = create_engine(seeded_database_url)
    yield engine
    engine.dispose()
