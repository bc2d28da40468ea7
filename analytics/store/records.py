"""Plain records the bot hands to the conversation log and gets back from the store.

Timestamps are naive UTC, like the schema's columns. Construct records by keyword:
``MessageRecord(conversation_id="web-42", sender="user", text="where is my order?")``.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

_clock_lock = threading.Lock()
_last_now = datetime.min


def new_id() -> str:
    """A fresh uuid4 string for message and event ids."""
    return str(uuid.uuid4())


def naive_utc_now() -> datetime:
    """Naive UTC now, the way the schema stores times."""
    return datetime.now(UTC).replace(tzinfo=None)


def record_time() -> datetime:
    """The creation time of a new record: naive UTC now, strictly increasing in the process.

    Messages are read back ordered by ``created_at``; two created in the same microsecond
    would otherwise come back in an arbitrary order.
    """
    global _last_now
    with _clock_lock:
        now = datetime.now(UTC).replace(tzinfo=None)
        if now <= _last_now:
            now = _last_now + timedelta(microseconds=1)
        _last_now = now
        return now


def naive_utc(value: datetime | None) -> datetime | None:
    """Convert an aware datetime to naive UTC; naive ones are taken to be UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(kw_only=True, slots=True)
class ConversationRecord:
    """The state of one conversation; writing it again replaces the stored state."""

    id: str
    channel: str = "rest"
    customer_id: int | None = None  # customers.id (not the external "C1001" id)
    status: str = "bot"  # CONVERSATION_STATUSES
    started_at: datetime = field(default_factory=record_time)
    last_active_at: datetime | None = None  # defaults to started_at
    ended_at: datetime | None = None
    turns: int = 0
    fallback_count: int = 0
    escalated: bool = False
    assigned_agent_id: int | None = None
    csat_rating: int | None = None
    csat_comment: str | None = None
    tracker_state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.last_active_at is None:
            self.last_active_at = self.started_at


@dataclass(kw_only=True, slots=True)
class MessageRecord:
    """One message in a conversation, from the user, the bot or an agent."""

    id: str = field(default_factory=new_id)
    conversation_id: str
    sender: str  # "user" | "bot" | "agent"
    text: str  # redacted for user messages
    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=record_time)
    raw_text: str | None = None  # the words as written, Fernet-encrypted (bot/privacy)


@dataclass(kw_only=True, slots=True)
class EventRecord:
    """Something that happened in a conversation: an action ran, a slot was set, a handoff."""

    id: str = field(default_factory=new_id)
    conversation_id: str | None
    type: str
    actor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=record_time)


Record = ConversationRecord | MessageRecord | EventRecord
RECORD_KINDS: dict[str, type] = {
    "conversation": ConversationRecord,
    "message": MessageRecord,
    "event": EventRecord,
}
_KIND_OF = {cls: kind for kind, cls in RECORD_KINDS.items()}
_DATETIME_FIELDS = {"started_at", "last_active_at", "ended_at", "created_at"}


def kind_of(record: Record) -> str:
    """``"conversation"``, ``"message"`` or ``"event"``; TypeError for anything else."""
    try:
        return _KIND_OF[type(record)]
    except KeyError:
        raise TypeError(
            f"The conversation log stores ConversationRecord, MessageRecord and EventRecord, "
            f"not {type(record).__name__}"
        ) from None


def to_row(record: Record) -> dict[str, Any]:
    """Column values for the record's table (timestamps normalised to naive UTC)."""
    row = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    for name in _DATETIME_FIELDS & row.keys():
        row[name] = naive_utc(row[name])
    return row


def to_json_dict(record: Record) -> dict[str, Any]:
    """A JSON-ready dict carrying the record's kind, for spool files."""
    row = to_row(record)
    for name in _DATETIME_FIELDS & row.keys():
        if row[name] is not None:
            row[name] = row[name].isoformat()
    return {"kind": kind_of(record), **row}


def from_json_dict(data: dict[str, Any]) -> Record:
    """Inverse of :func:`to_json_dict`."""
    data = dict(data)
    cls = RECORD_KINDS[data.pop("kind")]
    for name in _DATETIME_FIELDS & data.keys():
        if data[name] is not None:
            data[name] = datetime.fromisoformat(data[name])
    return cls(**data)
