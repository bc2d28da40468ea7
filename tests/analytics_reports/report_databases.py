"""Fresh SQLite / PostgreSQL databases for the report tests (imported by conftest and tests)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from analytics.db import make_engine, migrate

POSTGRES_ADMIN_URL = os.environ.get(
    "CAREBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """A new, empty database of ``kind`` ("sqlite" or "postgres"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'carebot.db'}"
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    name = f"carebot_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable ({exc.orig}); set CAREBOT_TEST_POSTGRES_URL")
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_engine(kind: str, directory: Path) -> Iterator[Engine]:
    with fresh_database(kind, directory) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
