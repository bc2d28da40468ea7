"""Test databases: a fresh, empty SQLite file or PostgreSQL database.

PostgreSQL comes from $CAREBOT_TEST_POSTGRES_URL, default the local trust-auth server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

POSTGRES_ADMIN_URL = os.environ.get(
    "CAREBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
_postgres_unreachable: str | None = None


def postgres_unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can (checked once)."""
    global _postgres_unreachable
    if _postgres_unreachable is None:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            _postgres_unreachable = ""
        except OperationalError as exc:
            _postgres_unreachable = (
                f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL)!r} "
                f"({str(exc.orig).strip().splitlines()[0]}); start it or set "
                "CAREBOT_TEST_POSTGRES_URL to run the PostgreSQL tests"
            )
        finally:
            engine.dispose()
    return _postgres_unreachable or None


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database named carebot_test_<random>, yield its URL, then drop it."""
    reason = postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    name = f"carebot_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE ends connections a test left open (an engine it did not dispose).
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fresh_sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'carebot.db'}"
