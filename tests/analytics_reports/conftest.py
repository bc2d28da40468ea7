"""Databases (SQLite and PostgreSQL) holding the known conversations of known_data.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from analytics.db import make_engine, migrate
from analytics.facts import rebuild_facts
from known_data import load_known_data


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    """A migrated, empty database, once on SQLite and once on PostgreSQL."""
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """The known conversations, with their rollups built."""
    load_known_data(empty_engine)
    rebuild_facts(empty_engine, progress=False)
    return empty_engine
