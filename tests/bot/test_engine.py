"""The dialogue core on the demo shop's project files: rules, forms, fallback and handoff
decisions, with the project's trained policies (no NLU, no server)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from bot.config import EscalationPolicy
from bot.dialogue.actions.responses import ResponseRenderer
from bot.dialogue.policies.ensemble import PolicyEnsemble
from bot.dialogue.processor import Conversation, MessageProcessor
from bot.dialogue.project.loader import load_project
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
def demo():
    project = load_project(REPO)
    policies = PolicyEnsemble.train(project.stories, project.domain, project.config.policies)
    return project, policies


def make_processor(demo, policy: EscalationPolicy | None = None) -> MessageProcessor:
    project, policies = demo
    renderer = ResponseRenderer(project.domain, random.Random(0))
    return MessageProcessor(project.domain, policies, None, renderer.render,
                            renderer.render_dispatched,
                            policy or EscalationPolicy(complaint_intents=("complaint",)))


@pytest.fixture(scope="module")
def processor(demo) -> MessageProcessor:
    return make_processor(demo)


def say(processor, state: ConversationState, *args, **kwargs):
    conversation = Conversation(state.id, state.events, state.channel, state.vip,
                                state.negative_streak)
    result = asyncio.run(processor.handle_message(
        conversation, args[0], parse(*args, **kwargs),
        paused=state.status in ("escalated", "agent")))
    state.negative_streak = conversation.negative_streak
    if result.handoff:
        state.status = "escalated"
    return result


def test_a_form_asks_for_each_missing_slot_in_turn(processor):
    state = ConversationState(id="e1")
    reply = say(processor, state, "order_status")
    assert reply.actions == ["order_status_form"] and reply.responses == ["utter_ask_order_id"]
    assert state.slot("requested_slot") == "order_id"
    reply = say(processor, state, "order_status", entities=[("order_id", "A10001")])
    assert reply.responses == ["utter_ask_email"]
    assert state.slot("order_id") == "A10001"


def test_an_answer_that_is_not_a_slot_value_is_asked_again(processor):
    state = ConversationState(id="e2")
    say(processor, state, "order_status")
    assert say(processor, state, "nlu_fallback", 0.2).responses == ["utter_invalid_order_id",
                                                                   "utter_ask_order_id"]
    assert state.active_loop == "order_status_form"


def test_asking_for_a_human_breaks_out_of_a_form_and_hands_over(processor):
    state = ConversationState(id="e3")
    say(processor, state, "order_status")
    reply = say(processor, state, "human_agent")
    assert reply.handoff and reply.handoff.reason == "customer_request"
    assert state.active_loop is None and state.status == "escalated"


def test_second_fallback_in_a_row_offers_a_human_and_yes_hands_over(processor):
    state = ConversationState(id="e4")
    assert say(processor, state, "nlu_fallback", 0.1).responses == ["utter_default"]
    assert say(processor, state, "nlu_fallback", 0.1).responses == ["utter_offer_handoff"]
    reply = say(processor, state, "affirm")
    assert reply.handoff and reply.handoff.reason == "repeated_fallback"


def test_declining_the_offer_of_a_person_keeps_the_bot(processor):
    state = ConversationState(id="e4b")
    say(processor, state, "nlu_fallback", 0.1)
    say(processor, state, "nlu_fallback", 0.1)
    reply = say(processor, state, "deny")
    assert reply.handoff is None and reply.responses == ["utter_anything_else"]


def test_a_fallback_between_understood_turns_does_not_offer_a_human(processor):
    state = ConversationState(id="e5")
    say(processor, state, "nlu_fallback", 0.1)
    say(processor, state, "greet")
    assert say(processor, state, "nlu_fallback", 0.1).responses == ["utter_default"]


def test_two_clearly_angry_turns_hand_over_with_negative_sentiment(processor):
    state = ConversationState(id="e6")
    assert say(processor, state, "refund_status", negative=0.95).handoff is None
    reply = say(processor, state, "refund_status", negative=0.97)
    assert reply.handoff and reply.handoff.reason == "negative_sentiment"
    assert reply.handoff.priority > 1


def test_angry_sounding_messages_the_nlu_cannot_read_get_the_fallback_not_a_handoff(processor):
    state = ConversationState(id="e6b")
    assert say(processor, state, "nlu_fallback", 0.3, negative=0.91).responses == \
        ["utter_default"]
    reply = say(processor, state, "nlu_fallback", 0.3, negative=0.93)
    assert reply.handoff is None and reply.responses == ["utter_offer_handoff"]


def test_a_fallback_turn_neither_grows_nor_breaks_the_angry_streak(processor):
    state = ConversationState(id="e6c")
    assert say(processor, state, "refund_status", negative=0.95).handoff is None
    assert say(processor, state, "nlu_fallback", 0.3, negative=0.95).handoff is None
    reply = say(processor, state, "refund_status", negative=0.96)
    assert reply.handoff and reply.handoff.reason == "negative_sentiment"


def test_a_complaint_is_handed_over(processor):
    reply = say(processor, ConversationState(id="e7"), "complaint")
    assert reply.responses[0] == "utter_complaint"
    assert reply.handoff and reply.handoff.reason == "complaint"


def test_a_policy_can_keep_complaints_with_the_bot(demo):
    keep = make_processor(demo, EscalationPolicy(complaint_intents=("complaint",),
                                                 escalate_complaints=False))
    reply = say(keep, ConversationState(id="e7b"), "complaint")
    assert reply.responses == ["utter_complaint"] and reply.handoff is None


def test_the_bot_is_silent_while_a_person_holds_the_conversation(processor):
    state = ConversationState(id="e8", status="agent")
    reply = say(processor, state, "greet")
    assert reply.messages == [] and state.events[-1]["event"] == "user"


def test_state_round_trips_through_a_dict(processor):
    state = ConversationState(id="e9")
    say(processor, state, "order_status", entities=[("order_id", "A10001")])
    again = ConversationState.from_dict(state.to_dict())
    assert again == state and again.slot("order_id") == "A10001"


def test_a_bare_slot_value_answers_the_form_even_when_the_intent_is_unclear(processor):
    state = ConversationState(id="e10")
    say(processor, state, "order_status")
    reply = say(processor, state, "nlu_fallback", 0.2, entities=[("order_id", "A10001")])
    assert reply.responses == ["utter_ask_email"]


def test_a_turn_on_a_working_copy_leaves_the_original_untouched(processor):
    state = ConversationState(id="e11")
    say(processor, state, "greet")
    before = state.to_dict()
    before_events = list(state.events)
    working = state.working_copy()
    say(processor, working, "order_status", entities=[("order_id", "A10001")])
    assert state.to_dict() == before and state.events == before_events
    assert working.slot("order_id") == "A10001" and state.slot("order_id") is None


def test_every_turn_is_recorded_as_rasa_events(processor):
    state = ConversationState(id="e12")
    say(processor, state, "greet")
    kinds = [(e["event"], e.get("name")) for e in state.events]
    assert kinds[:3] == [("action", "action_session_start"), ("session_started", None),
                         ("action", "action_listen")]
    assert kinds[3:] == [("user", None), ("user_featurization", None), ("action", "utter_greet"),
                         ("bot", None), ("action", "action_listen")]
    assert state.events[5]["policy"] == "RulePolicy"


def test_bot_replies_are_logged_without_the_customers_personal_data():
    from bot.dialogue.conversations import redact_bot_text

    logged = redact_bot_text("We'll email a prepaid return label to yuki.lewis@example.com. "
                             "Order A12934 ships to 12 Baker Street.")
    assert "yuki.lewis@example.com" not in logged and "[EMAIL]" in logged
    assert "A12934" in logged  # order numbers are not personal data


def start_cancelling(processor, state: ConversationState):
    say(processor, state, "cancel_order", entities=[("order_id", "A12999")])
    return say(processor, state, "cancel_order", entities=[("email", "ann@example.com")])


def test_cancelling_an_order_asks_for_confirmation_first(processor):
    state = ConversationState(id="c1")
    reply = start_cancelling(processor, state)
    assert reply.responses == ["utter_ask_cancel_confirmed"]
    assert "action_cancel_order" not in reply.actions
    assert "Cancel order A12999?" in reply.messages[0]["text"]
    assert [b["payload"] for b in reply.messages[0]["buttons"]] == ["/affirm", "/deny"]


def test_yes_to_the_confirmation_cancels_the_order(processor):
    state = ConversationState(id="c2")
    start_cancelling(processor, state)
    reply = say(processor, state, "affirm")
    assert "action_cancel_order" in reply.actions
    assert state.active_loop is None


def test_no_to_the_confirmation_ends_the_form_with_a_no(processor):
    state = ConversationState(id="c3")
    start_cancelling(processor, state)
    reply = say(processor, state, "deny")
    # action_cancel_order (run over HTTP in test_conversations) keeps the order on False
    assert reply.actions == ["cancel_order_form", "action_cancel_order"]
    assert state.active_loop is None and state.slot("cancel_confirmed") is False


def test_a_complaint_gets_an_apology_and_one_handoff_message(processor):
    reply = say(processor, ConversationState(id="e7c"), "complaint")
    assert reply.responses == ["utter_complaint", "utter_handoff_complaint"]


def test_a_message_between_two_close_intents_asks_which_with_a_button_for_each(processor):
    state = ConversationState(id="e-which")
    conversation = Conversation(state.id, state.events, state.channel, state.vip, 0)
    ambiguous = {**parse("nlu_fallback", 0.45), "text": "my order is wrong",
                 "ambiguous_intents": ["order_status", "complaint"]}
    result = asyncio.run(processor.handle_message(conversation, "my order is wrong", ambiguous,
                                                  paused=False))
    assert result.handoff is None
    [message] = [e for e in conversation.events if e.get("event") == "bot"][-1:]
    assert message["text"] == "Did you mean order status or complaint?"
    assert [b["payload"] for b in message["data"]["buttons"]] == [
        "/order_status", "/complaint", "/nlu_fallback"]
    # the customer's pick is a button payload: the bot goes on with that intent
    picked = say(processor, state, "order_status")
    assert picked.responses and picked.responses != ["utter_default"]


def test_the_pending_question_is_the_offer_of_a_person_only_while_it_is_the_latest_action():
    state = ConversationState(id="pq")
    assert state.pending_question is None
    state.add_event({"event": "action", "name": "action_offer_handoff"})
    state.add_event({"event": "action", "name": "action_listen"})
    assert state.pending_question == "offer_human"  # listening for the answer
    assert state.to_dict()["pending_question"] == "offer_human"
    state.add_event({"event": "user", "text": "no thanks"})
    state.add_event({"event": "action", "name": "utter_goodbye"})
    assert state.pending_question is None
