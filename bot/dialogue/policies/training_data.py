"""Stories and rules turned into training conversations, as Rasa's TrainingDataGenerator does.

Each story becomes the events Rasa's tracker would hold after it: an ``action_listen``
before every user turn and at the end, slots that unconditional ``from_entity`` mappings
fill from the turn's entities, and the story's own slot and loop events. Rules also get
Rasa's rule markers: a leading ``...`` action unless ``conversation_start: true``, a
trailing ``...`` for ``wait_for_user_input: false``, and ``null`` slot / loop values kept
apart from "not mentioned" (``should_not_be_set``). Stories (never rules) are augmented by
gluing story ends onto story starts (``augmentation_factor``), as ``rasa train`` does.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from bot.dialogue import events as ev
from bot.dialogue.policies.states import past_states, without_unlikely_intent
from bot.dialogue.project.model import (
    ACTION_LISTEN,
    ACTION_UNLIKELY_INTENT,
    MISSING,
    ActionStep,
    ActiveLoopStep,
    BotStep,
    Domain,
    SlotStep,
    SourceRef,
    Story,
    UserStep,
)

AUGMENTATION_ROUNDS = 3  # Rasa's minimum number of augmentation rounds


@dataclass
class TrainingTracker:
    """One training conversation: a story, a rule, a test story or a glued augmentation."""

    name: str
    events: list[dict]
    is_rule: bool = False
    is_augmented: bool = False
    source: SourceRef | None = None


def listen() -> dict:
    return {"event": "action", "name": ACTION_LISTEN}


def user_event(intent: str | None, entities: tuple[dict, ...] | list[dict] = (), text: str | None = None,
               confidence: float = 1.0) -> dict:
    """A "user" event as Rasa serialises ``UserUttered``."""
    ents = [{**e, "value": e.get("value", "")} for e in entities]
    parse = {"intent": {"name": intent, "confidence": confidence} if intent else {},
             "entities": ents, "text": text}
    return {"event": "user", "text": text, "parse_data": parse}


def slots_for_entities(entities: list[dict], domain: Domain) -> list[dict]:
    """Slot events that entities fill through unconditional ``from_entity`` mappings."""
    out = []
    for slot in domain.slots.values():
        values = []
        for mapping in slot.mappings:
            if mapping.type != "from_entity":
                continue
            if any(c.active_loop is not None for c in mapping.conditions):
                continue
            for entity in entities:
                if (entity.get("entity"), entity.get("role"), entity.get("group")) == (
                    mapping.entity, mapping.role, mapping.group
                ):
                    values.append(entity.get("value"))
        if values:
            out.append({"event": "slot", "name": slot.name,
                        "value": values if slot.type == "list" else values[-1]})
    return out


def _slot_step_value(name: str, value, domain: Domain):
    if value is not MISSING:
        return value
    slot = domain.slots.get(name)
    return ev.DEFAULT_SLOT_STEP_VALUES.get(slot.type if slot else "", ev.DEFAULT_SLOT_STEP_VALUE)


def _step_events(step, domain: Domain, is_rule: bool) -> list[dict]:
    if isinstance(step, UserStep):
        user = user_event(step.intent, step.entities, step.text)
        return [user, *slots_for_entities(user["parse_data"]["entities"], domain)]
    if isinstance(step, ActionStep):
        return [{"event": "action", "name": step.name}]
    if isinstance(step, SlotStep):
        out = []
        for name, value in step.slots:
            value = _slot_step_value(name, value, domain)
            if is_rule and value is None:
                value = ev.SHOULD_NOT_BE_SET
            out.append({"event": "slot", "name": name, "value": value})
        return out
    if isinstance(step, ActiveLoopStep):
        name = step.name if step.name is not None or not is_rule else ev.SHOULD_NOT_BE_SET
        return [{"event": "active_loop", "name": name}]
    if isinstance(step, BotStep):
        return []  # end-to-end bot text: not a policy label here (no end-to-end training)
    raise TypeError(f"unknown story step {step!r}")


def story_events(story: Story, domain: Domain) -> list[dict]:
    """The events of one story, rule or test story, with Rasa's implicit events made explicit."""
    is_rule = story.kind == "rule"
    steps: list = []
    if is_rule:
        if not story.conversation_start:
            steps.append(ActionStep(ev.RULE_SNIPPET_ACTION))
        steps.extend(story.condition)
    steps.extend(story.steps)
    if is_rule and not story.wait_for_user_input:
        steps.append(ActionStep(ev.RULE_SNIPPET_ACTION))

    out: list[dict] = []
    for step in steps:
        if isinstance(step, UserStep) and not (out and ev.is_action(out[-1], ACTION_LISTEN)):
            out.append(listen())
        out.extend(_step_events(step, domain, is_rule))
    if not (out and ev.is_action(out[-1], ACTION_LISTEN)):
        out.append(listen())
    # the first action of a story that starts with one has no history to predict it from
    for event in out:
        if event["event"] == "user":
            break
        if event["event"] == "action":
            event["unpredictable"] = True
            break
    return out


