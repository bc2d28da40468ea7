"""A demo store to export: the demo shop, synthetic conversation history (analytics/demo),
the events the bot logs around it, and one conversation whose customer gave their email."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from dbfixtures import fresh_postgres_database, fresh_sqlite_url
from sqlalchemy import Engine, func, select

from analytics.demo.seed import seed
from analytics.demo.synthetic import REFERENCE, generate, insert_history
from analytics.store.batches import write_batch
from analytics.store.db import make_engine, migrate
from analytics.store.records import ConversationRecord, EventRecord, MessageRecord
from analytics.store.rollups import rebuild_facts
from analytics.store.schema import Conversation, Escalation, Event, Message

CONVERSATIONS = 300
EMAIL = "grace.hopper@example.com"
PRIVATE_CONVERSATION = "web-private-1"
EXPORTED = ("conversations", "messages", "events", "escalations", "ratings")


@contextmanager
def demo_engine(kind: str, directory: Path) -> Iterator[Engine]:
    """A migrated database (``kind``: sqlite or postgres) holding the demo store."""
    with _database(kind, directory) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            seed(engine, progress=False)
            add_history(engine, CONVERSATIONS)
            add_private_conversation(engine)
            rebuild_facts(engine, progress=False)
            yield engine
        finally:
            engine.dispose()


@contextmanager
def _database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield fresh_sqlite_url(directory)
    else:
        with fresh_postgres_database() as url:
            yield url


def add_history(engine: Engine, count: int, *, start: int = 0,
                reference: datetime = REFERENCE, days: int = 30) -> None:
    """``count`` synthetic conversations, with the csat and escalation events the bot logs."""
    with engine.connect() as conn:
        next_escalation = (conn.execute(select(func.max(Escalation.id))).scalar() or 0) + 1
    for block in generate(count, customer_ids=list(range(1, 301)), seed=start + 11, days=days,
                          start_id=start, escalation_id_start=next_escalation,
                          reference=reference):
        insert_history(engine, block)
        events: list[Any] = [
            EventRecord(conversation_id=c["id"], type="csat", actor="customer",
                        data={"rating": c["csat_rating"]}, created_at=c["last_active_at"])
            for c in block.conversations if c["csat_rating"] is not None]
        events += [EventRecord(conversation_id=e["conversation_id"], type="escalation",
                               actor="bot", data={"escalation_id": e["id"],
                                                  "reason": e["reason"]},
                               created_at=e["created_at"]) for e in block.escalations]
        write_batch(engine, events)
    rebuild_facts(engine, progress=False)


def add_private_conversation(engine: Engine) -> None:
    """A conversation in which the customer typed their email, as the bot stores it: the
    redacted text for analytics, the raw words (here even unencrypted), the tracker and a
    CSAT comment quoting them."""
    at = REFERENCE - timedelta(days=3)
    said = f"my email is {EMAIL}, where is my parcel?"
    write_batch(engine, [
        ConversationRecord(
            id=PRIVATE_CONVERSATION, channel="websocket", status="bot", started_at=at,
            last_active_at=at + timedelta(seconds=5), ended_at=at + timedelta(seconds=5),
            turns=1, csat_rating=2, csat_comment=f"write to me at {EMAIL}",
            tracker_state={"events": [{"event": "user", "text": said},
                                      {"event": "slot", "name": "email", "value": EMAIL}]}),
        MessageRecord(conversation_id=PRIVATE_CONVERSATION, sender="user",
                      text="my email is [EMAIL], where is my parcel?", raw_text=said,
                      intent="order_status", confidence=0.9,
                      entities=[{"entity": "email", "value": "[EMAIL]", "start": 12,
                                 "end": 36}],
                      sentiment_label="neutral", sentiment_score=0.0,
                      data={"pii": ["EMAIL"]}, created_at=at),
        MessageRecord(conversation_id=PRIVATE_CONVERSATION, sender="bot",
                      text="I have sent the details to [EMAIL].", raw_text=EMAIL,
                      created_at=at + timedelta(seconds=1)),
        EventRecord(conversation_id=PRIVATE_CONVERSATION, type="csat", actor="customer",
                    data={"rating": 2}, created_at=at + timedelta(seconds=5)),
    ])


def store_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        def count(model, *where) -> int:
            return conn.execute(select(func.count()).select_from(model).where(*where)
                                ).scalar_one()

        return {"conversations": count(Conversation), "messages": count(Message),
                "events": count(Event), "escalations": count(Escalation),
                "ratings": count(Conversation, Conversation.csat_rating.is_not(None))}


def parquet(directory: Path, table: str) -> str:
    """The DuckDB table function an analyst would write for one exported table."""
    return f"read_parquet('{directory}/{table}/*/*.parquet', hive_partitioning=true)"


def parquet_counts(directory: Path) -> dict[str, int]:
    with duckdb.connect() as db:
        return {t: db.sql(f"SELECT count(*) FROM {parquet(directory, t)}").fetchone()[0]
                for t in EXPORTED}


def part_files(directory: Path) -> dict[str, float]:
    """Every exported file and its modification time."""
    return {str(p.relative_to(directory)): p.stat().st_mtime_ns
            for p in directory.glob("*/date=*/*.parquet")}
