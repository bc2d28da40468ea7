"""Reading a conversation held as Rasa-format event dicts, as Rasa's tracker reads it.

A conversation is a list of events in Rasa's JSON shape (``{"event": "user", ...}``,
``{"event": "action", "name": ...}``, ``{"event": "slot", ...}``...). This module replays
them with the semantics of ``rasa.shared.core.trackers.DialogueStateTracker``:

- :func:`applied_events` drops what a restart, a session start, a rewind or an undo took
  back, and the user turns a loop (form) consumed on its happy path;
- :func:`view` is the live tracker (slots, active loop and its rejection, latest message,
  latest action, follow-up action);
- ``bot.dialogue.policies.states.past_states`` is ``tracker.past_states(domain)``: one featurised state before every
  action and one at the end, each ``{"user": {"intent", "entities"}, "prev_action":
  {"action_name"}, "slots": {name: features}, "active_loop": {"name"}}``.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from bot.dialogue.project.model import (
    ACTION_LISTEN,
    ACTION_SESSION_START,
    Domain,
)

State = dict[str, dict[str, Any]]

USER = "user"
PREVIOUS_ACTION = "prev_action"
ACTIVE_LOOP = "active_loop"
SLOTS = "slots"
ACTION_NAME = "action_name"
INTENT = "intent"
ENTITIES = "entities"
TEXT = "text"
LOOP_NAME = "name"
# Rules write ``slot: null`` / ``active_loop: null`` to mean "must not be set"; Rasa keeps
# that apart from "not mentioned" with this marker value.
SHOULD_NOT_BE_SET = "should_not_be_set"
RULE_SNIPPET_ACTION = "..."  # the "anything may come before" action of a rule
ENTITY_LABEL_SEPARATOR = "#"  # entity#role, entity#group
DEFAULT_CATEGORICAL_VALUE = "__other__"
RULE_ONLY_SLOTS = "rule_only_slots"
RULE_ONLY_LOOPS = "rule_only_loops"
# what ``slot_was_set: [name]`` without a value sets, per slot type (Rasa's defaults)
DEFAULT_SLOT_STEP_VALUES = {"bool": True, "list": ["filled"]}
DEFAULT_SLOT_STEP_VALUE = "filled"

_RESETTING = ("restart", "session_started")
_REVERTING = ("rewind", "undo")


def event_name(event: dict) -> str | None:
    return event.get("event")


def is_action(event: dict, name: str | None = None) -> bool:
    return event.get("event") == "action" and (name is None or event.get("name") == name)


def user_intent(event: dict) -> str | None:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    return intent.get("name") if isinstance(intent, dict) else None


def user_entities(event: dict) -> list[dict]:
    return list((event.get("parse_data") or {}).get("entities") or event.get("entities") or [])


# -- applied events ------------------------------------------------------------------------


def applied_events(events: list[dict]) -> list[dict]:
    """The events that still count, as ``DialogueStateTracker.applied_events()``."""
    loop_names = {e.get("name") for e in events if e.get("event") == "active_loop" and e.get("name")}
    applied: list[dict] = []
    for event in events:
        kind = event.get("event")
        if kind in _RESETTING:
            applied = []
        elif kind == "undo":
            _undo_till(applied, ("action",))
        elif kind == "rewind":
            # a user message implies the action_listen before it: take both back
            _undo_till(applied, ("user",))
            _undo_till(applied, ("action",))
        elif (
            kind == "action"
            and event.get("name") in loop_names
            and not _first_loop_execution_or_unhappy_path(event["name"], applied)
        ):
            # the earlier run of the loop stands for this one: its happy-path turns go
            _undo_till_previous_loop_execution(event["name"], applied)
        else:
            applied.append(event)
    return applied


def _undo_till(done: list[dict], kinds: tuple[str, ...]) -> None:
    while done:
        removed = done.pop()
        if removed.get("event") in kinds:
            return


def _first_loop_execution_or_unhappy_path(loop: str, applied: list[dict]) -> bool:
    next_action = None
    for event in reversed(applied):
        kind = event.get("event")
        if kind == "active_loop" and event.get("name") is None:
            return True  # the loop was deactivated since: this is a fresh run
        if kind == "action_execution_rejected" and event.get("name") == loop:
            return True
        # in training data there are no rejections: another action right after the
        # latest user message means the loop left its happy path
        if kind == "user" and next_action is not None and next_action != loop:
            return True
        if kind == "action":
            if event.get("name") == loop:
                return False
            next_action = event.get("name")
    return True


def _undo_till_previous_loop_execution(loop: str, done: list[dict]) -> None:
    offset = 0
    for event in reversed(done[:]):
        kind = event.get("event")
        if kind == "action" and event.get("name") == loop:
            break
        if kind in ("action", "user", "user_featurization"):
            del done[-1 - offset]
        else:
            offset += 1


# -- the live tracker ----------------------------------------------------------------------


@dataclass
class LoopState:
    name: str
    is_interrupted: bool = False
    rejected: bool = False
    trigger_message: dict | None = None


@dataclass
class TrackerView:
    """What a tracker knows after the events: Rasa's live ``DialogueStateTracker``."""

    slots: dict[str, Any]
    slots_set: set[str] = field(default_factory=set)
    latest_message: dict | None = None  # the latest "user" event
    latest_action: dict = field(default_factory=dict)  # {"action_name": ...}
    loop: LoopState | None = None
    followup_action: str | None = ACTION_LISTEN

    @property
    def active_loop_name(self) -> str | None:
        if self.loop is None or self.loop.name == SHOULD_NOT_BE_SET:
            return None
        return self.loop.name

    @property
    def latest_action_name(self) -> str | None:
        return self.latest_action.get(ACTION_NAME) or self.latest_action.get("action_text")

    @property
    def is_active_loop_rejected(self) -> bool:
        return self.loop is not None and self.loop.rejected

    @property
    def latest_intent(self) -> str | None:
        return user_intent(self.latest_message) if self.latest_message else None


