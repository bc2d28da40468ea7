"""Per-conversation state: the conversation's Rasa events plus what Carebot keeps beside them
(who holds the conversation, the customer, the rating). Serialisable, so it survives a
restart; slots, the active loop and the latest message are read from the events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from typing import Any

from bot.dialogue import events as ev
from bot.dialogue import rasa_events as re_
from bot.dialogue.project.model import ACTION_LISTEN, ACTION_OFFER_HANDOFF, Domain

# A conversation keeps every event of its current session; older sessions' events beyond
# this many are dropped (the full message log lives in the analytics store).
MAX_EVENTS = 2000


@dataclass
class ConversationState:
    id: str
    channel: str = "rest"
    status: str = "bot"  # bot | escalated | agent | resolved
    customer_db_id: int | None = None  # set only for verified customers
    vip: bool = False
    fallback_count: int = 0
    negative_streak: int = 0
    turns: int = 0
    escalated: bool = False
    assigned_agent_id: int | None = None
    started_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    events: list[dict] = field(default_factory=list)  # Rasa events, oldest first
    recent_message_ids: list[str] = field(default_factory=list)  # client ids, to drop resends
    ended_at: float | None = None  # when an agent resolved it
    csat_rating: int | None = None  # 1-5, from the widget's prompt when the conversation ends
    csat_comment: str | None = None
    # {"reason", "priority"} of the latest handoff: a conversation escalated while the
    # database was down is put in the agents' queue with them later (bot/dialogue/handoffs.py)
    handoff: dict | None = None
    # how many of ``events`` were handed to the event broker (endpoints.yml event_broker)
    streamed_events: int = 0

    # -- read from the events ---------------------------------------------------------------

    @property
    def slots(self) -> dict[str, Any]:
        """Slots set in this conversation (without the domain's unset ones)."""
        return ev.view(self.events).slots

    def slot(self, name: str) -> Any:
        return self.slots.get(name)

    @property
    def active_loop(self) -> str | None:
        return ev.view(self.events).active_loop_name

    @property
    def latest_message(self) -> dict:
        return (ev.view(self.events).latest_message or {}).get("parse_data") or {}

    @property
    def pending_question(self) -> str | None:
        """"offer_human" while the bot's latest question was whether to get a person."""
        latest = next((e.get("name") for e in reversed(self.events)
                       if e.get("event") == "action" and e.get("name") != ACTION_LISTEN), None)
        return "offer_human" if latest == ACTION_OFFER_HANDOFF else None

    # -- changes ----------------------------------------------------------------------------

    def add_event(self, event: dict) -> None:
        re_.stamp(event)
        self.events.append(event)
        if len(self.events) > MAX_EVENTS:
            self._drop_old_sessions()

    def set_slot(self, name: str, value: Any) -> None:
        self.add_event(re_.slot(name, value))

    def _drop_old_sessions(self) -> None:
        starts = [i for i, e in enumerate(self.events) if e.get("event") == "session_started"]
        keep_from = next((i for i in reversed(starts) if len(self.events) - i <= MAX_EVENTS), None)
        if keep_from:
            # the action_session_start just before the session_started stays with it
            dropped = max(0, keep_from - 1)
            del self.events[:dropped]
            self.streamed_events = max(0, self.streamed_events - dropped)

    def take_unstreamed(self) -> list[dict]:
        """The events not handed to the event broker yet; from now on they count as handed."""
        new = self.events[self.streamed_events:]
        self.streamed_events = len(self.events)
        return new

    def working_copy(self) -> ConversationState:
        """A copy a turn can change freely: the lists a turn appends to are copied, the event
        dicts inside them are never changed after they are added."""
        return replace(self, events=list(self.events),
                       recent_message_ids=list(self.recent_message_ids))

    # -- storage ----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The fields as a dict sharing their lists: serialise it before the state changes
        again (the conversation log and the Redis copy do so at once). The active loop and a
        pending question are added for the analytics rollups, which read them."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["active_form"] = self.active_loop
        data["pending_question"] = self.pending_question
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ConversationState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        # a state stored before Carebot streamed events: its history is not streamed now
        known.setdefault("streamed_events", len(known.get("events") or []))
        return cls(**known)

    def rasa_tracker(self, domain: Domain | None = None) -> dict:
        """The tracker as Rasa's HTTP API and action servers see it."""
        if domain is None:
            domain = Domain(intents={}, entities={}, slots={}, forms={}, responses={},
                            actions=[])
        return re_.tracker_for_actions(self.id, self.events, domain,
                                       paused=self.status in ("escalated", "agent"))
