"""Small factories for Rasa-format event dicts, and the tracker as Rasa sends it to actions.

Events are plain dicts in Rasa's JSON shape, as rasa-sdk's ``rasa_sdk.events`` builds them;
these helpers only save the runtime from spelling them out.
"""

from __future__ import annotations

import time
from typing import Any

from bot.dialogue import events as ev
from bot.dialogue.project.model import ACTION_LISTEN, REQUESTED_SLOT, Domain

OUTPUT_KEYS = ("buttons", "image", "custom", "attachment", "elements", "quick_replies")


def action(name: str, policy: str | None = None, confidence: float | None = None,
           hide_rule_turn: bool = False) -> dict:
    event: dict[str, Any] = {"event": "action", "name": name}
    if hide_rule_turn:
        event["hide_rule_turn"] = True
    if policy is not None:
        event["policy"] = policy
    if confidence is not None:
        event["confidence"] = round(float(confidence), 4)
    return event


def listen() -> dict:
    return action(ACTION_LISTEN)


def slot(name: str, value: Any) -> dict:
    return {"event": "slot", "name": name, "value": value}


def active_loop(name: str | None) -> dict:
    return {"event": "active_loop", "name": name}


def rejected(name: str, policy: str | None = None, confidence: float | None = None) -> dict:
    event: dict[str, Any] = {"event": "action_execution_rejected", "name": name}
    if policy is not None:
        event["policy"] = policy
    if confidence is not None:
        event["confidence"] = round(float(confidence), 4)
    return event


def bot(message: dict, utter_action: str | None = None) -> dict:
    """A BotUttered event for one output message ({"text", "buttons"?, ...})."""
    data = {k: message.get(k) for k in OUTPUT_KEYS}
    metadata = {"utter_action": utter_action} if utter_action else {}
    return {"event": "bot", "text": message.get("text"), "data": data, "metadata": metadata}


def bot_message(event: dict) -> dict:
    """The channel message a BotUttered event carries."""
    message = {"text": event["text"]} if event.get("text") else {}
    for key, value in (event.get("data") or {}).items():
        if value:
            message[key] = value
    return message


def user(text: str, parse_data: dict, channel: str | None = None,
         message_id: str | None = None) -> dict:
    event = {"event": "user", "text": text, "parse_data": parse_data,
             "input_channel": channel}
    if message_id:
        event["message_id"] = message_id
    return event


def stamp(event: dict, now: float | None = None) -> dict:
    # rasa-sdk's events carry "timestamp": None; Rasa stamps them when they are applied
    if event.get("timestamp") is None:
        event["timestamp"] = time.time() if now is None else now
    return event


def tracker_for_actions(sender_id: str, events: list[dict], domain: Domain, *,
                        paused: bool = False) -> dict:
    """The tracker in the JSON shape Rasa sends an action server (``rasa_sdk.Tracker``)."""
    view = ev.view(events, domain)
    slots = {name: None for name in domain.slots}
    slots[REQUESTED_SLOT] = None
    slots.update(view.slots)
    latest = view.latest_message or {}
    parse = dict(latest.get("parse_data") or {})
    latest_message = {"text": latest.get("text"), "intent": parse.get("intent") or {},
                      "entities": parse.get("entities") or [],
                      "intent_ranking": parse.get("intent_ranking") or []}
    for key, value in parse.items():
        latest_message.setdefault(key, value)
    loop = view.loop
    active = ({"name": loop.name, "validate": not loop.is_interrupted, "rejected": loop.rejected,
               "trigger_message": loop.trigger_message or {}} if view.active_loop_name else {})
    stamps = [e.get("timestamp") for e in events if e.get("timestamp")]
    return {
        "sender_id": sender_id,
        "slots": slots,
        "latest_message": latest_message,
        "latest_event_time": stamps[-1] if stamps else None,
        "followup_action": view.followup_action,
        "paused": paused,
        "events": list(events),
        "latest_input_channel": latest.get("input_channel"),
        "active_loop": active,
        "latest_action": view.latest_action,
        "latest_action_name": view.latest_action_name,
    }
