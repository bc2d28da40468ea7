"""The demo store on SQLite and PostgreSQL, once per module (read-only) or per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from export_store import demo_engine
from sqlalchemy import Engine

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=DATABASES)
def demo_store(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Engine]:
    """The demo store, shared by a module's tests: do not change it."""
    with demo_engine(request.param, tmp_path_factory.mktemp("store")) as engine:
        yield engine


@pytest.fixture(params=DATABASES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A demo store of the test's own, to add to and change."""
    with demo_engine(request.param, tmp_path) as engine:
        yield engine
