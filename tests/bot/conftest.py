"""A real `carebot serve` process on an ephemeral port, over a real SQLite or PostgreSQL DB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_server import (
    WIDGET_SECRET,
    RunningServer,
    postgres_database,
    seed_shop,
    start_server,
)
from sqlalchemy import create_engine


@pytest.fixture(scope="module")
def module_sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'carebot.db'}"


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def database_backend() -> str:
    """Which database fixture a module runs on; modules override it to run on both."""
    return "module_sqlite_url"


@pytest.fixture(scope="module")
def seeded_database_url(request, database_backend) -> str:
    """A demo-shop database (SQLite file or fresh PostgreSQL database) for one test module."""
    return seed_shop(request.getfixturevalue(database_backend))


@pytest.fixture
def server_factory(tmp_path):
    """Start (and at the end stop) as many servers as a test needs."""
    started: list[RunningServer] = []

    def start(database_url: str, **extra_env: str) -> RunningServer:
        running = start_server(database_url, tmp_path, **extra_env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(seeded_database_url, tmp_path_factory.mktemp("server"),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def db(seeded_database_url):
    engine = create_engine(seeded_database_url)
    yield engine
    engine.dispose()
