"""Featurised dialogue states, as Rasa's ``tracker.past_states(domain)`` makes them.

One state before every action of the applied events and one at the end:
``{"user": {"intent", "entities"}, "prev_action": {"action_name"}, "slots": {name:
features}, "active_loop": {"name"}}`` (empty parts left out). Slots are featurised per
Rasa slot type (only those that influence the conversation), entities as the intent's
``use_entities`` / ``ignore_entities`` allow, with ``entity#role`` and ``entity#group``.
For ML policies, turns of rules no story contains are hidden (``hide_rule_turn``) and
slots and loops only rules mention are removed, as Rasa hides them.
"""

from __future__ import annotations

import weakref
from typing import Any

from bot.dialogue.events import (
    ACTION_NAME,
    ACTIVE_LOOP,
    DEFAULT_CATEGORICAL_VALUE,
    ENTITIES,
    ENTITY_LABEL_SEPARATOR,
    INTENT,
    LOOP_NAME,
    PREVIOUS_ACTION,
    RULE_ONLY_LOOPS,
    RULE_ONLY_SLOTS,
    SHOULD_NOT_BE_SET,
    SLOTS,
    TEXT,
    USER,
    State,
    TrackerView,
    applied_events,
    apply_event,
    fresh_view,
    is_prev_action_listen_in_state,
    user_entities,
    user_intent,
)
from bot.dialogue.project.model import ACTION_UNLIKELY_INTENT, DEFAULT_INTENTS, Domain, Slot


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


class _DomainFacts:
    """What featurisation reads from a domain, worked out once per domain."""

    def __init__(self, domain: Domain) -> None:
        self.signature = _signature(domain)
        self.slots = [(n, s) for n, s in domain.slots.items() if s.influence_conversation and s.type != "any"]
        # entity labels (with ``#role`` / ``#group``) each intent featurises; absent: all
        self.used_entities = {name: _used_entities(domain, name) for name in (*domain.intents, *DEFAULT_INTENTS)}


def _signature(domain: Domain) -> tuple:
    return (tuple(map(id, domain.slots.values())), tuple(map(id, domain.intents.values())),
            tuple(map(id, domain.entities.values())))


_FACTS: dict[int, tuple[weakref.ref, _DomainFacts]] = {}


def _facts(domain: Domain) -> _DomainFacts:
    cached = _FACTS.get(id(domain))
    if cached and cached[0]() is domain and cached[1].signature == _signature(domain):
        return cached[1]
    if len(_FACTS) > 32:
        _FACTS.clear()
    facts = _DomainFacts(domain)
    _FACTS[id(domain)] = (weakref.ref(domain), facts)
    return facts


def _used_entities(domain: Domain, intent: str) -> set[str] | None:
    config = domain.intents.get(intent)
    if config is None and intent not in DEFAULT_INTENTS:
        return None  # an intent the domain does not know: Rasa keeps every entity
    subs = {n: [*e.roles, *e.groups] for n, e in domain.entities.items()}

    def with_labels(names: set[str]) -> set[str]:
        return names | {f"{n}{ENTITY_LABEL_SEPARATOR}{s}" for n in names for s in subs.get(n, [])}

    if config is None or config.use_entities is None:
        included = {n for n, e in domain.entities.items() if e.influence_conversation}
        included |= {f"{n}{ENTITY_LABEL_SEPARATOR}{s}" for n, labels in subs.items() for s in labels}
    else:
        included = with_labels(set(config.use_entities))
    excluded = with_labels(set(config.ignore_entities)) if config else set()
    return included - excluded


def _user_sub_state(message: dict | None, facts: _DomainFacts) -> dict:
    if not message:
        return {}
    intent = user_intent(message)
    entities = user_entities(message)
    text = message.get("text")
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
    wanted = facts.used_entities.get(intent)
    if wanted is not None:
        labels &= wanted
    sub: dict[str, Any] = {INTENT: intent}
    if labels:
        sub[ENTITIES] = tuple(sorted(labels))
    return sub


def _slots_sub_state(tracker: TrackerView, facts: _DomainFacts, omit_unset_slots: bool) -> dict:
    slots: dict[str, Any] = {}
    for name, slot in facts.slots:
        if omit_unset_slots and name not in tracker.slots_set:
            continue
        value = tracker.slots.get(name)
        if value == SHOULD_NOT_BE_SET:
            slots[name] = SHOULD_NOT_BE_SET
            continue
        features = slot_features(slot, value)
        if any(features):
            slots[name] = features
    return slots


