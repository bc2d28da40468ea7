"""Fresh SQLite / PostgreSQL databases for the report tests (imported by conftest and tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dbfixtures import fresh_postgres_database, fresh_sqlite_url
from sqlalchemy import Engine

from analytics.store.db import make_engine, migrate

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """A new, empty database of ``kind`` ("sqlite" or "postgres"), dropped afterwards."""
    if kind == "sqlite":
        yield fresh_sqlite_url(directory)
        return
    with fresh_postgres_database() as url:
        yield url


@contextmanager
def migrated_engine(kind: str, directory: Path) -> Iterator[Engine]:
    with fresh_database(kind, directory) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
