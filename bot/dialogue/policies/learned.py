"""The learned policy config.yml's ``TEDPolicy`` maps to: a small neural net over states.

It trains, like TED, on story trackers and their augmentations (never rules), one example
per predictable action, on the last ``max_history`` featurised states (5 when unset):
intents, entities, influencing slots, active loop, previous actions. It is a scikit-learn
``MLPClassifier`` with a fixed seed, trained in seconds on a CPU; it generalises past exact
matches (an intent seen with one slot value, asked with another). Only its weights are
saved (``.npz``, no pickle); prediction is a numpy forward pass.

``UnexpecTEDIntentPolicy`` is accepted and predicts nothing (Rasa's never picks an action
either; it only flags unlikely intents, which Carebot does not do).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bot.dialogue.policies.base import (
    DEFAULT_POLICY_PRIORITY,
    UNLIKELY_INTENT_POLICY_PRIORITY,
    Policy,
    PolicyPrediction,
)
from bot.dialogue.policies.featurizer import StateFeaturizer
from bot.dialogue.policies.states import past_states, without_unlikely_intent
from bot.dialogue.policies.training_data import TrainingTracker, deduplicated_examples
from bot.dialogue.project.model import Domain

DEFAULT_WINDOW = 5
USED_OPTIONS = {"max_history", "epochs", "priority", "random_seed"}
MIN_EPOCHS, MAX_EPOCHS = 50, 300
HIDDEN_UNITS = 128


class LearnedPolicy(Policy):
    kind = "TEDPolicy"
    default_priority = DEFAULT_POLICY_PRIORITY

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.window = int(self.options.get("max_history") or DEFAULT_WINDOW)
        epochs = int(self.options.get("epochs", 100))
        self.max_iter = max(MIN_EPOCHS, min(MAX_EPOCHS, epochs))
        self.seed = int(self.options.get("random_seed", 42) or 42)
        self.featurizer: StateFeaturizer | None = None
        self.classes: list[str] = []
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self.examples = 0

    def train(self, trackers: list[TrainingTracker], domain: Domain, rule_only_data: dict) -> None:
        stories = [t for t in trackers if not t.is_rule]
        histories, labels = deduplicated_examples(
            stories, domain, max_history=self.window, skip_unlikely_intent=True
        )
        self.examples = len(labels)
        self.featurizer = StateFeaturizer.for_training(domain, histories)
        self.classes = sorted(set(labels))
        if len(self.classes) < 2:
            self.weights, self.biases = [], []  # nothing to tell apart: predict the one label
            return
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        x = self.featurizer.encode(histories, self.window)
        y = np.array([self.classes.index(label) for label in labels])
        model = MLPClassifier(
            hidden_layer_sizes=(HIDDEN_UNITS,), activation="relu", solver="adam",
            alpha=1e-4, batch_size=min(32, len(labels)), learning_rate_init=0.003,
            max_iter=self.max_iter, n_iter_no_change=self.max_iter, tol=0.0,
            random_state=self.seed, shuffle=True,
        )
        # small matrices: BLAS threads only spin against each other (5x slower on 2 cores)
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        self.weights = [np.asarray(w, dtype=np.float32) for w in model.coefs_]
        self.biases = [np.asarray(b, dtype=np.float32) for b in model.intercepts_]

    def _probabilities(self, x: np.ndarray) -> np.ndarray:
        if not self.weights:
            return np.ones((x.shape[0], len(self.classes)), dtype=np.float32)
        hidden = x
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            hidden = np.maximum(hidden @ w + b, 0.0)
        logits = hidden @ self.weights[-1] + self.biases[-1]
        if logits.shape[1] == 1:  # two classes: one logistic unit
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, events: list[dict], domain: Domain, rule_only_data: dict) -> PolicyPrediction:
        if self.featurizer is None or not self.classes:
            return self.prediction({})
        states = past_states(events, domain, ignore_rule_only_turns=True, rule_only_data=rule_only_data)
        states = without_unlikely_intent(states)
        probabilities = self._probabilities(self.featurizer.encode([states], self.window))[0]
        known = domain.action_name_set
        return self.prediction(
            {a: float(p) for a, p in zip(self.classes, probabilities, strict=True) if a in known}
        )

    def persist(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"classes": self.classes, "window": self.window, "examples": self.examples,
                "featurizer": self.featurizer.to_dict() if self.featurizer else None,
                "layers": len(self.weights)}
        (directory / "learned_policy.json").write_text(json.dumps(meta))
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)}
        arrays.update({f"b{i}": b for i, b in enumerate(self.biases)})
        np.savez(directory / "weights.npz", **arrays)

    def restore(self, directory: Path) -> None:
        meta = json.loads((directory / "learned_policy.json").read_text())
        self.classes, self.window, self.examples = meta["classes"], meta["window"], meta["examples"]
        self.featurizer = StateFeaturizer.from_dict(meta["featurizer"]) if meta["featurizer"] else None
        with np.load(directory / "weights.npz", allow_pickle=False) as arrays:
            self.weights = [arrays[f"w{i}"] for i in range(meta["layers"])]
            self.biases = [arrays[f"b{i}"] for i in range(meta["layers"])]


class UnlikelyIntentPolicy(Policy):
    """UnexpecTEDIntentPolicy: accepted, predicts nothing."""

    kind = "UnexpecTEDIntentPolicy"
    default_priority = UNLIKELY_INTENT_POLICY_PRIORITY

    def train(self, trackers: list[TrainingTracker], domain: Domain, rule_only_data: dict) -> None:
        return None

    def predict(self, events: list[dict], domain: Domain, rule_only_data: dict) -> PolicyPrediction:
        return self.prediction({})
