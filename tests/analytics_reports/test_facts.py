"""The per-conversation rollups reports read: kept current by the conversation log, and the
same whether built incrementally or rebuilt from scratch."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from analytics.store.records import ConversationRecord, MessageRecord
from analytics.store.rollups import rebuild_facts, refresh_stale_facts, summarise
from analytics.store.schema import ConversationFacts, ConversationIntentFacts
from analytics.store.writer import ConversationLog

T0 = datetime(2026, 11, 5, 10, 0)


def facts_of(engine, conversation_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(ConversationFacts.__table__).where(
            ConversationFacts.conversation_id == conversation_id)).one()
    return dict(row._mapping)


def write_conversation(log: ConversationLog, cid: str, turns: list[tuple],
                       first_minute: int = 0) -> None:
    log.write(ConversationRecord(id=cid, channel="websocket", started_at=T0, turns=len(turns)))
    for i, (intent, label, score) in enumerate(turns, start=first_minute):
        at = T0 + timedelta(minutes=i)
        log.write(MessageRecord(conversation_id=cid, sender="user", text=f"message {i}",
                                intent=intent, sentiment_label=label, sentiment_score=score,
                                created_at=at))
        log.write(MessageRecord(conversation_id=cid, sender="bot", text="ok",
                                created_at=at + timedelta(seconds=1)))


def test_the_conversation_log_keeps_the_rollups_current(empty_engine):
    with ConversationLog(empty_engine) as log:
        write_conversation(log, "w1", [("greet", "neutral", 0.1),
                                       ("refund_status", "negative", -0.6)])
        assert log.flush(10)
        assert facts_of(empty_engine, "w1")["user_messages"] == 2
        write_conversation(log, "w1", [("thank_you", "positive", 0.7)], first_minute=2)
        assert log.flush(10)
    facts = facts_of(empty_engine, "w1")
    assert (facts["user_messages"], facts["bot_messages"]) == (3, 3)
    assert facts["primary_intent"] == "refund_status"  # greetings are not a reason to contact
    assert (facts["sentiment_first"], facts["sentiment_last"], facts["sentiment_min"]) == (
        0.1, 0.7, -0.6)
    assert facts["negative_messages"] == 1


def test_rebuilding_gives_the_rollups_the_log_kept(empty_engine):
    with ConversationLog(empty_engine) as log:
        write_conversation(log, "r1", [("order_status", "neutral", 0.0),
                                       ("nlu_fallback", "negative", -0.4)])
    before = facts_of(empty_engine, "r1")
    with empty_engine.connect() as conn:
        intents_before = conn.execute(select(ConversationIntentFacts.__table__)).all()
    with empty_engine.begin() as conn:
        conn.execute(delete(ConversationIntentFacts))
        conn.execute(delete(ConversationFacts))
    assert rebuild_facts(empty_engine, progress=False) == 1
    after = facts_of(empty_engine, "r1")
    before.pop("updated_at"), after.pop("updated_at")
    assert after == before
    with empty_engine.connect() as conn:
        assert sorted(conn.execute(select(ConversationIntentFacts.__table__)).all()) == sorted(
            intents_before)


def test_conversations_without_rollups_are_found_and_built(empty_engine):
    with ConversationLog(empty_engine) as log:
        write_conversation(log, "s1", [("return_item", "neutral", 0.0)])
    with empty_engine.begin() as conn:
        conn.execute(delete(ConversationIntentFacts))
        conn.execute(delete(ConversationFacts))
    assert refresh_stale_facts(empty_engine, progress=False) == 1
    assert refresh_stale_facts(empty_engine, progress=False) == 0
    assert facts_of(empty_engine, "s1")["primary_intent"] == "return_item"


def rows(*turns):
    return [("user", intent, None, None, T0) for intent in turns]


def test_a_last_message_the_bot_did_not_understand_leaves_it_unresolved():
    assert summarise("x", rows("order_status", "nlu_fallback")).ended_unresolved


def test_a_form_still_asking_for_a_detail_leaves_it_unresolved():
    assert summarise("x", rows("order_status"), {"active_form": "order_form"}).ended_unresolved


def test_a_customer_who_never_said_what_they_needed_left_it_unresolved():
    summary = summarise("x", rows("greet"))
    assert summary.ended_unresolved and summary.primary_intent == "greet"


def test_an_answered_question_is_resolved():
    assert not summarise("x", rows("greet", "shipping_info", "thank_you")).ended_unresolved
