"""MemoizationPolicy and AugmentedMemoizationPolicy: recall exact story turns.

As Rasa's: the key is the last ``max_history`` featurised states (all of them when
``max_history`` is unset, Rasa 3's default); a state sequence that stories continue in two
different ways is forgotten. Only original stories train it (no rules, no augmentation),
and it predicts on the conversation as ML policies see it (turns of rules that no story
contains hidden, rule-only slots and loops removed). The augmented variant, when nothing
matches, forgets the oldest turns one action at a time — slots they set included — and
tries again, so a story recalls even after slots the story never mentions were filled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.dialogue import events as ev
from bot.dialogue.policies.base import MEMOIZATION_POLICY_PRIORITY, Policy, PolicyPrediction
from bot.dialogue.policies.states import count_ml_states, past_states, without_unlikely_intent
from bot.dialogue.policies.training_data import TrainingTracker, deduplicated_examples
from bot.dialogue.project.model import ACTION_LISTEN, Domain

KNOWN_OPTIONS = {"max_history", "priority", "use_nlu_confidence_as_score",
                 "enable_feature_string_compression"}


def memo_key(states: list[ev.State]) -> str:
    # Rasa's memoization key: sorted JSON with the quotes taken out
    return json.dumps(states, sort_keys=True).replace('"', "")


def build_lookup(all_states: list[list[ev.State]], labels: list[str], key=memo_key) -> dict[str, str]:
    """State sequence -> action, dropping sequences that training data continues two ways."""
    lookup: dict[str, str] = {}
    ambiguous: set[str] = set()
    for states, action in zip(all_states, labels, strict=True):
        feature_key = key(states)
        if not feature_key or feature_key in ambiguous:
            continue
        if feature_key in lookup and lookup[feature_key] != action:
            ambiguous.add(feature_key)
            del lookup[feature_key]
        elif feature_key not in lookup:
            lookup[feature_key] = action
    return lookup


class MemoizationPolicy(Policy):
    kind = "MemoizationPolicy"
    default_priority = MEMOIZATION_POLICY_PRIORITY

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        history = self.options.get("max_history")
        self.max_history: int | None = int(history) if history else None
        self.use_nlu_confidence = bool(self.options.get("use_nlu_confidence_as_score", False))
        self.lookup: dict[str, str] = {}
        self.history_lengths: set[int] = set()  # how many states the remembered keys hold

    def train(self, trackers: list[TrainingTracker], domain: Domain, rule_only_data: dict) -> None:
        stories = [t for t in trackers if not t.is_rule and not t.is_augmented]
        all_states, labels = deduplicated_examples(stories, domain, max_history=self.max_history)
        self.lookup = build_lookup(all_states, labels)
        kept = set(self.lookup)
        self.history_lengths = {len(s) for s in all_states if memo_key(s) in kept}

    def prediction_states(self, events: list[dict], domain: Domain, rule_only_data: dict) -> list[ev.State]:
        states = past_states(events, domain, ignore_rule_only_turns=True, rule_only_data=rule_only_data)
        states = without_unlikely_intent(states)
        return states[-self.max_history:] if self.max_history else states

    def recall(self, states: list[ev.State], events: list[dict], domain: Domain,
               rule_only_data: dict) -> str | None:
        return self.lookup.get(memo_key(states))

    def predict(self, events: list[dict], domain: Domain, rule_only_data: dict) -> PolicyPrediction:
        states = self.prediction_states(events, domain, rule_only_data)
        action = self.recall(states, events, domain, rule_only_data)
        if action is None:
            return self.prediction({})
        score = 1.0
        if self.use_nlu_confidence:
            message = ev.latest_user_message(events)
            intent = ((message or {}).get("parse_data") or {}).get("intent") or {}
            score = float(intent.get("confidence", 1.0)) if message else 1.0
        return self.prediction({action: score}, source=memo_key(states))

    def persist(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        data = {"lookup": self.lookup, "history_lengths": sorted(self.history_lengths)}
        (directory / "memorized_turns.json").write_text(json.dumps(data))

    def restore(self, directory: Path) -> None:
        data = json.loads((directory / "memorized_turns.json").read_text())
        self.lookup, self.history_lengths = data["lookup"], set(data["history_lengths"])


class AugmentedMemoizationPolicy(MemoizationPolicy):
    kind = "AugmentedMemoizationPolicy"

    def recall(self, states: list[ev.State], events: list[dict], domain: Domain,
               rule_only_data: dict) -> str | None:
        action = self.lookup.get(memo_key(states))
        if action is not None:
            return action
        return self._recall_using_truncation(states, events, domain, rule_only_data)

    def _recall_using_truncation(self, old_states: list[ev.State], events: list[dict],
                                 domain: Domain, rule_only_data: dict) -> str | None:
        applied = _trim_by_max_history(ev.applied_events(events), self.max_history)
        action_positions = [i for i, e in enumerate(applied) if e.get("event") == "action"]
        # start at the first action, then the second... each time from fresh slots, so
        # what the forgotten turns set is forgotten too
        shortest = min(self.history_lengths, default=0)
        for done, position in enumerate(action_positions):
            if len(action_positions) - done + 1 < shortest:
                break  # every shorter history has fewer states than any memory
            truncated = applied[position:]
            if not self.max_history and count_ml_states(truncated, domain) not in self.history_lengths:
                continue  # no memory has this many states: skip building them
            states = self.prediction_states(truncated, domain, rule_only_data)
            if states != old_states:
                memorised = self.lookup.get(memo_key(states))
                if memorised is not None:
                    return memorised
                old_states = states
        return None


def _trim_by_max_history(applied: list[dict], max_history: int | None) -> list[dict]:
    """Keep the events of the last ``max_history`` actions, starting at an action_listen."""
    if not max_history:
        return applied
    actions = 0
    for count, event in enumerate(reversed(applied), start=1):
        if event.get("event") == "action":
            actions += 1
            if actions > max_history and event.get("name") == ACTION_LISTEN:
                return applied[-count:]
    return applied
