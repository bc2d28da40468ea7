"""Story structure conflicts, as ``rasa data validate stories`` finds them.

Each story is replayed as Rasa replays it for training (an ``action_listen`` before every
user turn and at the end, slots from ``slot_was_set`` steps and from entities with an
unconditional from_entity mapping), the dialogue state before each action is built from
intent and entities, slots that influence the conversation (featurised by type), the
previous action and the active loop, and two stories conflict when the same last
``max_history`` states are followed by different actions. Rules are left out, as in Rasa.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bot.dialogue.project.issues import Issue
from bot.dialogue.project.model import (
    ACTION_LISTEN,
    ActionStep,
    ActiveLoopStep,
    BotStep,
    Domain,
    Slot,
    SlotStep,
    SourceRef,
    Story,
    UserStep,
)


@dataclass(frozen=True)
class _Prediction:
    action: str
    story: str
    source: SourceRef | None


def find_conflicts(domain: Domain, stories: list[Story], max_history: int) -> list[Issue]:
    seen: dict[str, dict[str, list[_Prediction]]] = defaultdict(dict)
    last_states: dict[str, dict] = {}
    for story in stories:
        if story.kind != "story":
            continue
        for states, prediction in _predictions(domain, story):
            key = json.dumps(states[-max_history:], sort_keys=True, default=str)
            last_states[key] = states[-1]
            by_action = seen[key].setdefault(prediction.action, [])
            if all(p.story != prediction.story for p in by_action):
                by_action.append(prediction)
    issues = []
    for key, by_action in seen.items():
        previous = _previous_event(last_states[key])
        if len(by_action) < 2 or previous is None:
            continue  # stories may begin differently; Rasa reports only after an event
        parts = [f"'{action}' in {_stories(predictions)}"
                 for action, predictions in by_action.items()]
        first_of_second = list(by_action.values())[1][0]
        issues.append(Issue(
            "error", first_of_second.source,
            f"story structure conflict after {previous}: {'; '.join(parts)}, after the same "
            f"history (the last {max_history} states); make the stories differ before that "
            "point (an intent, slot or action) or make them agree"))
    return issues


def _stories(predictions: list[_Prediction]) -> str:
    named = [f"'{p.story}'" + (f" ({p.source})" if p.source else "") for p in predictions[:3]]
    more = f" and {len(predictions) - 3} more" if len(predictions) > 3 else ""
    return ", ".join(named) + more


def _previous_event(state: dict) -> str | None:
    action = state.get("prev_action", {})
    if action.get("action_name") and action["action_name"] != ACTION_LISTEN:
        return f"action '{action['action_name']}'"
    if action.get("action_text"):
        return f"bot utterance '{action['action_text']}'"
    user = state.get("user", {})
    if user.get("intent"):
        return f"intent '{user['intent']}'"
    if user.get("text"):
        return f"user utterance '{user['text']}'"
    return None


def _predictions(domain: Domain, story: Story):
    """(states up to and including the one before each action, that action)."""
    tracker = _Replay(domain)
    states: list[dict] = []

    def act(name: str | None, text: str | None, source: SourceRef | None):
        states.append(tracker.state())
        yield list(states), _Prediction(name or f"bot: {text}", story.name, source)
        tracker.prev_action = {"action_name": name} if name else {"action_text": text}

    for step in story.steps:
        if isinstance(step, UserStep):
            if tracker.prev_action != {"action_name": ACTION_LISTEN}:
                yield from act(ACTION_LISTEN, None, step.source)
            tracker.user(step)
        elif isinstance(step, ActionStep):
            yield from act(step.name, None, step.source)
        elif isinstance(step, BotStep):
            yield from act(None, step.text, step.source)
        elif isinstance(step, SlotStep):
            for name, value in step.slots:
                tracker.slots[name] = domain.story_slot_value(name, value)
        elif isinstance(step, ActiveLoopStep):
            tracker.active_loop = step.name
    if tracker.prev_action != {"action_name": ACTION_LISTEN}:
        yield from act(ACTION_LISTEN, None, story.source)


class _Replay:
    """The parts of a tracker the dialogue state is made of."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.slots: dict[str, Any] = {n: s.initial_value for n, s in domain.slots.items()}
        self.latest_user: dict = {}
        self.prev_action: dict = {}
        self.active_loop: str | None = None

    def user(self, step: UserStep) -> None:
        labels = set()
        for entity in step.entities:
            labels.add(entity["entity"])
            labels.update(f"{entity['entity']}#{entity[k]}" for k in ("role", "group")
                          if entity.get(k))
        sub: dict = {}
        if step.intent:
            sub["intent"] = step.intent
            labels &= self.domain.used_entities(step.intent.split("/", 1)[0])
        elif step.text:
            sub["text"] = step.text
        if labels:
            sub["entities"] = sorted(labels)
        self.latest_user = sub
        for name, value in _slots_for_entities(self.domain, step.entities).items():
            self.slots[name] = value

    def state(self) -> dict:
        state: dict = {}
        if self.latest_user:
            state["user"] = self.latest_user
        slots = {}
        for name, value in self.slots.items():
            slot = self.domain.slots.get(name)
            feature = slot_features(slot, value) if slot else None
            if feature and any(feature):
                slots[name] = feature
        if slots:
            state["slots"] = slots
        if self.prev_action:
            state["prev_action"] = self.prev_action
        if self.active_loop:
            state["active_loop"] = {"name": self.active_loop}
        return state


def _slots_for_entities(domain: Domain, entities: tuple[dict, ...]) -> dict[str, Any]:
    # Rasa fills slots from a story's entities when a from_entity mapping has no conditions
    filled = {}
    for name, slot in domain.slots.items():
        values = [e.get("value") for m in slot.mappings
                  if m.type == "from_entity" and not m.conditions
                  for e in entities
                  if e["entity"] == m.entity and e.get("role") == m.role
                  and e.get("group") == m.group]
        if values:
            filled[name] = values if slot.type == "list" else values[-1]
    return filled


def slot_features(slot: Slot, value: Any) -> tuple[float, ...] | None:
    """Rasa's featurisation of a slot value (None: the slot does not influence the dialogue)."""
    if not slot.influence_conversation or slot.type == "any":
        return None
    if slot.type == "text":
        return (1.0 if value is not None else 0.0,)
    if slot.type == "list":
        return (1.0 if value else 0.0,)
    if slot.type == "bool":
        if value is None:
            return (0.0, 0.0)
        return (1.0, 1.0 if _truthy(value) else 0.0)
    if slot.type == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return (0.0, 0.0)
        capped = max(slot.min_value, min(slot.max_value, number))
        span = slot.max_value - slot.min_value
        return (1.0, (capped - slot.min_value) / span if span else 1.0)
    values = [v.lower() for v in slot.values] + ["__other__"]
    features = [0.0] * len(values)
    if value is not None:
        text = str(value).lower()
        features[values.index(text) if text in values else len(values) - 1] = 1.0
    return tuple(features)


def _truthy(value: Any) -> bool:
    # rasa.shared.utils.common's bool_from_any: "true", 1 and 1.0 are true; "yes" is not
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    text = str(value).strip().lower()
    try:
        return float(text) == 1.0
    except ValueError:
        return text == "true"
