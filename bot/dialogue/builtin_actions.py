"""Rasa's default actions and Carebot's documented extensions (docs/rasa-project.md).

Each built-in returns the events it adds; bot messages are BotUttered events. Where a
built-in utters a response the project lacks, Carebot's own default text is used.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot.dialogue import events as ev
from bot.dialogue import rasa_events as re_
from bot.dialogue.project.model import (
    ACTION_DEFAULT_ASK_AFFIRMATION,
    ACTION_DEFAULT_FALLBACK,
    ACTION_FALLBACK_OFFER_HANDOFF,
    ACTION_HANDOFF,
    ACTION_LISTEN,
    ACTION_OFFER_HANDOFF,
    CAREBOT_ACTIONS,
    REQUESTED_SLOT,
    Domain,
)
from nlp.types import FALLBACK_INTENT

DEFAULT_RESPONSES: dict[str, dict] = {
    "utter_default": {"text": "Sorry, I didn't get that. Could you say it another way?"},
    "utter_ask_rephrase": {"text": "Sorry, I'm not sure I understood. Could you rephrase it?"},
    "utter_ask_which_intent": {"text": "Did you mean {first} or {second}?"},
    "utter_handoff": {"text": "I'm handing you over to a person from our team. You're number "
                              "{queue_position} in the queue; the expected wait is "
                              "{expected_wait}."},
    # bot/dialogue/waiting.py: nobody online, the email kept, a message while waiting
    "utter_handoff_offline": {"text": "A person from our team will answer, but nobody is "
                                      "online right now. Leave your email address here and "
                                      "we'll reply by email; your conversation stays in the "
                                      "queue."},
    "utter_handoff_after_hours": {"text": "Our team is away right now and back on {opens_at}. "
                                          "Leave your email address here and we'll reply by "
                                          "email; your conversation stays in the queue."},
    "utter_handoff_email_saved": {"text": "Thanks! We'll reply to {contact_email} as soon as "
                                          "someone from our team is back. You can also keep "
                                          "this chat open."},
    "utter_handoff_waiting": {"text": "Thanks, I've added that to your conversation; a person "
                                      "will see it. You're number {queue_position} in the "
                                      "queue; the expected wait is {expected_wait}."},
    # bot/console/auto_close.py: an escalation left longer than escalation.auto_close_after
    "utter_handoff_closed": {"text": "Sorry, nobody from our team could get back to you in "
                                     "time, so we've closed this conversation for now. Write "
                                     "here any time and we'll help you again."},
    "utter_action_failed": {"text": "Sorry, I couldn't do that just now. Please try again in a "
                                    "moment."},
    "utter_offer_handoff": {"text": "I'm having trouble understanding. Would you like to talk "
                                    "to a person?",
                            "buttons": [{"title": "Yes, a person please", "payload": "/affirm"},
                                        {"title": "No, I'll try again", "payload": "/deny"}]},
}


# The built-in utter_handoff where there is no queue to read (carebot shell, carebot test).
HANDOFF_WITHOUT_QUEUE = {"text": "I'm handing you over to a person from our team. They'll be "
                                 "with you shortly."}
# The variables of utter_handoff* when the queue cannot be read.
UNKNOWN_QUEUE = {"queue_position": "—", "expected_wait": "a few minutes", "agents_online": "",
                 "contact_email": "", "opens_at": ""}
_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}")
# Carebot's own slots (bot/dialogue/conversations.py fills them for a verified customer)
CONTACT_SLOT = "email"


def contact_email(slots: dict) -> str | None:
    """The address the conversation already knows (a verified customer's, or one typed for an
    order lookup), if it looks like one."""
    value = slots.get(CONTACT_SLOT)
    return value.strip() if isinstance(value, str) and _EMAIL.fullmatch(value.strip()) else None


def email_in(text: str) -> str | None:
    """The first email address written in ``text``."""
    match = _EMAIL.search(text or "")
    return match.group(0).rstrip(".,;:!?)") if match else None


@dataclass(frozen=True)
class HandoffRequest:
    reason: str  # customer_request | complaint | repeated_fallback | negative_sentiment
    priority: int


REASON_PRIORITY = {"negative_sentiment": 3, "complaint": 2, "customer_request": 1,
                   "repeated_fallback": 1}


def handoff_reason(events: list[dict], complaint_intents: tuple[str, ...]) -> str:
    """Why the conversation goes to a person, read from the conversation itself."""
    view = ev.view(events)
    if view.latest_intent in complaint_intents:
        return "complaint"
    if view.latest_action_name == ACTION_OFFER_HANDOFF or _offered_handoff_last(events):
        return "repeated_fallback"
    return "customer_request"


def _offered_handoff_last(events: list[dict]) -> bool:
    """Was the latest thing the bot did before this message the offer of a person?"""
    seen_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return False
            seen_user = True
        elif kind == "action" and seen_user and event.get("name") != ACTION_LISTEN:
            return event.get("name") == ACTION_OFFER_HANDOFF
    return False


def misunderstandings_in_a_row(events: list[dict]) -> int:
    """How many of the latest user messages in a row were not understood (nlu_fallback)."""
    count = 0
    for event in reversed(events):
        if event.get("event") == "user":
            if ev.user_intent(event) != FALLBACK_INTENT:
                break
            count += 1
        elif event.get("event") in ("restart", "session_started", "resume"):
            break
    return count


def deactivate_loop() -> list[dict]:
    return [re_.active_loop(None), re_.slot(REQUESTED_SLOT, None)]


def session_start_events(events: list[dict], domain: Domain, carry_over: bool) -> list[dict]:
    done: list[dict] = [{"event": "session_started"}]
    if carry_over:
        previous = ev.view(events, domain).slots
        for name, value in previous.items():
            initial = domain.slots[name].initial_value if name in domain.slots else None
            if name != REQUESTED_SLOT and value != initial:
                done.append(re_.slot(name, value))
    done.append(re_.listen())
    return done


def session_expired(events: list[dict], expiration_minutes: float, now: float | None = None) -> bool:
    """A new session starts when there is none yet or the customer was quiet too long."""
    if not any(e.get("event") == "session_started" for e in events):
        return True
    if expiration_minutes <= 0:
        return False
    last_user = next((e for e in reversed(events) if e.get("event") == "user"), None)
    if last_user is None or not last_user.get("timestamp"):
        return False
    now = time.time() if now is None else now
    return now - float(last_user["timestamp"]) > expiration_minutes * 60


def affirmation_message(events: list[dict]) -> dict:
    """Rasa's ``action_default_ask_affirmation``: "Did you mean 'X'?" with Yes / No."""
    latest = ev.view(events).latest_message or {}
    parse = latest.get("parse_data") or {}
    intent = ev.user_intent(latest)
    ranking = parse.get("intent_ranking") or []
    if intent == FALLBACK_INTENT and len(ranking) > 1:
        intent = ranking[1].get("name")
    return {"text": f"Did you mean '{intent}'?",
            "buttons": [{"title": "Yes", "payload": f"/{intent}"},
                        {"title": "No", "payload": "/out_of_scope"}]}


