"""One real server over a seeded SQLite shop, with console users of every role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_server import WIDGET_SECRET, RunningServer, seed_shop, start_server
from sqlalchemy import Engine, create_engine


@pytest.fixture(scope="module")
def shop_database_url(tmp_path_factory) -> str:
    return seed_shop(f"sqlite:///{tmp_path_factory.mktemp('db') / 'carebot.db'}")


@pytest.fixture(scope="module")
def server(shop_database_url, tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(shop_database_url, tmp_path_factory.mktemp("server"),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def db(shop_database_url) -> Iterator[Engine]:
    engine = create_engine(shop_database_url)
    yield engine
    engine.dispose()
