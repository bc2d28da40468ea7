"""Migrated databases and engines for the analytics tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from analytics.store.db import make_engine, migrate


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """A fresh database (SQLite, then PostgreSQL) at the newest schema."""
    migrate(database_url)
    return database_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()
