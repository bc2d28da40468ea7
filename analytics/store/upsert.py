"""Idempotent INSERT statements for SQLite and PostgreSQL (ON CONFLICT on the primary key)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _insert(table: Table, dialect_name: str):
    try:
        return _INSERTS[dialect_name](table)
    except KeyError:
        raise NotImplementedError(
            f"Carebot writes to SQLite or PostgreSQL, not {dialect_name}; "
            "set CAREBOT_DATABASE_URL to one of those."
        ) from None


# The statements are built once per table and dialect: they are immutable, and building an
# upsert's ``excluded`` alias anew (a proxy for every column) cost the conversation log ~14 %
# of its CPU under load, on every batch.
@lru_cache(maxsize=64)
def insert_ignoring_existing(table: Table, dialect_name: str) -> Insert:
    """INSERT that skips rows whose primary key is already stored."""
    key = [c.name for c in table.primary_key.columns]
    return _insert(table, dialect_name).on_conflict_do_nothing(index_elements=key)


@lru_cache(maxsize=64)
def upsert(table: Table, dialect_name: str) -> Insert:
    """INSERT that replaces every non-key column of a row whose primary key is stored."""
    stmt = _insert(table, dialect_name)
    key = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={c.name: stmt.excluded[c.name] for c in table.columns if not c.primary_key},
    )
