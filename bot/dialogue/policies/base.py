"""What every policy shares: its prediction, its priority, how it is saved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bot.dialogue.policies.training_data import TrainingTracker
from bot.dialogue.project.model import Domain, SourceRef

# Rasa's priorities: a tie in confidence goes to the higher one
RULE_POLICY_PRIORITY = 6
MEMOIZATION_POLICY_PRIORITY = 3
UNLIKELY_INTENT_POLICY_PRIORITY = 2
DEFAULT_POLICY_PRIORITY = 1


class PolicyConfigError(ValueError):
    """A config.yml policies entry Carebot cannot use; names the file and line."""

    def __init__(self, message: str, source: SourceRef | None = None) -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{message}")
        self.source = source


class UnknownPolicyError(PolicyConfigError):
    """config.yml names a policy Carebot does not have."""


class InvalidRule(ValueError):
    """Rules that cannot work as written (too many user turns, contradictions)."""


@dataclass
class PolicyPrediction:
    """One policy's opinion: a confidence per action (Rasa's ``PolicyPrediction``)."""

    probabilities: dict[str, float]
    policy_name: str
    priority: int
    events: list[dict] = field(default_factory=list)  # applied whichever policy wins
    optional_events: list[dict] = field(default_factory=list)  # applied if this one wins
    is_no_user_prediction: bool = False  # a loop's happy path: outranks predictions from input
    is_end_to_end_prediction: bool = False
    hide_rule_turn: bool = False  # made by a rule no story contains
    source: str | None = None  # which rule/memory made it (debugging)

    @property
    def max_confidence(self) -> float:
        return max(self.probabilities.values(), default=0.0)

    def best_action(self, action_names: list[str]) -> str:
        """The most confident action; ties go to the action listed first (Rasa's argmax)."""
        best, best_confidence = action_names[0], -1.0
        for name in action_names:
            confidence = self.probabilities.get(name, 0.0)
            if confidence > best_confidence:
                best, best_confidence = name, confidence
        return best


class Policy:
    """A dialogue policy: trained on training trackers, predicts from a conversation's events."""

    kind: ClassVar[str] = ""  # registry name ("RulePolicy"...)
    default_priority: ClassVar[int] = DEFAULT_POLICY_PRIORITY

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name  # the name config.yml used, recorded on predictions
        self.options = dict(options)
        self.priority = int(self.options.get("priority", self.default_priority))

    def train(self, trackers: list[TrainingTracker], domain: Domain, rule_only_data: dict) -> None:
        raise NotImplementedError

    def predict(self, events: list[dict], domain: Domain, rule_only_data: dict) -> PolicyPrediction:
        raise NotImplementedError

    def persist(self, directory: Path) -> None:
        """Write learned state under ``directory`` (JSON; arrays as .npz, never pickles)."""

    def restore(self, directory: Path) -> None:
        """Read back what :meth:`persist` wrote."""

    def prediction(self, probabilities: dict[str, float], **kwargs: Any) -> PolicyPrediction:
        return PolicyPrediction(probabilities, self.name, self.priority, **kwargs)


def confidence_for(action: str | None, score: float, base: dict[str, float] | None = None) -> dict[str, float]:
    probabilities = dict(base or {})
    if action:
        probabilities[action] = score
    return probabilities
