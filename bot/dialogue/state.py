"""Per-conversation dialogue state, serialisable so it survives a server restart."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from typing import Any

MAX_EVENTS = 60  # events kept for actions' context; the full log lives in the analytics store


@dataclass
class ConversationState:
    id: str
    channel: str = "rest"
    slots: dict[str, Any] = field(default_factory=dict)
    active_form: str | None = None
    requested_slot: str | None = None
    status: str = "bot"  # bot | escalated | agent | resolved
    customer_db_id: int | None = None  # set only for verified customers
    vip: bool = False
    consecutive_fallbacks: int = 0
    fallback_count: int = 0
    negative_streak: int = 0
    pending_question: str | None = None  # e.g. "offer_human": how to read a yes/no
    turns: int = 0
    escalated: bool = False
    assigned_agent_id: int | None = None
    started_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    latest_message: dict = field(default_factory=dict)
    latest_action_name: str | None = None
    events: list[dict] = field(default_factory=list)
    recent_message_ids: list[str] = field(default_factory=list)  # client ids, to drop resends
    ended_at: float | None = None  # when an agent resolved it
    csat_rating: int | None = None  # 1-5, from the widget's prompt when the conversation ends
    csat_comment: str | None = None

    def add_event(self, event: dict) -> None:
        event.setdefault("timestamp", time.time())
        self.events.append(event)
        del self.events[:-MAX_EVENTS]

    def working_copy(self) -> ConversationState:
        """A copy a turn can change freely: the containers a turn mutates are copied, the
        event dicts inside them are never changed after they are added."""
        return replace(self, slots=dict(self.slots), events=list(self.events),
                       recent_message_ids=list(self.recent_message_ids),
                       latest_message=dict(self.latest_message))

    def to_dict(self) -> dict:
        """The fields as a dict sharing their lists and dicts: serialise it before the state
        changes again (the conversation log and the Redis copy do so at once). asdict's deep
        copy of the events took ~5 ms of every turn."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> ConversationState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def rasa_tracker(self) -> dict:
        """The tracker in the shape Rasa sends to an action server."""
        return {
            "sender_id": self.id,
            "slots": {**self.slots, "requested_slot": self.requested_slot},
            "latest_message": self.latest_message,
            "events": list(self.events),
            "paused": self.status in ("escalated", "agent"),
            "followup_action": None,
            "active_loop": {"name": self.active_form} if self.active_form else {},
            "latest_action_name": self.latest_action_name,
            "latest_event_time": self.last_active_at,
        }
