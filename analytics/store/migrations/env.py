"""Alembic environment for Carebot's analytics schema.

``analytics.store.db.migrate(url)`` hands over an open connection in ``config.attributes``;
running Alembic directly needs ``sqlalchemy.url`` set to the database's URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from analytics.store.db import make_engine
from analytics.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "Carebot's migrations need a database: run `carebot demo-data` or `carebot serve` "
            "(they migrate CAREBOT_DATABASE_URL), call analytics.store.db.migrate(url), or set "
            "sqlalchemy.url for Alembic"
        )
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
