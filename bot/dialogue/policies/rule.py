"""RulePolicy: rules, Rasa's default rules, loops (forms) and the core fallback, as Rasa's.

A rule is remembered as the featurised states after its ``...`` marker (or from the
conversation start), with only the slots the rule sets or conditions on. At prediction
time, in Rasa's order:

1. ``restart`` / ``back`` / ``session_start`` right after the user: ``action_restart`` /
   ``action_back`` / ``action_session_start``;
2. an active loop that did not reject: the loop again, or ``action_listen`` right after it
   ran (a "no user" prediction, which outranks every prediction made from the input);
3. the longest matching rule; inside a loop, a rule that only listens gives the turn back
   to the loop unless training data showed something else continuing there;
4. else ``core_fallback_action_name`` at ``core_fallback_threshold`` (when
   ``enable_fallback_prediction``), for any policy to beat.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.dialogue import events as ev
from bot.dialogue.policies import rule_checks
from bot.dialogue.policies.base import (
    RULE_POLICY_PRIORITY,
    Policy,
    PolicyConfigError,
    PolicyPrediction,
)
from bot.dialogue.policies.memoization import build_lookup
from bot.dialogue.policies.rule_keys import (  # noqa: F401 (re-exported)
    DEFAULT_ACTION_MAPPINGS,
    DEFAULT_RULES,
    DO_NOT_PREDICT_LOOP_ACTION,
    LOOP_RULES,
    LOOP_RULES_SEPARATOR,
    LOOP_WAS_INTERRUPTED,
    RULES,
    RULES_FOR_LOOP_UNHAPPY_PATH,
    RULES_NOT_IN_STORIES,
    sources_for_defaults,
)
from bot.dialogue.policies.states import last_past_states, past_states
from bot.dialogue.policies.training_data import TrainingTracker, deduplicated_examples
from bot.dialogue.project.model import (
    ACTION_DEFAULT_FALLBACK,
    ACTION_LISTEN,
    Domain,
)

DEFAULT_CORE_FALLBACK_THRESHOLD = 0.3

KNOWN_OPTIONS = {"priority", "core_fallback_threshold", "core_fallback_action_name",
                 "enable_fallback_prediction", "restrict_rules", "check_for_contradictions",
                 "use_nlu_confidence_as_score"}


def rule_key(states: list[ev.State]) -> str | None:
    """The states after the last ``...`` marker, as sorted JSON (None: nothing left)."""
    kept: list[ev.State] = []
    for state in reversed(states):
        if state.get(ev.PREVIOUS_ACTION, {}).get(ev.ACTION_NAME) == ev.RULE_SNIPPET_ACTION:
            break
        kept.insert(0, state)
    return json.dumps(kept, sort_keys=True) if kept else None


def _matches(rule_state: ev.State, state: ev.State) -> bool:
    for kind, rule_sub in rule_state.items():
        sub = state.get(kind, {})
        for key, wanted in rule_sub.items():
            if isinstance(wanted, list):
                wanted = tuple(wanted)
            have = sub.get(key)
            if isinstance(have, list):
                have = tuple(have)
            if wanted and wanted != ev.SHOULD_NOT_BE_SET and have != wanted:
                return False
            if wanted == ev.SHOULD_NOT_BE_SET and have and have != ev.SHOULD_NOT_BE_SET:
                return False
    return True


class RulePolicy(Policy):
    kind = "RulePolicy"
    default_priority = RULE_POLICY_PRIORITY

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.fallback_threshold = float(options.get("core_fallback_threshold", DEFAULT_CORE_FALLBACK_THRESHOLD))
        self.fallback_action = str(options.get("core_fallback_action_name", ACTION_DEFAULT_FALLBACK))
        self.enable_fallback = bool(options.get("enable_fallback_prediction", True))
        self.restrict_rules = bool(options.get("restrict_rules", True))
        self.check_for_contradictions = bool(options.get("check_for_contradictions", True))
        self.use_nlu_confidence = bool(options.get("use_nlu_confidence_as_score", False))
        self.lookup: dict[str, Any] = {RULES: {}, RULES_FOR_LOOP_UNHAPPY_PATH: {}}
        self._parsed: dict[str, list[ev.State]] = {}
        self._longest: int | None = None  # states in the longest rule (_longest_rule)
        self._index: dict[int, tuple] = {}  # rule keys by their last previous action

    # -- training ------------------------------------------------------------------------

    def check_domain(self, domain: Domain, source=None) -> None:
        if self.fallback_action not in domain.action_name_set:
            raise PolicyConfigError(
                f"RulePolicy's core_fallback_action_name '{self.fallback_action}' is not an action "
                "of the domain: add it under 'actions:' in domain.yml or name an existing one.",
                source,
            )

    def train(self, trackers: list[TrainingTracker], domain: Domain, rule_only_data: dict) -> None:
        originals = [t for t in trackers if not t.is_augmented]
        rule_trackers = [t for t in originals if t.is_rule]
        story_trackers = [t for t in originals if not t.is_rule]
        if self.restrict_rules:
            rule_checks.check_rule_restriction(rule_trackers)

        rule_states, rule_labels = deduplicated_examples(rule_trackers, domain, omit_unset_slots=True)
        rules = build_lookup(rule_states, rule_labels, key=rule_key)
        self.lookup = {RULES: {k: a for k, a in rules.items() if a != ev.RULE_SNIPPET_ACTION}}
        story_states, story_labels = deduplicated_examples(story_trackers, domain)
        if self.check_for_contradictions:
            slots, loops = rule_checks.rule_only_slots_and_loops(rule_states, story_states)
            self.lookup[ev.RULE_ONLY_SLOTS], self.lookup[ev.RULE_ONLY_LOOPS] = slots, loops
        self.lookup[RULES_FOR_LOOP_UNHAPPY_PATH] = _loop_unhappy_lookup(
            rule_states + story_states, rule_labels + story_labels
        )
        self._parsed = {}
        self._longest = None
        self._index = {}
        if self.check_for_contradictions:
            self.lookup[RULES_NOT_IN_STORIES] = rule_checks.analyze_rules(
                self, rule_trackers, originals, domain
            )

    @property
    def rule_only_data(self) -> dict:
        return {key: self.lookup.get(key, []) for key in (ev.RULE_ONLY_SLOTS, ev.RULE_ONLY_LOOPS)}

    # -- prediction ----------------------------------------------------------------------

    def default_probabilities(self) -> dict[str, float]:
        return {self.fallback_action: self.fallback_threshold} if self.enable_fallback else {}

    def _result(self, action: str, view: ev.TrackerView) -> dict[str, float]:
        score = 1.0
        if self.use_nlu_confidence and view.latest_message:
            intent = (view.latest_message.get("parse_data") or {}).get("intent") or {}
            score = float(intent.get("confidence", 1.0))
        return {**self.default_probabilities(), action: score}

    def _states_of(self, key: str) -> list[ev.State]:
        if key not in self._parsed:
            self._parsed[key] = json.loads(key)
        return self._parsed[key]

    def _candidates(self, keys, states: list[ev.State]) -> list[str]:
        """The keys that can match at all: a rule whose last state names the previous
        action matches only a conversation whose last state names the same one."""
        indexed = self._index.get(id(keys))
        if indexed is None or indexed[0] is not keys:
            by_action: dict[str, list[str]] = {}
            always: list[str] = []
            for key in keys:
                name = self._states_of(key)[-1].get(ev.PREVIOUS_ACTION, {}).get(ev.ACTION_NAME)
                if name and name != ev.SHOULD_NOT_BE_SET:
                    by_action.setdefault(name, []).append(key)
                else:
                    always.append(key)
            indexed = (keys, by_action, always)
            self._index[id(keys)] = indexed
        _, by_action, always = indexed
        if not states:
            return list(keys)
        name = states[-1].get(ev.PREVIOUS_ACTION, {}).get(ev.ACTION_NAME)
        return [*by_action.get(name, ()), *always] if name else always

    def _possible_keys(self, keys, states: list[ev.State]) -> list[str]:
        possible = []
        for key in self._candidates(keys, states):
            rule_states = self._states_of(key)
            for i in range(min(len(rule_states), len(states))):
                rule_state, state = rule_states[-1 - i], states[-1 - i]
                rule_prev = rule_state.get(ev.PREVIOUS_ACTION)
                prev = state.get(ev.PREVIOUS_ACTION)
                if not rule_prev and not prev:
                    continue  # both the conversation start
                if not rule_prev or not prev or not _matches(rule_state, state):
                    break
            else:
                possible.append(key)
        return possible

    def _find_action_from_rules(self, view: ev.TrackerView, states: list[ev.State]):
        rule_keys = self._possible_keys(self.lookup[RULES], states)
        predicted, best_key = None, ""
        if rule_keys:
            # several matches: one rule is a part of another; the longest one wins
            best_key = max(rule_keys, key=lambda k: (len(k), k))
            predicted = self.lookup[RULES][best_key]
        returning_from_unhappy_path = False
        loop = view.active_loop_name
        if loop:
            unhappy = self.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})
            conditions = [unhappy[k] for k in self._possible_keys(unhappy, states)]
            listens_outside_loop = predicted == ACTION_LISTEN and not ev.loop_name_in_state(
                self._states_of(best_key)[-1]
            )
            if listens_outside_loop:
                if DO_NOT_PREDICT_LOOP_ACTION not in conditions:
                    return loop, best_key, returning_from_unhappy_path
                predicted = None
            if LOOP_WAS_INTERRUPTED in conditions:
                returning_from_unhappy_path = True
        return predicted, best_key or rule_key(states), returning_from_unhappy_path

    def _longest_rule(self) -> int:
        """The most states any rule (or loop condition) compares with a conversation's."""
        if self._longest is None:
            keys = [*self.lookup.get(RULES, {}), *self.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})]
            self._longest = max((len(self._states_of(k)) for k in keys), default=1)
        return self._longest

    def predict_with_source(self, events: list[dict], domain: Domain, *,
                            tail: bool = False) -> tuple[PolicyPrediction, str | None]:
        """The rules' prediction and its source (the matched rule's key). With ``tail`` only
        the conversation's last states, as many as the longest rule, are compared: the same
        rules match, and the source of no match names those states, not the conversation."""
        view = ev.view(events, domain)
        if view.latest_action_name == ACTION_LISTEN and view.latest_intent in DEFAULT_ACTION_MAPPINGS:
            intent = view.latest_intent
            source = DEFAULT_RULES + intent
            return self._rule_prediction(self._result(DEFAULT_ACTION_MAPPINGS[intent], view), source), source

        loop = view.active_loop_name
        if loop and not view.is_active_loop_rejected and view.latest_action:
            if view.latest_action_name != loop:
                source = LOOP_RULES + loop
                action = loop
            else:
                source = f"{LOOP_RULES}{loop}{LOOP_RULES_SEPARATOR}{ACTION_LISTEN}"
                action = ACTION_LISTEN
            prediction = self._rule_prediction(self._result(action, view), source, is_no_user_prediction=True)
            return prediction, source

        states = (last_past_states(events, domain, self._longest_rule()) if tail
                  else past_states(events, domain))
        action, source, returning = self._find_action_from_rules(view, states)
        probabilities = self._result(action, view) if action else self.default_probabilities()
        return self._rule_prediction(probabilities, source, returning_from_unhappy_path=returning), source

    def predict(self, events: list[dict], domain: Domain, rule_only_data: dict) -> PolicyPrediction:
        return self.predict_with_source(events, domain, tail=True)[0]

    def _rule_prediction(self, probabilities: dict[str, float], source: str | None,
                         returning_from_unhappy_path: bool = False,
                         is_no_user_prediction: bool = False) -> PolicyPrediction:
        return self.prediction(
            probabilities,
            events=[{"event": "loop_interrupted", "is_interrupted": True}] if returning_from_unhappy_path else [],
            is_no_user_prediction=is_no_user_prediction,
            hide_rule_turn=source in set(self.lookup.get(RULES_NOT_IN_STORIES, [])),
            source=source,
        )

    # -- persistence ---------------------------------------------------------------------

    def persist(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "rule_policy.json").write_text(json.dumps({"lookup": self.lookup}, indent=1))

    def restore(self, directory: Path) -> None:
        self.lookup = json.loads((directory / "rule_policy.json").read_text())["lookup"]
        self._parsed = {}
        self._longest = None
        self._index = {}


def _loop_unhappy_lookup(all_states: list[list[ev.State]], labels: list[str]) -> dict[str, str]:
    """Where training data leaves a loop's happy path: after an interruption it returns
    without validating (``loop_was_interrupted``), or something else runs instead."""
    lookup: dict[str, str] = {}
    for states, action in zip(all_states, labels, strict=True):
        loop = ev.loop_name_in_state(states[-1])
        if not loop:
            continue
        # the meaningful action before the user's turn, and the turn itself
        if len(states) == 1 or not states[-2].get(ev.PREVIOUS_ACTION):
            last_two = [states[-1]]
        else:
            last_two = [{ev.PREVIOUS_ACTION: states[-2][ev.PREVIOUS_ACTION]}, states[-1]]
        key = rule_key(last_two)
        if not key:
            continue
        after_user = ev.is_prev_action_listen_in_state(states[-1])
        if after_user and action == loop:
            lookup[key] = LOOP_WAS_INTERRUPTED
        elif not after_user and action != loop:
            lookup[key] = DO_NOT_PREDICT_LOOP_ACTION
    return lookup


