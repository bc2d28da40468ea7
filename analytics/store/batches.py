"""One batch of conversation records written in one transaction: states upserted (the latest
wins), messages and events inserted once, placeholders for conversations not yet stored."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import Engine

from analytics.store.db import sqlite_writer
from analytics.store.records import ConversationRecord, Record, kind_of, to_row
from analytics.store.schema import Conversation, Event, Message
from analytics.store.upsert import insert_ignoring_existing, upsert


def write_batch(engine: Engine, batch: list[Record]) -> set[str]:
    """Write the records in one transaction; returns the conversations whose report rollups
    they change."""
    conversations: dict[str, dict[str, Any]] = {}
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for record in batch:
        row = to_row(record)
        kind = kind_of(record)
        if kind == "conversation":
            conversations[record.id] = row  # the latest state in the batch wins
        elif kind == "message":
            messages.append(row)
        else:
            events.append(row)
    # A message may arrive before (or without) its conversation's state; a placeholder
    # row keeps the foreign key satisfied and the real state overwrites it later.
    placeholders = {
        row["conversation_id"]: to_row(
            ConversationRecord(id=row["conversation_id"], started_at=row["created_at"])
        )
        for row in itertools.chain(messages, events)
        if row["conversation_id"] is not None and row["conversation_id"] not in conversations
    }
    dialect = engine.dialect.name
    with sqlite_writer(engine), engine.begin() as conn:
        if conversations:
            conn.execute(upsert(Conversation.__table__, dialect), list(conversations.values()))
        if placeholders:
            conn.execute(
                insert_ignoring_existing(Conversation.__table__, dialect),
                list(placeholders.values()),
            )
        if messages:
            conn.execute(insert_ignoring_existing(Message.__table__, dialect), messages)
        if events:
            conn.execute(insert_ignoring_existing(Event.__table__, dialect), events)
    return {*conversations, *(m["conversation_id"] for m in messages)}