def active_state(tracker: TrackerView, domain: Domain, omit_unset_slots: bool = False,
                 facts: _DomainFacts | None = None) -> State:
    """``Domain.get_active_state``: the featurised state of a tracker at one moment.
    ``facts``: the domain's, when the caller featurises many states of one conversation
    (working them out, or checking them, costs as much as the state itself)."""
    facts = facts or _facts(domain)
    state: State = {
        USER: _user_sub_state(tracker.latest_message, facts),
        SLOTS: _slots_sub_state(tracker, facts, omit_unset_slots),
        PREVIOUS_ACTION: dict(tracker.latest_action),
        ACTIVE_LOOP: {LOOP_NAME: tracker.loop.name} if tracker.loop and tracker.loop.name else {},
    }
    return {key: sub for key, sub in state.items() if sub}


def _visible_turns(events: list[dict], domain: Domain, ignore_rule_only_turns: bool):
    """The tracker at each state Rasa makes (before every action, then at the end), with
    the previous action ML policies see there; hidden rule turns skipped when asked."""
    return _turns_of(applied_events(events), domain, ignore_rule_only_turns)


def _turns_of(applied: list[dict], domain: Domain, ignore_rule_only_turns: bool):
    tracker = fresh_view(domain)
    last_ml_action: dict | None = None
    turn_was_hidden = False

    def visible(hide: bool) -> bool:
        nonlocal last_ml_action, turn_was_hidden
        if not ignore_rule_only_turns:
            return True
        if not turn_was_hidden:
            last_ml_action = dict(tracker.latest_action)
        # a follow-up action or a loop's happy path keeps the turn's visibility
        if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
            turn_was_hidden = hide
        return not turn_was_hidden

    for event in applied:
        if event.get("event") == "action" and visible(bool(event.get("hide_rule_turn"))):
            yield tracker, last_ml_action
        apply_event(tracker, event, domain)
    if visible(False):
        yield tracker, last_ml_action


def past_states(
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
    out: list[State] = []
    facts = _facts(domain)
    for tracker, last_ml_action in _visible_turns(events, domain, ignore_rule_only_turns):
        state = active_state(tracker, domain, omit_unset_slots, facts)
        if ignore_rule_only_turns:
            _remove_rule_only_features(state, rule_only_data)
            if out:
                _substitute_rule_only_user_input(state, out[-1])
            if last_ml_action:
                state[PREVIOUS_ACTION] = last_ml_action
        out.append({key: sub for key, sub in state.items() if sub})
    return out


def last_past_states(events: list[dict], domain: Domain, last: int) -> list[State]:
    """The last ``last`` states of ``past_states(events, domain)``, the same dicts: every
    event is still applied (slots carry through the whole conversation), but only the states
    asked for are featurised, which is most of the work in a long conversation (a
    RulePolicy compares no more states than its longest rule has)."""
    applied = applied_events(events)
    total = sum(1 for e in applied if e.get("event") == "action") + 1
    first = max(0, total - last)
    out: list[State] = []
    facts = _facts(domain)
    for i, (tracker, _) in enumerate(_turns_of(applied, domain, False)):
        if i >= first:
            state = active_state(tracker, domain, facts=facts)
            out.append({key: sub for key, sub in state.items() if sub})
    return out


def count_ml_states(events: list[dict], domain: Domain) -> int:
    """How many states ML policies see (hidden rule turns and unlikely-intent turns out),
    without building them: lets memoization skip histories no memory can match."""
    count = 0
    for tracker, last_ml_action in _visible_turns(events, domain, True):
        prev = (last_ml_action or tracker.latest_action).get(ACTION_NAME)
        count += prev != ACTION_UNLIKELY_INTENT
    return count


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






def without_unlikely_intent(states_: list[State]) -> list[State]:
    """ML policies ignore turns of ``action_unlikely_intent`` (UnexpecTEDIntentPolicy)."""
    return [
        s for s in states_ if s.get(PREVIOUS_ACTION, {}).get(ACTION_NAME) != ACTION_UNLIKELY_INTENT
    ]