def _initial_slots(domain: Domain | None) -> dict[str, Any]:
    return {name: s.initial_value for name, s in domain.slots.items()} if domain else {}


def fresh_view(domain: Domain | None) -> TrackerView:
    return TrackerView(slots=_initial_slots(domain))


def _reset(view: TrackerView, domain: Domain | None) -> None:
    view.slots = _initial_slots(domain)
    view.slots_set = set()
    view.latest_message = None
    view.latest_action = {}
    view.loop = None
    view.followup_action = ACTION_LISTEN


def apply_event(view: TrackerView, event: dict, domain: Domain | None) -> None:
    kind = event.get("event")
    if kind == "user":
        view.latest_message = event
        view.followup_action = None
    elif kind == "action":
        name = event.get("name")
        view.latest_action = {ACTION_NAME: name} if name else {"action_text": event.get("action_text")}
        view.followup_action = None
        if view.loop is not None:
            view.loop.is_interrupted = False
            if name == view.loop.name:
                view.loop.rejected = False
    elif kind == "slot":
        view.slots[event.get("name")] = event.get("value")
        view.slots_set.add(event.get("name"))
    elif kind == "active_loop":
        name = event.get("name")
        trigger = (view.latest_message or {}).get("parse_data")
        view.loop = LoopState(name, trigger_message=trigger) if name is not None else None
    elif kind == "loop_interrupted":
        if view.loop is not None:
            view.loop.is_interrupted = bool(event.get("is_interrupted"))
    elif kind == "action_execution_rejected":
        if view.loop is not None and event.get("name") == view.active_loop_name:
            view.loop.rejected = True
    elif kind == "followup":
        view.followup_action = event.get("name")
    elif kind == "reset_slots":
        view.slots = _initial_slots(domain)
        view.slots_set = set()
    elif kind == "restart":
        _reset(view, domain)
        view.followup_action = ACTION_SESSION_START
    elif kind == "session_started":
        _reset(view, domain)
    elif kind == "entities" and view.latest_message is not None:
        # EntitiesAdded: entities a policy or action added to the latest message
        message = dict(view.latest_message)
        parse = dict(message.get("parse_data") or {})
        parse["entities"] = [*user_entities(message), *(event.get("entities") or [])]
        message["parse_data"] = parse
        view.latest_message = message


def view(events: list[dict], domain: Domain | None = None) -> TrackerView:
    """The live tracker after ``events`` (a rewind or undo replays what remains).

    A turn asks this of the same conversation many times, each time with a few more events:
    the tracker after the events seen last time is kept (per conversation, by its first
    event) and only the new ones are applied. Events are never changed once added to a
    conversation (state.py); the kept tracker is used only when every event it saw is, object
    for object, the start of ``events``."""
    if not events:
        return fresh_view(domain)
    key = (id(events[0]), id(domain))
    with _REPLAYS_LOCK:
        kept = _REPLAYS.get(key)
    start, tracker = 0, None
    if (kept is not None and kept.domain is domain and len(kept.events) <= len(events)
            and all(map(operator.is_, kept.events, events))):
        start, tracker = len(kept.events), _copy_view(kept.view)
    if tracker is None:
        tracker = fresh_view(domain)
    for i in range(start, len(events)):
        event = events[i]
        if event.get("event") in _REVERTING:
            tracker = fresh_view(domain)
            for applied in applied_events(events[: i + 1]):
                apply_event(tracker, applied, domain)
        else:
            apply_event(tracker, event, domain)
    if start < len(events):
        replay = _Replay(list(events), domain, _copy_view(tracker))
        with _REPLAYS_LOCK:
            _REPLAYS[key] = replay
            _REPLAYS.move_to_end(key)
            while len(_REPLAYS) > _MAX_REPLAYS:
                _REPLAYS.popitem(last=False)
    return tracker


@dataclass
class _Replay:
    events: list[dict]  # the events applied, the objects themselves (their ids stay theirs)
    domain: Domain | None
    view: TrackerView  # the tracker after them, never handed out (copies are)


_MAX_REPLAYS = 4096  # conversations whose latest tracker is kept
_REPLAYS: OrderedDict[tuple[int, int], _Replay] = OrderedDict()
_REPLAYS_LOCK = threading.Lock()


def _copy_view(tracker: TrackerView) -> TrackerView:
    # what apply_event changes in place is copied; events and slot values are replaced whole
    return TrackerView(slots=dict(tracker.slots), slots_set=set(tracker.slots_set),
                       latest_message=tracker.latest_message,
                       latest_action=dict(tracker.latest_action),
                       loop=replace(tracker.loop) if tracker.loop is not None else None,
                       followup_action=tracker.followup_action)


def current_slots(events: list[dict], domain: Domain) -> dict[str, Any]:
    return view(events, domain).slots


def active_loop(events: list[dict]) -> str | None:
    return view(events).active_loop_name


def latest_user_message(events: list[dict]) -> dict | None:
    """The latest "user" event still standing (None after a restart or rewind took it)."""
    return view(events).latest_message


def latest_action_name(events: list[dict]) -> str | None:
    return view(events).latest_action_name


# -- reading featurised states -------------------------------------------------------------


def is_prev_action_listen_in_state(state: State) -> bool:
    return state.get(PREVIOUS_ACTION, {}).get(ACTION_NAME) == ACTION_LISTEN


def loop_name_in_state(state: State) -> str | None:
    name = state.get(ACTIVE_LOOP, {}).get(LOOP_NAME)
    return None if name == SHOULD_NOT_BE_SET else name
