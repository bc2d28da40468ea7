"""Reading a conversation held as Rasa-format event dicts, as Rasa's tracker reads it.

A conversation is a list of events in Rasa's JSON shape (``{"event": "user", ...}``,
``{"event": "action", "name": ...}``, ``{"event": "slot", ...}``...). This module replays
them with the semantics of ``rasa.shared.core.trackers.DialogueStateTracker``:

- :func:`applied_events` drops what a restart, a session start, a rewind or an undo took
  back, and the user turns a loop (form) consumed on its happy path;
- :func:`view` is the live tracker (slots, active loop and its rejection, latest message,
  latest action, follow-up action);
- :func:`states` is ``tracker.past_states(domain)``: one featurised state before every
  action and one at the end, each ``{"user": {"intent", "entities"}, "prev_action":
  {"action_name"}, "slots": {name: features}, "active_loop": {"name"}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.dialogue.project.model import (
    ACTION_LISTEN,
    ACTION_SESSION_START,
    ACTION_UNLIKELY_INTENT,
    DEFAULT_INTENTS,
    Domain,
    Slot,
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


def _fresh(domain: Domain | None) -> TrackerView:
    return TrackerView(slots=_initial_slots(domain))


def _reset(view: TrackerView, domain: Domain | None) -> None:
    view.slots = _initial_slots(domain)
    view.slots_set = set()
    view.latest_message = None
    view.latest_action = {}
    view.loop = None
    view.followup_action = ACTION_LISTEN


def _apply(view: TrackerView, event: dict, domain: Domain | None) -> None:
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
    """The live tracker after ``events`` (a rewind or undo replays what remains)."""
    tracker = _fresh(domain)
    for i, event in enumerate(events):
        if event.get("event") in _REVERTING:
            tracker = _fresh(domain)
            for kept in applied_events(events[: i + 1]):
                _apply(tracker, kept, domain)
        else:
            _apply(tracker, event, domain)
    return tracker


def current_slots(events: list[dict], domain: Domain) -> dict[str, Any]:
    return view(events, domain).slots


def active_loop(events: list[dict]) -> str | None:
    return view(events).active_loop_name


def latest_user_message(events: list[dict]) -> dict | None:
    """The latest "user" event still standing (None after a restart or rewind took it)."""
    return view(events).latest_message


def latest_action_name(events: list[dict]) -> str | None:
    return view(events).latest_action_name


# -- featurised states ---------------------------------------------------------------------


def slot_features(slot: Slot, value: Any) -> tuple[float, ...]:
    """``Slot.as_feature()`` for each Rasa slot type (empty: the slot is not featurised)."""
    if not slot.influence_conversation or slot.type == "any":
        return ()
    if slot.type == "text":
        return (1.0 if value is not None else 0.0,)
    if slot.type == "bool":
        try:
            return (1.0, float(_bool_from_any(value))) if value is not None else (0.0, 0.0)
        except (TypeError, ValueError):
            return (0.0, 0.0)
    if slot.type == "float":
        try:
            capped = max(slot.min_value, min(slot.max_value, float(value)))
        except (TypeError, ValueError):
            return (0.0, 0.0)
        covered = abs(slot.max_value - slot.min_value) or 1.0
        return (1.0, (capped - slot.min_value) / covered)
    if slot.type == "list":
        if value is not None and not isinstance(value, list):
            value = [value] if value else value
        try:
            return (1.0 if value is not None and len(value) > 0 else 0.0,)
        except TypeError:
            return (0.0,)
    if slot.type == "categorical":
        values = categorical_values(slot)
        features = [0.0] * len(values)
        if value is None:
            return tuple(features)
        text = str(value).lower()
        if text in values:
            features[values.index(text)] = 1.0
        elif DEFAULT_CATEGORICAL_VALUE in values:
            features[values.index(DEFAULT_CATEGORICAL_VALUE)] = 1.0
        return tuple(features)
    return ()


def categorical_values(slot: Slot) -> list[str]:
    values = [str(v).lower() for v in slot.values if v is not None]
    if DEFAULT_CATEGORICAL_VALUE not in values:
        values.append(DEFAULT_CATEGORICAL_VALUE)
    return values


def _bool_from_any(x: Any) -> bool:
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        return x == 1.0
    if isinstance(x, str):
        if x.isnumeric():
            return float(x) == 1.0
        lowered = x.strip().lower()
        if lowered in ("true", "yes"):
            return True
        if lowered in ("false", "no"):
            return False
        raise ValueError("Cannot convert string to bool")
    raise TypeError("Cannot convert to bool")


def used_entities(domain: Domain, intent: str | None) -> set[str] | None:
    """Entity labels (with ``#role`` / ``#group``) an intent featurises; None: all."""
    config = domain.intents.get(intent) if intent else None
    if config is None and intent not in DEFAULT_INTENTS:
        return None  # an intent the domain does not know: Rasa keeps every entity
    roles = {n: [*e.roles, *e.groups] for n, e in domain.entities.items()}

    def with_labels(names: set[str]) -> set[str]:
        return names | {f"{n}{ENTITY_LABEL_SEPARATOR}{s}" for n in names for s in roles.get(n, [])}

    if config is None or config.use_entities is None:
        included = {n for n, e in domain.entities.items() if e.influence_conversation}
        included = included | {
            f"{n}{ENTITY_LABEL_SEPARATOR}{s}" for n, subs in roles.items() for s in subs
        }
    else:
        included = with_labels(set(config.use_entities))
    excluded = with_labels(set(config.ignore_entities)) if config else set()
    return included - excluded


def _user_sub_state(message: dict | None, domain: Domain) -> dict:
    if not message:
        return {}
    intent = user_intent(message)
    entities = user_entities(message)
    text = message.get("text")
    if not intent and not text and not entities:
        return {}
    if not intent:
        return {TEXT: text} if text else {}
    labels = set()
    for entity in entities:
        if "entity" not in entity:
            continue
        labels.add(entity["entity"])
        for sub in ("role", "group"):
            if entity.get(sub) is not None:
                labels.add(f"{entity['entity']}{ENTITY_LABEL_SEPARATOR}{entity[sub]}")
    wanted = used_entities(domain, intent)
    if wanted is not None:
        labels &= wanted
    sub: dict[str, Any] = {INTENT: intent}
    if labels:
        sub[ENTITIES] = tuple(sorted(labels))
    return sub


def _slots_sub_state(tracker: TrackerView, domain: Domain, omit_unset_slots: bool) -> dict:
    slots: dict[str, Any] = {}
    for name, slot in domain.slots.items():
        value = tracker.slots.get(name)
        features = slot_features(slot, value)
        if not features:
            continue
        if omit_unset_slots and name not in tracker.slots_set:
            continue
        if value == SHOULD_NOT_BE_SET:
            slots[name] = SHOULD_NOT_BE_SET
        elif any(features):
            slots[name] = features
    return slots


def active_state(tracker: TrackerView, domain: Domain, omit_unset_slots: bool = False) -> State:
    """``Domain.get_active_state``: the featurised state of a tracker at one moment."""
    state: State = {
        USER: _user_sub_state(tracker.latest_message, domain),
        SLOTS: _slots_sub_state(tracker, domain, omit_unset_slots),
        PREVIOUS_ACTION: dict(tracker.latest_action),
        ACTIVE_LOOP: {LOOP_NAME: tracker.loop.name} if tracker.loop and tracker.loop.name else {},
    }
    return {key: sub for key, sub in state.items() if sub}


def states(
    events: list[dict],
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict | None = None,
) -> list[State]:
    """``tracker.past_states(domain)``: the state before each action, then the current one.

    ``ignore_rule_only_turns`` drops turns predicted by rules that no story contains
    (``hide_rule_turn`` on their action events), as Rasa's ML policies see a conversation.
    """
    tracker = _fresh(domain)
    out: list[State] = []
    last_ml_action: dict | None = None
    turn_was_hidden = False
    applied = applied_events(events)

    def prior(hide: bool) -> None:
        nonlocal last_ml_action, turn_was_hidden
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action = dict(tracker.latest_action)
            # a follow-up action or a loop's happy path keeps the turn's visibility
            if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
                turn_was_hidden = hide
            if turn_was_hidden:
                return
        state = active_state(tracker, domain, omit_unset_slots)
        if ignore_rule_only_turns:
            _remove_rule_only_features(state, rule_only_data)
            if out:
                _substitute_rule_only_user_input(state, out[-1])
            if last_ml_action:
                state[PREVIOUS_ACTION] = last_ml_action
        out.append({key: sub for key, sub in state.items() if sub})

    for event in applied:
        if event.get("event") == "action":
            prior(bool(event.get("hide_rule_turn")))
        _apply(tracker, event, domain)
    prior(False)
    return out


def _remove_rule_only_features(state: State, rule_only_data: dict | None) -> None:
    if not rule_only_data:
        return
    for slot in rule_only_data.get(RULE_ONLY_SLOTS, []):
        state.get(SLOTS, {}).pop(slot, None)
    if state.get(ACTIVE_LOOP, {}).get(LOOP_NAME) in rule_only_data.get(RULE_ONLY_LOOPS, []):
        del state[ACTIVE_LOOP]


def _substitute_rule_only_user_input(state: State, last_ml_state: State) -> None:
    if is_prev_action_listen_in_state(state):
        return
    if not last_ml_state.get(USER) and state.get(USER):
        del state[USER]
    elif last_ml_state.get(USER):
        state[USER] = last_ml_state[USER]


def is_prev_action_listen_in_state(state: State) -> bool:
    return state.get(PREVIOUS_ACTION, {}).get(ACTION_NAME) == ACTION_LISTEN


def loop_name_in_state(state: State) -> str | None:
    name = state.get(ACTIVE_LOOP, {}).get(LOOP_NAME)
    return None if name == SHOULD_NOT_BE_SET else name


def without_unlikely_intent(states_: list[State]) -> list[State]:
    """ML policies ignore turns of ``action_unlikely_intent`` (UnexpecTEDIntentPolicy)."""
    return [
        s for s in states_ if s.get(PREVIOUS_ACTION, {}).get(ACTION_NAME) != ACTION_UNLIKELY_INTENT
    ]
