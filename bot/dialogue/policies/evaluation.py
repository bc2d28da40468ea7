"""Replaying test stories through trained policies, as ``rasa test`` (core) does.

Each test story becomes its tracker events (the story's own intents and entities stand in
for NLU: a perfect parse). Before every action of the story the ensemble predicts; the
story's action is then recorded whatever was predicted, so one miss costs one turn. As in
Rasa, actions are not run: a form's turns are the ones the story lists, and when the
prediction is the active form but the story does something else, the form is taken as
rejected and the ensemble asked again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.dialogue import events as ev
from bot.dialogue.policies.ensemble import PolicyEnsemble
from bot.dialogue.policies.training_data import story_events
from bot.dialogue.project.model import Domain, Story


@dataclass
class TurnResult:
    expected: str
    predicted: str
    policy_name: str
    confidence: float

    @property
    def correct(self) -> bool:
        return self.expected == self.predicted


@dataclass
class StoryResult:
    name: str
    turns: list[TurnResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(t.correct for t in self.turns)


def replay_story(ensemble: PolicyEnsemble, story: Story, domain: Domain) -> StoryResult:
    events = story_events(story, domain)
    result = StoryResult(story.name)
    partial = [events[0]]
    for event in events[1:]:
        if event.get("event") != "action":
            partial.append(event)
            continue
        expected = event["name"]
        prediction = ensemble.predict(partial, domain)
        loop = ev.view(partial, domain).active_loop_name
        if prediction.action != expected and prediction.action == loop and loop in domain.forms:
            partial.append({"event": "action_execution_rejected", "name": loop})
            prediction = ensemble.predict(partial, domain)
        result.turns.append(TurnResult(expected, prediction.action, prediction.policy_name,
                                       prediction.confidence))
        partial.append({"event": "action", "name": expected, "policy": prediction.policy_name,
                        "confidence": prediction.confidence})
    return result


def replay_stories(ensemble: PolicyEnsemble, stories: list[Story], domain: Domain) -> list[StoryResult]:
    return [replay_story(ensemble, s, domain) for s in stories]