WHICH_INTENT_RESPONSE = "utter_ask_which_intent"  # a project's own text: {first} / {second}


def intent_words(intent: str) -> str:
    """An intent's name as words for a customer ("order_status" -> "order status")."""
    return intent.replace("_", " ").replace("-", " ").strip()


def close_intents(events: list[dict]) -> tuple[str, str] | None:
    """The two intents the latest message was ambiguous between (the FallbackClassifier's
    ``ambiguity_threshold``), else None."""
    latest = ev.view(events).latest_message or {}
    pair = (latest.get("parse_data") or {}).get("ambiguous_intents")
    if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
        return pair[0], pair[1]
    return None


def which_intent_buttons(pair: tuple[str, str]) -> list[dict]:
    """One button per close intent (its payload triggers it, as Rasa's button payloads do)
    and one for neither."""
    return [*({"title": intent_words(i).capitalize(), "payload": f"/{i}"} for i in pair),
            {"title": "Something else", "payload": f"/{FALLBACK_INTENT}"}]


def two_stage_fallback_step(events: list[dict]) -> str:
    """What Rasa's two-stage fallback loop does next: ask_affirmation, ask_rephrase,
    give_up (action_default_fallback) or done (the user made themselves understood)."""
    view = ev.view(events)
    intent = view.latest_intent
    asked = [e.get("name") for e in events[-40:] if e.get("event") == "action"]
    if view.active_loop_name is None:
        return "ask_affirmation"
    if intent not in (FALLBACK_INTENT, "out_of_scope"):
        return "done"
    if asked and asked[-1] == ACTION_DEFAULT_ASK_AFFIRMATION and intent == "out_of_scope":
        return "ask_rephrase"
    if "action_default_ask_rephrase" in asked[-3:]:
        return "give_up"
    return "ask_affirmation" if intent == FALLBACK_INTENT else "give_up"


__all__ = [
    "ACTION_DEFAULT_FALLBACK", "ACTION_FALLBACK_OFFER_HANDOFF", "ACTION_HANDOFF",
    "ACTION_OFFER_HANDOFF", "CAREBOT_ACTIONS", "DEFAULT_RESPONSES", "HandoffRequest",
    "REASON_PRIORITY", "UNKNOWN_QUEUE", "affirmation_message", "contact_email", "email_in", "deactivate_loop", "handoff_reason",
    "misunderstandings_in_a_row", "session_expired", "session_start_events",
    "two_stage_fallback_step", "WHICH_INTENT_RESPONSE", "close_intents", "intent_words",
    "which_intent_buttons",
]
