"""A small, fully known set of conversations; the tests compute every metric from it by hand.

| id | started (UTC)     | channel   | customer     | how it ended                      | CSAT |
|----|-------------------|-----------|--------------|-----------------------------------|------|
| c1 | Mon 11-02 09:00   | websocket | C1001 loyal  | contained (greet, order, thanks)  | 5    |
| c2 | Mon 11-02 10:00   | websocket | C1002 new    | escalated: complaint, resolved    | 2    |
| c3 | Tue 11-03 15:00   | rest      | anonymous    | abandoned after a fallback        | -    |
| c4 | Mon 11-09 08:00   | websocket | C1001 loyal  | escalated: negative, unresolved   | 1    |
| c5 | Tue 11-10 11:55   | websocket | anonymous    | in progress (NOW is 12:00)        | -    |
| c6 | Mon 11-09 20:00   | rest      | C1002 new    | contained (shipping, goodbye)     | 4    |
| c7 | Tue 11-03 16:00   | rest      | anonymous    | no customer message: not counted  | -    |
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert

from analytics.store.schema import Conversation, Customer, Escalation, Message

NOW = datetime(2026, 11, 10, 12, 0)
T = datetime.fromisoformat

CUSTOMERS = [
    {"id": 1, "external_id": "C1001", "email": "ada@example.com", "name": "Ada Smith",
     "created_at": T("2025-01-01T00:00"), "vip": False, "segment": "loyal"},
    {"id": 2, "external_id": "C1002", "email": "bo@example.com", "name": "Bo Chen",
     "created_at": T("2026-10-01T00:00"), "vip": False, "segment": "new"},
]

# id, started, channel, customer id, escalated, ended, csat, tracker state at the end,
# [(sender, intent, label, score, text)]
CONVERSATIONS = [
    ("c1", "2026-11-02T09:00", "websocket", 1, False, True, 5, {}, [
        ("user", "greet", "neutral", 0.0, "hello"),
        ("bot", None, None, None, "Hi! How can I help?"),
        ("user", "order_status", "neutral", 0.1, "where is order A10001"),
        ("bot", None, None, None, "It is on its way."),
        ("user", "thank_you", "positive", 0.8, "great, thanks"),
    ]),
    ("c2", "2026-11-02T10:00", "websocket", 2, True, True, 2, {}, [
        ("user", "complaint", "negative", -0.9, "this is the worst service ever"),
        ("bot", None, None, None, "I'm sorry. Let me get a person."),
        ("user", "human_agent", "negative", -0.7, "just give me a human"),
        ("agent", None, None, None, "Hi, I'm Sam; let me look into it."),
    ]),
    ("c3", "2026-11-03T15:00", "rest", None, False, False, None,
     {"active_form": "order_form"}, [
        ("user", "order_status", "neutral", 0.0, "where is my parcel"),
        ("bot", None, None, None, "What is your order number?"),
        ("user", "nlu_fallback", "negative", -0.5, "ugh whatever"),
        ("bot", None, None, None, "Sorry, I didn't get that."),
    ]),
    ("c4", "2026-11-09T08:00", "websocket", 1, True, False, 1, {}, [
        ("user", "return_item", "negative", -0.2, "I want to return the shoes"),
        ("bot", None, None, None, "Which order?"),
        ("user", "return_item", "negative", -0.6, "the shoes I sent back three weeks ago!!"),
        ("bot", None, None, None, "Let me get a person."),
    ]),
    ("c5", "2026-11-10T11:55", "websocket", None, False, False, None, {}, [
        ("user", "greet", "positive", 0.3, "hi there"),
        ("bot", None, None, None, "Hi! How can I help?"),
    ]),
    ("c6", "2026-11-09T20:00", "rest", 2, False, False, 4, {}, [
        ("user", "shipping_info", "positive", 0.5, "how long does shipping take?"),
        ("bot", None, None, None, "Three to five days."),
        ("user", "goodbye", "positive", 0.6, "perfect, bye"),
    ]),
    ("c7", "2026-11-03T16:00", "rest", None, False, False, None, {}, [
        ("bot", None, None, None, "Hi! How can I help?"),
    ]),
]

ESCALATIONS = [
    {"id": 1, "conversation_id": "c2", "reason": "complaint", "priority": 2, "status": "resolved",
     "created_at": T("2026-11-02T10:01"), "claimed_at": T("2026-11-02T10:03"),
     "first_response_at": T("2026-11-02T10:04"), "resolved_at": T("2026-11-02T10:14")},
    {"id": 2, "conversation_id": "c4", "reason": "negative_sentiment", "priority": 1,
     "status": "claimed", "created_at": T("2026-11-09T08:05"),
     "claimed_at": T("2026-11-09T08:15"), "first_response_at": T("2026-11-09T08:20"),
     "resolved_at": None},
]


def load_known_data(engine: Engine) -> None:
    """Insert the table above straight into the tables (no bot, no writer)."""
    conversations, messages = [], []
    for cid, started, channel, customer, escalated, ended, csat, state, msgs in CONVERSATIONS:
        start = T(started)
        last = start + timedelta(minutes=len(msgs))
        conversations.append({
            "id": cid, "channel": channel, "customer_id": customer,
            "status": "escalated" if escalated else "bot", "started_at": start,
            "last_active_at": last, "ended_at": last if ended else None,
            "turns": sum(m[0] == "user" for m in msgs),
            "fallback_count": sum(m[1] == "nlu_fallback" for m in msgs),
            "escalated": escalated, "assigned_agent_id": None, "csat_rating": csat,
            "csat_comment": None, "tracker_state": state,
        })
        for i, (sender, intent, label, score, text) in enumerate(msgs):
            messages.append({
                "id": str(uuid.UUID(int=len(messages) + 1)), "conversation_id": cid,
                "sender": sender, "text": text, "intent": intent,
                "confidence": 0.9 if intent else None, "entities": [],
                "sentiment_label": label, "sentiment_score": score, "data": {},
                "created_at": start + timedelta(minutes=i),
            })
    with engine.begin() as conn:
        conn.execute(insert(Customer), CUSTOMERS)
        conn.execute(insert(Conversation), conversations)
        conn.execute(insert(Message), messages)
        conn.execute(insert(Escalation), ESCALATIONS)
