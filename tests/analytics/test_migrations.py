"""The Alembic migrations build exactly the schema that analytics/store/schema.py declares."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from analytics.store.db import (
    BadDatabaseUrl,
    DatabaseUnavailable,
    alembic_config,
    head_revision,
    make_engine,
    migrate,
)
from analytics.store.schema import Base


def test_migrated_database_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrating_twice_changes_nothing(migrated_url, engine):
    migrate(migrated_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_the_head_read_from_the_files_is_alembics():
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_database_at_the_newest_schema_is_checked_without_importing_alembic(migrated_url):
    code = (
        "import sys\n"
        "from analytics.store.db import migrate\n"
        f"migrate({migrated_url!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_database_one_migration_behind_is_brought_to_the_newest(migrated_url, engine):
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "-1")
    with engine.connect() as conn:
        behind = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert behind != head_revision()
    migrate(migrated_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
            head_revision()
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_url):
    engine = make_engine(sqlite_url, busy_timeout=2.5)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
    finally:
        engine.dispose()


def test_unreachable_sqlite_database_says_which_directory_to_create(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing' / 'carebot.db'}"
    with pytest.raises(DatabaseUnavailable, match="missing does not exist; create it"):
        migrate(url)


def test_unreachable_postgres_says_what_to_check():
    # Port 9 (discard) has no PostgreSQL behind it.
    with pytest.raises(DatabaseUnavailable, match="Check that PostgreSQL is running"):
        migrate("postgresql+psycopg2://postgres@127.0.0.1:9/carebot")


def test_unsupported_database_url_is_refused_with_examples():
    with pytest.raises(BadDatabaseUrl, match="sqlite:///path/to/carebot.db"):
        make_engine("mysql://root@localhost/carebot")
