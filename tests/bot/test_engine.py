"""The dialogue engine on its own: rules, forms, fallback and escalation decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialogue.domain import load_bot
from bot.dialogue.engine import DialogueEngine
from bot.dialogue.state import ConversationState

REPO = Path(__file__).resolve().parents[2]


def parse(intent: str, confidence: float = 0.95, entities=(), negative: float = 0.05) -> dict:
    return {
        "text": intent, "intent": {"name": intent, "confidence": confidence},
        "entities": [{"entity": e, "value": v} for e, v in entities],
        "sentiment": {"label": "negative" if negative > 0.5 else "neutral", "score": -negative,
                      "scores": {"negative": negative, "neutral": 1 - negative, "positive": 0}},
    }


@pytest.fixture(scope="module")
def engine() -> DialogueEngine:
    return DialogueEngine(load_bot(REPO / "domain.yml", REPO / "data" / "rules.yml"))


def say(engine, state, *args, **kwargs):
    import asyncio

    return asyncio.run(engine.respond(state, parse(*args, **kwargs)))


def test_a_form_asks_for_each_missing_slot_in_turn(engine):
    state = ConversationState(id="e1")
    assert say(engine, state, "order_status").actions == ["order_status_form", "utter_ask_order_id"]
    assert state.requested_slot == "order_id"
    reply = say(engine, state, "order_status", entities=[("order_id", "A10001")])
    assert reply.actions == ["utter_ask_email"]
    assert state.slots["order_id"] == "A10001"


def test_an_answer_that_is_not_a_slot_value_is_asked_again(engine):
    state = ConversationState(id="e2")
    say(engine, state, "order_status")
    assert say(engine, state, "nlu_fallback", 0.2).actions == ["utter_invalid_order_id"]
    assert state.active_form == "order_status_form"


def test_asking_for_a_human_breaks_out_of_a_form_and_escalates(engine):
    state = ConversationState(id="e3")
    say(engine, state, "order_status")
    reply = say(engine, state, "human_agent")
    assert reply.escalation and reply.escalation.reason == "customer_request"
    assert state.active_form is None and state.status == "escalated"


def test_second_fallback_in_a_row_offers_a_human_and_yes_escalates(engine):
    state = ConversationState(id="e4")
    assert say(engine, state, "nlu_fallback", 0.1).actions == ["utter_default"]
    assert say(engine, state, "nlu_fallback", 0.1).actions == ["utter_offer_human"]
    reply = say(engine, state, "affirm")
    assert reply.escalation and reply.escalation.reason == "repeated_fallback"


def test_a_fallback_between_understood_turns_does_not_offer_a_human(engine):
    state = ConversationState(id="e5")
    say(engine, state, "nlu_fallback", 0.1)
    say(engine, state, "greet")
    assert say(engine, state, "nlu_fallback", 0.1).actions == ["utter_default"]


def test_two_clearly_angry_turns_escalate_with_negative_sentiment(engine):
    state = ConversationState(id="e6")
    assert say(engine, state, "refund_status", negative=0.95).escalation is None
    reply = say(engine, state, "refund_status", negative=0.97)
    assert reply.escalation and reply.escalation.reason == "negative_sentiment"
    assert reply.escalation.priority > 1


def test_a_complaint_is_escalated(engine):
    reply = say(engine, ConversationState(id="e7"), "complaint")
    assert reply.actions[0] == "utter_complaint"
    assert reply.escalation and reply.escalation.reason == "complaint"


def test_the_bot_is_silent_while_escalated(engine):
    state = ConversationState(id="e8", status="agent")
    assert say(engine, state, "greet").messages == []


def test_state_round_trips_through_a_dict(engine):
    state = ConversationState(id="e9")
    say(engine, state, "order_status", entities=[("order_id", "A10001")])
    again = ConversationState.from_dict(state.to_dict())
    assert again == state


def test_a_bare_slot_value_answers_the_form_even_when_the_intent_is_unclear(engine):
    state = ConversationState(id="e10")
    say(engine, state, "order_status")
    reply = say(engine, state, "nlu_fallback", 0.2, entities=[("order_id", "A10001")])
    assert reply.actions == ["utter_ask_email"]


def test_a_turn_on_a_working_copy_leaves_the_original_untouched(engine):
    state = ConversationState(id="e11")
    say(engine, state, "greet")
    before = state.to_dict()
    before_events = list(state.events)
    working = state.working_copy()
    say(engine, working, "order_status", entities=[("order_id", "A10001")])
    assert state.to_dict() == before and state.events == before_events
    assert working.slots["order_id"] == "A10001" and state.slots == {}


def test_bot_replies_are_logged_without_the_customers_personal_data():
    from bot.dialogue.conversations import redact_bot_text

    logged = redact_bot_text("We'll email a prepaid return label to yuki.lewis@example.com. "
                             "Order A12934 ships to 12 Baker Street.")
    assert "yuki.lewis@example.com" not in logged and "[EMAIL]" in logged
    assert "A12934" in logged  # order numbers are not personal data
