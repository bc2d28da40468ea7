"""RulePolicy's training-time checks, as Rasa runs them.

- ``restrict_rules``: a rule holds at most one user message (rules are not state machines);
- contradictions: replaying every rule and story through the trained rules, an action the
  data asks for where a rule predicts another is an error naming both;
- the same replay tells which rules no story uses: their turns are hidden from the ML
  policies at prediction time (``hide_rule_turn``), as Rasa hides them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from bot.dialogue import events as ev
from bot.dialogue.policies.base import InvalidRule
from bot.dialogue.policies.training_data import TrainingTracker
from bot.dialogue.project.model import ACTION_LISTEN, Domain

if TYPE_CHECKING:
    from bot.dialogue.policies.base import Policy as RulePolicy

ALLOWED_USER_INPUTS = 1


def _where(tracker: TrainingTracker) -> str:
    return f"'{tracker.name}' ({tracker.source})" if tracker.source else f"'{tracker.name}'"


def check_rule_restriction(rule_trackers: list[TrainingTracker]) -> None:
    too_long = [t for t in rule_trackers if sum(e.get("event") == "user" for e in t.events) > ALLOWED_USER_INPUTS]
    if too_long:
        names = ", ".join(_where(t) for t in too_long)
        raise InvalidRule(
            f"Rules {names} contain more than {ALLOWED_USER_INPUTS} user message. Rules are not "
            "meant to hardcode a state machine: write these as stories, or set "
            "'restrict_rules: false' on RulePolicy in config.yml."
        )


def rule_only_slots_and_loops(rule_states: list[list[ev.State]],
                              story_states: list[list[ev.State]]) -> tuple[list[str], list[str]]:
    """Slots and loops that only rules mention: ML policies must not see them."""
    def collect(all_states):
        slots, loops = set(), set()
        for states in all_states:
            for state in states:
                slots.update(state.get(ev.SLOTS, {}))
                loop = state.get(ev.ACTIVE_LOOP, {}).get(ev.LOOP_NAME)
                if loop:
                    loops.add(loop)
        return slots, loops

    rule_slots, rule_loops = collect(rule_states)
    story_slots, story_loops = collect(story_states)
    return (sorted(rule_slots - story_slots - {ev.SHOULD_NOT_BE_SET}),
            sorted(rule_loops - story_loops - {ev.SHOULD_NOT_BE_SET}))


def analyze_rules(policy: RulePolicy, rule_trackers: list[TrainingTracker],
                  all_trackers: list[TrainingTracker], domain: Domain) -> list[str]:
    """Raise on contradictions; return the prediction sources no story relies on."""
    from bot.dialogue.policies.rule_keys import DEFAULT_RULES, LOOP_RULES, sources_for_defaults

    sources: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for tracker, predicted, gold, source in _replay(policy, rule_trackers, domain):
        if source is None:
            continue
        name = tracker.name
        if source.startswith(DEFAULT_RULES) or source.startswith(LOOP_RULES):
            gold, name = predicted, source  # the real gold action contradicts these
        sources[source].append((name, gold))

    errors, used_in_stories = [], set()
    for tracker, predicted, gold, source in _replay(policy, all_trackers, domain):
        if not tracker.is_rule and predicted == gold:
            used_in_stories.add(source)
        errors += _check_prediction(policy, sources, tracker, predicted, gold, source)
    if errors:
        raise InvalidRule(
            "Contradicting rules or stories found:\n" + "\n".join(errors)
            + "\nUpdate your stories and rules so that they don't contradict each other."
        )
    all_sources = set(sources) | sources_for_defaults(domain)
    return sorted(s for s in all_sources - used_in_stories if s is not None)


def _replay(policy: RulePolicy, trackers: list[TrainingTracker], domain: Domain):
    """Predict each predictable action of each tracker from the events before it."""
    for tracker in trackers:
        running: list[dict] = []
        next_is_unpredictable = True  # the first action of a tracker has no history
        for event in ev.applied_events(tracker.events):
            if event.get("event") != "action":
                running.append(event)
                continue
            if event.get("name") == ev.RULE_SNIPPET_ACTION:
                next_is_unpredictable = True
                running.append(event)
                continue
            if next_is_unpredictable or event.get("unpredictable"):
                next_is_unpredictable = False
                running.append(event)
                continue
            gold = event["name"]
            predicted, source = _predicted_action(policy, running, domain, gold, tracker.is_rule)
            yield tracker, predicted, gold, source
            running.append(event)


def _predicted_action(policy: RulePolicy, running: list[dict], domain: Domain, gold: str,
                      is_rule: bool) -> tuple[str | None, str | None]:
    predicted, source = _predict_next(policy, running, domain, is_rule)
    loop = ev.view(running, domain).active_loop_name
    # inside a loop the rules first predict the loop; an unhappy path needs it rejected
    if loop and predicted != gold and predicted == loop:
        running.append({"event": "action_execution_rejected", "name": loop})
        predicted, source = _predict_next(policy, running, domain, is_rule)
    return predicted, source


def _predict_next(policy: RulePolicy, running: list[dict], domain: Domain,
                  is_rule: bool) -> tuple[str | None, str | None]:
    prediction, source = policy.predict_with_source(running, domain)
    # stories may go unpredicted by rules; rules must always predict something
    if prediction.probabilities != policy.default_probabilities() or is_rule:
        return prediction.best_action(domain.action_names), source
    return None, source


def _check_prediction(policy: RulePolicy, sources: dict, tracker: TrainingTracker,
                      predicted: str | None, gold: str, source: str | None) -> list[str]:
    from bot.dialogue.policies.rule_keys import RULES

    if not predicted or not source or predicted == gold:
        return []
    if _should_delete(policy, source, tracker, predicted):
        policy.lookup[RULES].pop(source, None)
        return []
    contradicting = sorted({name for name, action in sources.get(source, []) if action != gold})
    if not contradicting:
        return []
    kind = "rule" if tracker.is_rule else "story"
    message = (f"- the prediction of the action '{gold}' in {kind} {_where(tracker)} is "
               f"contradicting with rule(s) '{', '.join(contradicting)}'")
    if predicted != policy.fallback_action:
        message += f" which predicted action '{predicted}'"
    return [message + "."]


def _should_delete(policy: RulePolicy, source: str, tracker: TrainingTracker, predicted: str) -> bool:
    """A story that continues a rule's (action, intent) pair differently removes the rule's
    trailing action_listen instead of contradicting it."""
    from bot.dialogue.policies.rule_keys import RULES

    if tracker.is_rule or source.count(ev.PREVIOUS_ACTION) > 1 or predicted != ACTION_LISTEN:
        return False
    return any(other.startswith(source[:-2]) and other != source for other in policy.lookup[RULES])
