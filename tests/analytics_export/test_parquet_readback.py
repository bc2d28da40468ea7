"""The Parquet export read back with DuckDB, as an analyst would: every row, the same report
figures as Carebot's own, and none of the customer's words that analytics never reads."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from export_store import (
    EMAIL,
    EXPORTED,
    PRIVATE_CONVERSATION,
    parquet,
    parquet_counts,
    store_counts,
)
from sqlalchemy import Engine

from analytics.export import export_parquet
from analytics.reports.registry import ReportOptions, run_report
from analytics.reports.scope import IDLE_TIMEOUT


@pytest.fixture(scope="module")
def exported(demo_store: Engine, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("export")
    export_parquet(demo_store, directory)
    return directory


def _metric(engine: Engine, name: str, now: datetime) -> float:
    report = run_report(engine, "metrics", options=ReportOptions(now=now))
    return next(r["value"] for r in report.rows if r["metric"] == name)


def test_every_row_of_every_table_is_in_the_export(demo_store, exported):
    counts = store_counts(demo_store)
    assert all(counts[t] > 0 for t in EXPORTED)
    assert parquet_counts(exported) == counts


def test_files_are_hive_partitioned_by_utc_date(demo_store, exported):
    with duckdb.connect() as db:
        wrong = db.sql(f"""SELECT count(*) FROM {parquet(exported, 'messages')}
                           WHERE CAST(created_at AT TIME ZONE 'UTC' AS DATE) <> date""")
        assert wrong.fetchone()[0] == 0
        days = db.sql(f"SELECT count(DISTINCT date) FROM {parquet(exported, 'conversations')}")
        assert days.fetchone()[0] > 20
    assert all(p.parent.name.startswith("date=") and p.name.startswith("part-")
               for p in exported.glob("*/*/*.parquet"))


def test_containment_and_mean_csat_computed_in_duckdb_equal_carebots(demo_store, exported):
    now = datetime(2026, 12, 1)
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        contained, csat, sentiment = db.execute(f"""
            WITH c AS (SELECT * FROM {parquet(exported, 'conversations')}
                       WHERE user_messages > 0)
            SELECT
              avg(CASE WHEN NOT escalated
                        AND NOT (ended_at IS NULL AND last_active_at > $idle)
                        AND NOT ended_unresolved THEN 1 ELSE 0 END),
              (SELECT avg(r.rating) FROM {parquet(exported, 'ratings')} r
               WHERE r.conversation_id IN (SELECT id FROM c)),
              (SELECT avg(m.sentiment_score) FROM {parquet(exported, 'messages')} m
               WHERE m.sender = 'user' AND m.conversation_id IN (SELECT id FROM c))
            FROM c""", {"idle": (now - IDLE_TIMEOUT).isoformat() + "+00:00"}).fetchone()
    assert round(contained, 4) == pytest.approx(_metric(demo_store, "containment_rate", now))
    assert csat == pytest.approx(_metric(demo_store, "csat_average", now), abs=0.005)
    assert sentiment == pytest.approx(_metric(demo_store, "avg_sentiment", now), abs=1e-4)


def test_no_raw_or_encrypted_customer_words_reach_the_parquet(exported):
    with duckdb.connect() as db:
        for table in EXPORTED:
            relation = db.sql(f"SELECT * FROM {parquet(exported, table)}")
            for column, kind in zip(relation.columns, relation.types, strict=True):
                if str(kind) == "VARCHAR":
                    leaks = db.sql(f"""SELECT count(*) FROM {parquet(exported, table)}
                                       WHERE "{column}" ILIKE '%{EMAIL}%'""").fetchone()[0]
                    assert leaks == 0, f"{table}.{column} holds the customer's email"
        text = db.sql(f"""SELECT text FROM {parquet(exported, 'messages')}
                          WHERE conversation_id = '{PRIVATE_CONVERSATION}'
                            AND sender = 'user'""").fetchone()[0]
    assert text == "my email is [EMAIL], where is my parcel?"
    for path in exported.glob("*/*/*.parquet"):
        assert EMAIL.encode() not in path.read_bytes()
        names = set(pq.read_schema(path).names)
        assert not names & {"raw_text", "tracker_state", "csat_comment", "email"}


def test_ratings_carry_when_the_customer_rated(exported):
    with duckdb.connect() as db:
        rated, timed = db.sql(f"""SELECT count(*), count(rated_at)
                                  FROM {parquet(exported, 'ratings')}""").fetchone()
    assert rated == timed  # every rating in the demo store has its csat event


def test_json_columns_hold_json_an_engine_can_query(exported):
    with duckdb.connect() as db:
        events, agreeing = db.sql(f"""
            SELECT count(*), count(*) FILTER (
                     WHERE CAST(json_extract(e.data, '$.rating') AS INTEGER) = r.rating)
            FROM {parquet(exported, 'events')} e
            JOIN {parquet(exported, 'ratings')} r USING (conversation_id)
            WHERE e.type = 'csat'""").fetchone()
        entities = db.sql(f"""SELECT entities FROM {parquet(exported, 'messages')}
                              WHERE conversation_id = '{PRIVATE_CONVERSATION}'
                                AND sender = 'user'""").fetchone()[0]
    assert events > 0 and agreeing == events
    assert json.loads(entities)[0]["value"] == "[EMAIL]"
