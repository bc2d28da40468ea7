"""Erasing the customers' own words: the raw text past its retention, and everything that
ties a customer to their conversations on request. Only the redacted text (what analytics
reads) stays."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, String, cast, or_, select, update

from analytics.store.schema import Conversation, Customer, Message

FORGOTTEN = "[forgotten]"
SEALED_EVENTS = "sealed_events"  # the key bot.privacy.TrackerSeal stores events under
# Slots Carebot itself fills with who the customer is (bot/dialogue/conversations.identify).
IDENTITY_SLOTS = ("customer_id", "email")
_BATCH = 500


@dataclass(frozen=True)
class PurgeResult:
    messages: int  # raw texts erased
    conversations: int  # trackers whose customer words were erased


@dataclass(frozen=True)
class ForgetResult:
    customer: str
    conversations: int
    messages: int


def scrub_tracker(tracker: dict, *, identity: bool) -> dict:
    """A stored tracker without the customer's words (and, with ``identity``, who they are)."""
    if SEALED_EVENTS in tracker:  # encrypted events (bot.privacy.TrackerSeal): all go
        return {k: v for k, v in tracker.items() if k != SEALED_EVENTS}
    if not tracker.get("events"):
        return tracker
    # slot values taken from the customer's words (an email, a number) go with the words
    said = " ".join(str(e.get("text") or "") for e in tracker["events"]
                    if e.get("event") == "user").lower()
    events = []
    for event in tracker["events"]:
        event = dict(event)
        if event.get("event") == "user":
            event["text"] = FORGOTTEN
            parse = dict(event.get("parse_data") or {})
            if parse:
                parse["text"] = FORGOTTEN
                parse["entities"] = []
                event["parse_data"] = parse
        elif event.get("event") == "slot" and (
                (identity and event.get("name") in IDENTITY_SLOTS)
                or (isinstance(event.get("value"), str) and event["value"]
                    and event["value"].lower() in said)):
            event["value"] = None
        events.append(event)
    return {**tracker, "events": events}


def purge_raw_text(engine: Engine, older_than: datetime,
                   since: datetime | None = None) -> PurgeResult:
    """Erase raw text written before ``older_than``, and the customer's words in the trackers
    of conversations last active before then (only those last active after ``since``: a
    purge that runs hourly need not read every old tracker again)."""
    with engine.begin() as conn:
        messages = conn.execute(
            update(Message).where(Message.raw_text.is_not(None),
                                  Message.created_at < older_than).values(raw_text=None)
        ).rowcount
    idle = Conversation.last_active_at < older_than
    if since is not None:
        idle = idle & (Conversation.last_active_at >= since)
    conversations = _scrub(engine, idle, identity=False)
    return PurgeResult(messages, conversations)


def forget_customer(engine: Engine, customer: str) -> ForgetResult:
    """Erase a customer's raw text and the links from their conversations to their profile:
    conversations linked to them, or whose tracker holds their email. ``customer`` is their
    external id (C1001) or email. LookupError when the shop has no such customer."""
    with engine.connect() as conn:
        row = conn.execute(select(Customer.id, Customer.external_id, Customer.email).where(
            or_(Customer.external_id == customer, Customer.email == customer.lower()))
        ).one_or_none()
    if row is None:
        raise LookupError(f"No customer with id or email {customer!r} in the shop's data.")
    mentions = cast(Conversation.tracker_state, String).contains(json.dumps(row.email)[1:-1])
    which = or_(Conversation.customer_id == row.id, mentions)
    with engine.begin() as conn:
        ids = conn.execute(select(Conversation.id).where(which)).scalars().all()
        messages = 0
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start:start + _BATCH]
            messages += conn.execute(
                update(Message).where(Message.conversation_id.in_(chunk),
                                      Message.raw_text.is_not(None)).values(raw_text=None)
            ).rowcount
            conn.execute(update(Conversation).where(Conversation.id.in_(chunk))
                         .values(customer_id=None))
    _scrub(engine, Conversation.id.in_(ids), identity=True)
    return ForgetResult(row.external_id, len(ids), messages)


def _scrub(engine: Engine, condition, *, identity: bool) -> int:
    changed = 0
    with engine.begin() as conn:
        rows = conn.execute(select(Conversation.id, Conversation.tracker_state).where(condition)
                            ).all()
        for conversation_id, tracker in rows:
            scrubbed = scrub_tracker(tracker or {}, identity=identity)
            if scrubbed != (tracker or {}):
                conn.execute(update(Conversation).where(Conversation.id == conversation_id)
                             .values(tracker_state=scrubbed))
                changed += 1
    return changed
