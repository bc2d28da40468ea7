"""What `carebot export` writes: the redacted columns analytics reads, table by table.

Never exported: ``messages.raw_text`` (the customer's words, encrypted), ``conversations.
tracker_state`` (the dialogue tracker quotes the customer) and ``conversations.csat_comment``
(free text the customer typed, never redacted), nor the shop's customer table (names,
emails). Conversations carry ``customer_id``, the store's numeric key, so a warehouse can
join its own customer data; ``carebot privacy forget`` clears it in the store and the next
export rewrites the partitions it touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import ColumnElement, FromClause, Select, Text, cast, func, select

from analytics.store.schema import Conversation, ConversationFacts, Escalation, Event, Message

C = Conversation.__table__
F = ConversationFacts.__table__
M = Message.__table__
E = Event.__table__
ES = Escalation.__table__

TIMESTAMP = pa.timestamp("us", tz="UTC")  # the store's naive UTC times, marked as UTC


def _json_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A JSON column as the text stored (faster than decoding and encoding it again)."""
    return cast(column, Text)


@dataclass(frozen=True)
class ExportColumn:
    name: str
    expression: ColumnElement[Any]
    type: pa.DataType
    convert: Callable[[Any], Any] | None = None  # store value -> Parquet value


@dataclass(frozen=True)
class ExportTable:
    """One table of the export: its columns, the time that picks its date partition, and
    whether stored rows ever change (``append_only``: new rows only, so a watermark finds
    them; otherwise each partition is compared by a digest of its rows)."""

    name: str
    columns: tuple[ExportColumn, ...]
    from_: FromClause
    partition_by: ColumnElement[Any]  # a timestamp; the partition is its UTC date
    key: ColumnElement[Any]  # unique; orders rows within one timestamp
    append_only: bool
    where: tuple[ColumnElement[bool], ...] = ()

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type) for c in self.columns])

    def select(self) -> Select:
        """The exported columns, then the partition time and key (for the watermark)."""
        return (select(*(c.expression.label(c.name) for c in self.columns),
                       self.partition_by.label("_at"), self.key.label("_key"))
                .select_from(self.from_).where(*self.where)
                .order_by(self.partition_by, self.key))

    def day_counts(self) -> Select:
        """Rows per UTC day of the partition time."""
        day = func.date(self.partition_by)
        return (select(day.label("day"), func.count().label("rows"))
                .select_from(self.from_).where(*self.where).group_by(day))


def _col(name: str, expression: ColumnElement[Any], type_: pa.DataType,
         convert: Callable[[Any], Any] | None = None) -> ExportColumn:
    return ExportColumn(name, expression, type_, convert)


_rated_at = (select(E.c.conversation_id, func.min(E.c.created_at).label("rated_at"))
             .where(E.c.type == "csat").group_by(E.c.conversation_id).subquery("csat_events"))

CONVERSATIONS = ExportTable(
    name="conversations",
    columns=(
        _col("id", C.c.id, pa.string()),
        _col("channel", C.c.channel, pa.string()),
        _col("customer_id", C.c.customer_id, pa.int64()),
        _col("status", C.c.status, pa.string()),
        _col("started_at", C.c.started_at, TIMESTAMP),
        _col("last_active_at", C.c.last_active_at, TIMESTAMP),
        _col("ended_at", C.c.ended_at, TIMESTAMP),
        _col("turns", C.c.turns, pa.int32()),
        _col("fallback_count", C.c.fallback_count, pa.int32()),
        _col("escalated", C.c.escalated, pa.bool_()),
        _col("assigned_agent_id", C.c.assigned_agent_id, pa.int64()),
        _col("csat_rating", C.c.csat_rating, pa.int32()),
        # from the rollups: what reports need but cannot recompute from exported columns
        # (abandonment reads the tracker, which is not exported)
        _col("user_messages", F.c.user_messages, pa.int32()),
        _col("ended_unresolved", F.c.ended_unresolved, pa.bool_()),
    ),
    from_=C.outerjoin(F, F.c.conversation_id == C.c.id),
    partition_by=C.c.started_at, key=C.c.id, append_only=False,
)

MESSAGES = ExportTable(
    name="messages",
    columns=(
        _col("id", M.c.id, pa.string()),
        _col("conversation_id", M.c.conversation_id, pa.string()),
        _col("sender", M.c.sender, pa.string()),
        _col("text", M.c.text, pa.string()),  # redacted: [EMAIL], [ORDER_ID]...
        _col("intent", M.c.intent, pa.string()),
        _col("confidence", M.c.confidence, pa.float64()),
        _col("entities", _json_text(M.c.entities), pa.string()),  # values that are PII redacted
        _col("sentiment_label", M.c.sentiment_label, pa.string()),
        _col("sentiment_score", M.c.sentiment_score, pa.float64()),
        _col("data", _json_text(M.c.data), pa.string()),
        _col("created_at", M.c.created_at, TIMESTAMP),
    ),
    from_=M, partition_by=M.c.created_at, key=M.c.id, append_only=True,
)

EVENTS = ExportTable(
    name="events",
    columns=(
        _col("id", E.c.id, pa.string()),
        _col("conversation_id", E.c.conversation_id, pa.string()),
        _col("type", E.c.type, pa.string()),
        _col("actor", E.c.actor, pa.string()),
        _col("data", _json_text(E.c.data), pa.string()),
        _col("created_at", E.c.created_at, TIMESTAMP),
    ),
    from_=E, partition_by=E.c.created_at, key=E.c.id, append_only=True,
)

ESCALATIONS = ExportTable(
    name="escalations",
    columns=(
        _col("id", ES.c.id, pa.int64()),
        _col("conversation_id", ES.c.conversation_id, pa.string()),
        _col("reason", ES.c.reason, pa.string()),
        _col("priority", ES.c.priority, pa.int32()),
        _col("status", ES.c.status, pa.string()),
        _col("created_at", ES.c.created_at, TIMESTAMP),
        _col("claimed_at", ES.c.claimed_at, TIMESTAMP),
        _col("claimed_by", ES.c.claimed_by, pa.int64()),
        _col("first_response_at", ES.c.first_response_at, TIMESTAMP),
        _col("resolved_at", ES.c.resolved_at, TIMESTAMP),
    ),
    from_=ES, partition_by=ES.c.created_at, key=ES.c.id, append_only=False,
)

RATINGS = ExportTable(
    name="ratings",
    columns=(
        _col("conversation_id", C.c.id, pa.string()),
        _col("rating", C.c.csat_rating, pa.int32()),
        _col("rated_at", _rated_at.c.rated_at, TIMESTAMP),  # null when no csat event
        _col("channel", C.c.channel, pa.string()),
        _col("conversation_started_at", C.c.started_at, TIMESTAMP),
    ),
    from_=C.outerjoin(_rated_at, _rated_at.c.conversation_id == C.c.id),
    where=(C.c.csat_rating.is_not(None),),
    partition_by=C.c.started_at, key=C.c.id, append_only=False,
)

TABLES: tuple[ExportTable, ...] = (CONVERSATIONS, MESSAGES, EVENTS, ESCALATIONS, RATINGS)
