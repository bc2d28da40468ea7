"""Database engines and schema migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from analytics.store import fastjson

if TYPE_CHECKING:  # Alembic is imported only to migrate (~12 MB a serving process need not hold)
    from alembic.config import Config

logger = logging.getLogger(__name__)

# Named in advice only: the server's configuration (bot/config.py) reads it, not this module.
DATABASE_URL_ENV = "CAREBOT_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any 64-bit number works; it only has to be the same for every Carebot process.
_MIGRATION_LOCK_ID = 0x0CA4EB07
_URL_HELP = (
    "use sqlite:///path/to/carebot.db or postgresql+psycopg2://user:password@host:5432/dbname"
)


_writer_locks: dict[str, threading.RLock] = {}
_writer_locks_guard = threading.Lock()


@contextlib.contextmanager
def sqlite_writer(engine: Engine) -> Iterator[None]:
    """Around a writing transaction: on SQLite, one at a time per database file in this
    process (nothing on PostgreSQL).

    SQLite has one writer at a time, and a writer that finds the lock taken polls for it
    with sleeps that grow to 100 ms (its busy handler). The message receipts' claim, waiting
    so behind the conversation log's batches, took up to 850 ms in WebSocket load runs; on
    this lock it wakes the moment the batch commits. Other processes on the same file still
    meet SQLite's own lock and busy timeout.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    key = str(engine.url)
    with _writer_locks_guard:
        lock = _writer_locks.setdefault(key, threading.RLock())
    with lock:
        yield


class BadDatabaseUrl(ValueError):
    """The database URL cannot be used by Carebot."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached."""


def parse_database_url(url: str) -> URL:
    """Parse and check a database URL; only SQLite and PostgreSQL are supported."""
    if url.startswith("postgres://"):  # the spelling Heroku and others hand out
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BadDatabaseUrl(f"{url!r} is not a database URL; {_URL_HELP}.") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BadDatabaseUrl(
            f"Carebot stores data in SQLite or PostgreSQL, not {parsed.get_backend_name()!r}; "
            f"{_URL_HELP}."
        )
    if parsed.drivername == "postgresql":
        # SQLAlchemy 2.1 defaults to psycopg 3; Carebot ships with psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(url: str, *, busy_timeout: float = 10.0, connect_timeout: int = 5) -> Engine:
    """Create an engine tuned for Carebot: SQLite in WAL mode with foreign keys and a busy
    timeout (seconds), PostgreSQL with pre-ping so connections dropped by a restart are
    replaced transparently."""
    parsed = parse_database_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": busy_timeout},
                                   json_serializer=fastjson.dumps, json_deserializer=fastjson.loads)
            _configure_sqlite(engine, busy_timeout)
        else:
            engine = create_engine(
                parsed,
                pool_pre_ping=True,
                connect_args={"connect_timeout": connect_timeout},
                json_serializer=fastjson.dumps,
                json_deserializer=fastjson.loads,
            )
    except (NoSuchModuleError, ImportError) as exc:
        raise BadDatabaseUrl(
            f"The database driver for {parsed.drivername!r} is not installed ({exc}); {_URL_HELP}."
        ) from exc
    return engine


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # WAL lets the dashboard read while the conversation log writes.
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        finally:
            cursor.close()


def describe(engine_or_url: Engine | str | URL) -> str:
    """The database URL with any password hidden, for messages and logs."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    if isinstance(url, str):
        url = parse_database_url(url)
    return url.render_as_string(hide_password=True)


def unavailable(engine: Engine, exc: Exception) -> DatabaseUnavailable:
    """A DatabaseUnavailable whose message says what to check for this engine."""
    where = describe(engine)
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        if path.parent and not path.parent.exists():
            hint = f"the directory {path.parent} does not exist; create it"
        else:
            hint = f"check that {path} is writable and not locked by another program"
    else:
        hint = "check that PostgreSQL is running and the host, port, user and database are right"
    detail = (str(exc).strip().splitlines() or [repr(exc)])[0]
    return DatabaseUnavailable(
        f"Cannot reach the database {where}: {type(exc).__name__}: {detail}. "
        f"{hint[0].upper()}{hint[1:]}, or point {DATABASE_URL_ENV} at another database."
    )


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable (with advice) unless a trivial query succeeds."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise unavailable(engine, exc.orig or exc) from exc


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped inside this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(?:None|[\"']([^\"']+)[\"'])",
                       re.MULTILINE)


@cache
def head_revision() -> str | None:
    """The newest shipped migration, read from the migration files without importing Alembic:
    the one revision no other names as its ``down_revision`` (None if that is not exactly
    one, and Alembic decides)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(m.groups() for m in _REVISION.finditer(path.read_text(encoding="utf-8")))
        if found.get("revision"):
            revisions.add(found["revision"])
            parents.add(found.get("down_revision"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no such table yet: a new database
        return None


def migrate(url: str) -> None:
    """Bring the database at ``url`` up to the newest schema (Alembic ``upgrade head``).

    A database already at the newest schema is left alone without importing Alembic."""
    engine = make_engine(url)
    try:
        check_connection(engine)
        head = head_revision()
        if head is not None and _current_revision(engine) == head:
            logger.info("Database %s is at the newest schema (%s)", describe(engine), head)
            return
        from alembic import command

        config = alembic_config()
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several server processes may start at once; one migrates, the others wait.
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        logger.info("Database %s is at the newest schema", describe(engine))
    finally:
        engine.dispose()
