"""Small helpers for adding demo rows next to the seeded shop: fresh ids and conversations
with their messages and rollups, as the conversation log would have written them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from analytics.store.rollups import summarise
from analytics.store.schema import (
    Conversation,
    ConversationFacts,
    ConversationIntentFacts,
    Customer,
    Message,
    Order,
    OrderItem,
)


def next_ids(conn: Connection) -> dict[str, int]:
    """The next free id of each shop table, and the next customer and order numbers."""
    def top(column: Any) -> int:
        return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one())

    numbers = conn.execute(select(Order.order_number)).scalars().all()
    externals = conn.execute(select(Customer.external_id)).scalars().all()
    return {
        "customer": top(Customer.id) + 1, "order": top(Order.id) + 1,
        "item": top(OrderItem.id) + 1,
        "order_number": max((int(n[1:]) for n in numbers if n[1:].isdigit()), default=9999) + 1,
        "customer_number": max((int(e[1:]) for e in externals if e[1:].isdigit()),
                               default=1000) + 1,
    }


def move_sequences(conn: Connection) -> None:
    """PostgreSQL: rows were inserted with explicit ids; move the sequences past them."""
    if conn.dialect.name != "postgresql":
        return
    for table in ("customers", "orders", "order_items"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))


def add_conversation(conn: Connection, rng: Random, conversation_id: str,
                     customer_id: int | None, started: datetime,
                     lines: list[tuple[str, str | None, str | None, float | None, str]],
                     *, facts: bool = True, **columns: Any) -> list[str]:
    """Insert a conversation with ``lines`` (sender, intent, label, score, text) a minute
    apart, and (unless ``facts`` is false) its rollups; returns the message ids."""
    messages = []
    at = started
    for sender, intent, label, score, words in lines:
        at += timedelta(seconds=30)
        messages.append({"id": str(uuid.UUID(int=rng.getrandbits(128))),
                         "conversation_id": conversation_id, "sender": sender, "text": words,
                         "intent": intent, "confidence": 0.9 if intent else None,
                         "entities": [], "sentiment_label": label, "sentiment_score": score,
                         "data": {}, "created_at": at})
    row = {"id": conversation_id, "channel": "websocket", "customer_id": customer_id,
           "status": "bot", "started_at": started, "last_active_at": at, "turns":
           sum(m["sender"] == "user" for m in messages), "fallback_count": 0,
           "escalated": False, "tracker_state": {}, **columns}
    conn.execute(insert(Conversation), [row])
    if messages:
        conn.execute(insert(Message), messages)
    if facts:
        summary = summarise(conversation_id, ((m["sender"], m["intent"], m["sentiment_label"],
                                               m["sentiment_score"], m["created_at"])
                                              for m in messages), {})
        conn.execute(insert(ConversationFacts), [summary.fact_row(at)])
        intent_rows = summary.intent_rows()
        if intent_rows:
            conn.execute(insert(ConversationIntentFacts), intent_rows)
    return [m["id"] for m in messages]
