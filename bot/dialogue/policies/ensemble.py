"""The policy ensemble: every policy predicts, Rasa's rules pick the winner.

1. A follow-up action the events scheduled (``followup``, or ``action_session_start``
   after a restart) comes first, as Rasa's processor runs it (policy "FollowupAction").
2. An action whose execution was just rejected gets confidence 0 everywhere.
3. "No user" predictions (a loop's happy path) outrank every prediction made from input.
4. Higher confidence wins; equal confidence goes to the higher priority (RulePolicy 6,
   Memoization 3, UnexpecTED 2, TED 1), then to the policy listed first.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from bot.dialogue import events as ev
from bot.dialogue.policies.base import Policy, PolicyPrediction
from bot.dialogue.policies.config import POLICY_CLASSES, build_policies
from bot.dialogue.policies.rule import RulePolicy
from bot.dialogue.policies.training_data import training_trackers
from bot.dialogue.project.model import ACTION_LISTEN, Component, Domain, Story

FORMAT_VERSION = 1  # bump when training or the saved layout changes: old models retrain
FOLLOWUP_ACTION = "FollowupAction"
RANKING_LENGTH = 10


@dataclass
class Prediction:
    """The next action, and what the runtime records with it."""

    action: str
    confidence: float
    policy_name: str  # the name config.yml used, as Rasa records it on the action event
    events: list[dict] = field(default_factory=list)  # to apply before running the action
    hide_rule_turn: bool = False  # record on the action event (Rasa's "hide_rule_turn")
    is_no_user_prediction: bool = False
    ranking: list[tuple[str, float]] = field(default_factory=list)

    def action_event(self) -> dict:
        """The "action" event for the tracker, in Rasa's shape."""
        return {"event": "action", "name": self.action, "policy": self.policy_name,
                "confidence": self.confidence, "hide_rule_turn": self.hide_rule_turn}


