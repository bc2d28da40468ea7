"""The store reads conversations back and keeps the human-agent queue."""

from __future__ import annotations

import pytest

from analytics.store.escalations import unresolved_escalations
from analytics.store.reads import ConversationStore
from analytics.store.records import ConversationRecord, MessageRecord
from analytics.store.writer import ConversationLog


@pytest.fixture
def store(engine) -> ConversationStore:
    return ConversationStore(engine, bcrypt_rounds=4)


def test_an_unknown_conversation_loads_as_none(store):
    assert store.load_conversation("never-seen") is None


def test_a_logged_conversation_loads_with_its_state(engine, store):
    record = ConversationRecord(id="web-1", channel="socketio", turns=4, tracker_state={"a": [1]})
    with ConversationLog(engine) as log:
        log.write(record)
    assert store.load_conversation("web-1") == record


def test_messages_load_oldest_first_with_every_field(engine, store):
    first = MessageRecord(
        conversation_id="web-2",
        sender="user",
        text="where is my order?",
        intent="order_status",
        confidence=0.93,
        entities=[{"entity": "order_id", "value": "A10001"}],
        sentiment_label="neutral",
        sentiment_score=-0.1,
    )
    second = MessageRecord(conversation_id="web-2", sender="bot", text="Let me check.")
    with ConversationLog(engine) as log:
        log.write(second)
        log.write(first)  # written later, created earlier
    assert store.messages("web-2") == [first, second]


def test_an_escalation_can_be_created_before_the_conversation_is_logged(engine, store):
    escalation_id = store.create_escalation("web-3", reason="human_agent", priority=2)
    assert [e.escalation_id for e in unresolved_escalations(engine)] == [escalation_id]
    assert store.load_conversation("web-3") is not None


def test_a_logged_conversation_state_replaces_the_escalation_placeholder(engine, store):
    store.create_escalation("web-7", reason="complaint", priority=3)
    with ConversationLog(engine) as log:
        log.write(ConversationRecord(id="web-7", status="escalated", escalated=True, turns=6))
    state = store.load_conversation("web-7")
    assert (state.status, state.escalated, state.turns) == ("escalated", True, 6)