def training_trackers(
    stories: list[Story], domain: Domain, augmentation_factor: int = 50, seed: int = 42
) -> list[TrainingTracker]:
    """Story and rule trackers, plus augmented story trackers (``is_augmented``)."""
    originals: list[TrainingTracker] = []
    seen: set[str] = set()
    for story in stories:
        if story.kind not in ("story", "rule"):
            continue
        tracker = TrainingTracker(story.name, story_events(story, domain), story.kind == "rule",
                                  source=story.source)
        key = _identity(tracker)
        if key not in seen:
            seen.add(key)
            originals.append(tracker)
    story_trackers = [t for t in originals if not t.is_rule]
    return originals + _augment(story_trackers, augmentation_factor, seed)


def _identity(tracker: TrainingTracker) -> str:
    return json.dumps([tracker.is_rule, tracker.events], sort_keys=True, default=str)


def _augment(stories: list[TrainingTracker], factor: int, seed: int) -> list[TrainingTracker]:
    """Glue story ends onto story starts for a few rounds, as Rasa's augmentation does."""
    if factor <= 0 or not stories:
        return []
    rng = random.Random(seed)
    ends = list(stories)
    seen = {_identity(t) for t in ends}
    augmented: list[TrainingTracker] = []
    for _ in range(AUGMENTATION_ROUNDS):
        starts = _subsample(ends, factor, rng)
        for story in stories:
            for start in starts:
                # every story ends with action_listen and starts with one: drop one of them
                prefix = start.events[:-1] if ev.is_action(start.events[-1], ACTION_LISTEN) else start.events
                glued = TrainingTracker(f"{start.name} > {story.name}", prefix + story.events,
                                        is_augmented=True)
                key = _identity(glued)
                if key not in seen:
                    seen.add(key)
                    ends.append(glued)
                    augmented.append(glued)
    return _subsample(augmented, factor * 10, rng)


def _subsample(items: list, limit: int, rng: random.Random) -> list:
    if len(items) <= limit:
        return list(items)
    picked = list(items)
    rng.shuffle(picked)
    return picked[:limit]


def training_examples(
    tracker: TrainingTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    max_history: int | None = None,
) -> Iterator[tuple[list[ev.State], str]]:
    """(states before the action, action) for each predictable action of a tracker."""
    applied = ev.applied_events(tracker.events)
    tracker_states = past_states(applied, domain, omit_unset_slots=omit_unset_slots)
    label_index = 0
    for event in applied:
        if event.get("event") != "action":
            continue
        label_index += 1
        if event.get("unpredictable") or not event.get("name"):
            continue
        history = tracker_states[:label_index]
        if max_history:
            history = history[-max_history:]
        yield history, event["name"]


def deduplicated_examples(
    trackers: list[TrainingTracker],
    domain: Domain,
    omit_unset_slots: bool = False,
    max_history: int | None = None,
    skip_unlikely_intent: bool = False,
) -> tuple[list[list[ev.State]], list[str]]:
    """Training examples of many trackers, each (states, label) pair once (Rasa's default)."""
    seen: set[str] = set()
    all_states, labels = [], []
    for tracker in trackers:
        for history, label in training_examples(tracker, domain, omit_unset_slots, max_history):
            if skip_unlikely_intent:
                if label == ACTION_UNLIKELY_INTENT:
                    continue
                history = without_unlikely_intent(history)
            key = state_key(history) + "\x00" + label
            if key in seen:
                continue
            seen.add(key)
            all_states.append(history)
            labels.append(label)
    return all_states, labels


def state_key(states_: list[ev.State]) -> str:
    """A canonical string for a list of states (Rasa's json.dumps(sort_keys=True))."""
    return json.dumps(states_, sort_keys=True)