class PolicyEnsemble:
    def __init__(self, policies: list[Policy], fingerprint: str = "", warnings: list[str] | None = None,
                 train_seconds: float = 0.0) -> None:
        self.policies = policies
        self.fingerprint = fingerprint
        self.warnings = list(warnings or [])
        self.train_seconds = train_seconds

    # -- training ------------------------------------------------------------------------

    @classmethod
    def train(cls, stories: list[Story], domain: Domain, policies: list[Component] | None,
              augmentation_factor: int = 50) -> PolicyEnsemble:
        """Train config.yml's policies (Rasa's defaults for an empty list) on stories and rules."""
        started = time.perf_counter()
        built, notes = build_policies(policies)
        rule_policy = next((p for p in built if isinstance(p, RulePolicy)), None)
        if rule_policy is not None:
            source = next((c.source for c in policies or [] if c.name == "RulePolicy"), None)
            rule_policy.check_domain(domain, source)
        trackers = training_trackers(stories, domain, augmentation_factor)
        rule_only: dict = {}
        if rule_policy is not None:
            rule_policy.train(trackers, domain, {})
            rule_only = rule_policy.rule_only_data
        for policy in built:
            if policy is not rule_policy:
                policy.train(trackers, domain, rule_only)
        fingerprint = cls.fingerprint_for(stories, domain, policies, augmentation_factor)
        return cls(built, fingerprint, notes, time.perf_counter() - started)

    @staticmethod
    def fingerprint_for(stories: list[Story], domain: Domain, policies: list[Component] | None,
                        augmentation_factor: int = 50) -> str:
        """Changes whenever anything training reads changes; equal: training can be skipped."""
        payload = {
            "format": FORMAT_VERSION,
            "augmentation_factor": augmentation_factor,
            "policies": [(c.name, c.options) for c in policies or []],
            "stories": [_plain(s) for s in stories if s.kind in ("story", "rule")],
            "domain": {
                "intents": _plain(list(domain.intents.values())),
                "entities": _plain(list(domain.entities.values())),
                "slots": _plain(list(domain.slots.values())),
                "forms": _plain(list(domain.forms.values())),
                "actions": domain.action_names,
            },
        }
        text = json.dumps(payload, sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()

    # -- prediction ----------------------------------------------------------------------

    def predict(self, events: list[dict], domain: Domain) -> Prediction:
        """The next action after ``events`` (a conversation in Rasa's event format)."""
        view = ev.view(events, domain)
        if view.followup_action and view.followup_action in domain.action_name_set:
            return Prediction(view.followup_action, 1.0, FOLLOWUP_ACTION,
                              ranking=[(view.followup_action, 1.0)])
        rule_only = next((p.rule_only_data for p in self.policies if isinstance(p, RulePolicy)), {})
        predictions = [p.predict(events, domain, rule_only) for p in self.policies]
        known = domain.action_name_set
        rejected = _rejected_action(events)
        for prediction in predictions:
            # a memory of an action the domain no longer has cannot win with it
            prediction.probabilities = {a: c for a, c in prediction.probabilities.items()
                                        if a in known and a != rejected}
        best = _pick_best(predictions)
        mandatory = [e for p in predictions for e in p.events] + best.optional_events
        if view.latest_action_name == ACTION_LISTEN:
            mandatory.append({"event": "user_featurization",
                              "use_text_for_featurization": best.is_end_to_end_prediction})
        action = best.best_action(domain.action_names)
        ranking = sorted(((a, c) for a, c in best.probabilities.items() if c > 0),
                         key=lambda item: -item[1])[:RANKING_LENGTH]
        return Prediction(action, best.probabilities.get(action, 0.0), best.policy_name, mandatory,
                          best.hide_rule_turn, best.is_no_user_prediction, ranking)

    # -- persistence ---------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        entries = []
        for index, policy in enumerate(self.policies):
            folder = f"{index}_{policy.kind}"
            policy.persist(directory / folder)
            entries.append({"name": policy.name, "kind": policy.kind, "options": policy.options,
                            "folder": folder})
        manifest = {"format": FORMAT_VERSION, "fingerprint": self.fingerprint, "policies": entries,
                    "warnings": self.warnings, "train_seconds": self.train_seconds}
        (directory / "ensemble.json").write_text(json.dumps(manifest, indent=1, default=repr))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> PolicyEnsemble:
        directory = Path(directory)
        path = directory / "ensemble.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no trained dialogue policies here; run `carebot train`.")
        manifest = json.loads(path.read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: dialogue policies saved by another Carebot version; "
                             "run `carebot train` again.")
        policies = []
        for entry in manifest["policies"]:
            policy = POLICY_CLASSES[entry["kind"]](entry["name"], entry["options"])
            policy.restore(directory / entry["folder"])
            policies.append(policy)
        return cls(policies, manifest["fingerprint"], manifest.get("warnings"),
                   manifest.get("train_seconds", 0.0))

    @staticmethod
    def saved_fingerprint(directory: str | Path) -> str | None:
        """The fingerprint of policies saved in ``directory`` (None: nothing saved there)."""
        path = Path(directory) / "ensemble.json"
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return manifest.get("fingerprint") if manifest.get("format") == FORMAT_VERSION else None


def _rejected_action(events: list[dict]) -> str | None:
    for event in reversed(events):
        kind = event.get("event")
        if kind == "action_execution_rejected":
            return event.get("name")
        if kind == "action":
            return None
    return None


def _pick_best(predictions: list[PolicyPrediction]) -> PolicyPrediction:
    no_user = any(p.is_no_user_prediction for p in predictions)
    end_to_end = any(p.is_end_to_end_prediction for p in predictions)
    best, best_score = predictions[0], (-1.0, -1)
    for prediction in predictions:
        if prediction.is_no_user_prediction != no_user:
            continue
        if not no_user and prediction.is_end_to_end_prediction != end_to_end:
            continue
        score = (prediction.max_confidence, prediction.priority)
        if score > best_score:
            best, best_score = prediction, score
    return best


def _plain(value: Any) -> Any:
    """Dataclasses as plain data without where they were written (paths move; content counts)."""
    if is_dataclass(value) and not isinstance(value, type):
        data = asdict(value)
        return _plain({k: v for k, v in data.items() if k not in ("source", "raw")})
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k not in ("source", "raw")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
