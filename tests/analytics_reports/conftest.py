"""Databases (SQLite and PostgreSQL) holding the known conversations of known_data.py.

The known data is only read, so each test module builds it once per database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from known_data import load_known_data
from report_databases import DATABASES, migrated_engine
from sqlalchemy import Engine

from analytics.store.rollups import rebuild_facts


@pytest.fixture(scope="module", params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Engine]:
    """The known conversations with their rollups built (read-only: shared by the module)."""
    with migrated_engine(request.param, tmp_path_factory.mktemp("known")) as engine:
        load_known_data(engine)
        rebuild_facts(engine, progress=False)
        yield engine


@pytest.fixture(params=DATABASES)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of its own, once on SQLite and once on PostgreSQL."""
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine
