"""A seeded demo shop with planted abusive customers and injected dirt, per database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from dbfixtures import fresh_postgres_database, fresh_sqlite_url
from sqlalchemy import Engine

from analytics.demo.abuse import PlantedCustomer, plant_abusers
from analytics.demo.dirt import DirtManifest, inject_dirt
from analytics.demo.seed import seed
from analytics.quality.checks import Finding, run_checks
from analytics.store.db import make_engine, migrate
from analytics.store.records import naive_utc_now


@dataclass
class DirtyShop:
    engine: Engine
    baseline: list[Finding]  # the checks on the clean shop
    planted: list[PlantedCustomer]
    manifest: DirtManifest


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def shop(request, tmp_path_factory) -> Iterator[DirtyShop]:
    if request.param == "sqlite":
        yield from _shop(fresh_sqlite_url(tmp_path_factory.mktemp("db")))
    else:
        with fresh_postgres_database() as url:
            yield from _shop(url)


def _shop(url: str) -> Iterator[DirtyShop]:
    migrate(url)
    engine = make_engine(url)
    seed(engine, progress=False)
    planted = plant_abusers(engine, count=10)
    with engine.connect() as conn:
        baseline = run_checks(conn, naive_utc_now())
    manifest = inject_dirt(engine)
    yield DirtyShop(engine, baseline, planted, manifest)
    engine.dispose()
