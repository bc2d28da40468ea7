"""Confidence that means what it says, and out-of-scope detection, for the intent classifier.

The classifier's softmax alone is a poor judge of "none of my intents": a message about
football can still put 40 % on ``goodbye``. So the confidence Carebot reports is a second,
small model's estimate of P(the top intent is right), from features that look past the
softmax:

- the top probability (its log) and its margin over the second,
- how close the message is to the project's own examples in embedding space (cosine to the
  nearest example, mean of the five nearest, nearest example of the predicted intent).

That model is fitted on *cross-validated* predictions of the project's examples (each one
scored by a classifier that never saw it: right or wrong) plus Carebot's generic
out-of-scope messages (``nlp/data/out_of_scope.txt``: always wrong), so it is calibrated on
held-out data and knows what out-of-scope looks like in any project. The same held-out
scores choose the project's out-of-scope threshold (:func:`choose_scope_threshold`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERIC_OUT_OF_SCOPE = Path(__file__).parent / "data" / "out_of_scope.txt"
# A generic out-of-scope message this close (cosine) to one of the project's own examples is
# in scope for that project (a shop that sells umbrellas may be asked about rain).
NEAR_PROJECT = 0.75
# Share of the calibration weight given to the generic out-of-scope messages: about how
# often customers of a service bot type something no intent covers.
OUT_OF_SCOPE_SHARE = 0.15
FEATURES = ("log_top", "margin", "nearest", "nearest5", "nearest_of_intent")


def generic_out_of_scope(path: Path = GENERIC_OUT_OF_SCOPE) -> list[str]:
    """The generic out-of-scope messages shipped with Carebot (one a line, # comments)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def scope_features(
    proba: np.ndarray,
    embeddings: np.ndarray,
    reference: np.ndarray,
    reference_labels: np.ndarray,
) -> np.ndarray:
    """(n, len(FEATURES)) features of each message's top intent: ``proba`` over the
    classifier's classes, ``reference`` the unit embeddings of the examples it learned from
    and ``reference_labels`` their class indices (columns of ``proba``)."""
    n = len(proba)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    ordered = np.sort(proba, axis=1)
    top = ordered[:, -1]
    second = ordered[:, -2] if proba.shape[1] > 1 else np.zeros(n)
    best = proba.argmax(axis=1)
    sims = np.asarray(embeddings, dtype=np.float32) @ np.asarray(reference, np.float32).T
    k = min(5, sims.shape[1])
    # the k highest similarities, highest first (a partition, not a sort of every example)
    top_k = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:] if sims.shape[1] > k else sims
    nearest_k = -np.sort(-top_k, axis=1)
    same = reference_labels[None, :] == best[:, None]
    of_intent = np.where(same, sims, -1.0).max(axis=1)
    return np.column_stack(
        [np.log(np.clip(top, 1e-9, 1.0)), top - second, nearest_k[:, 0],
         nearest_k.mean(axis=1), of_intent]
    )  # fmt: skip


@dataclass
class HeldOut:
    """Cross-validated evidence: features and right/wrong of each project example, and the
    features of the generic out-of-scope messages (always wrong)."""

    features: np.ndarray
    correct: np.ndarray  # bool per project example
    oos_features: np.ndarray


class ConfidenceModel:
    """P(top intent is right | scope features): a logistic regression (scikit-learn style)."""

    def fit(self, held_out: HeldOut) -> ConfidenceModel:
        x = np.vstack([held_out.features, held_out.oos_features])
        y = np.r_[held_out.correct.astype(int), np.zeros(len(held_out.oos_features), int)]
        n_in, n_oos = len(held_out.features), len(held_out.oos_features)
        oos_weight = OUT_OF_SCOPE_SHARE * n_in / ((1 - OUT_OF_SCOPE_SHARE) * max(n_oos, 1))
        weights = np.r_[np.ones(n_in), np.full(n_oos, oos_weight)]
        if len(set(y)) < 2:
            raise ValueError("the confidence model needs right and wrong held-out examples")
        # scikit-learn here, not at import: a server computes confidences from the fitted
        # coefficients alone (nlp.intent_serving)
        from nlp.lean import import_sklearn

        import_sklearn()
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        self.model_.fit(x, y, logisticregression__sample_weight=weights)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(features)[:, 1]


def choose_scope_threshold(confidence_in: np.ndarray, correct: np.ndarray,
                           confidence_oos: np.ndarray) -> float:  # fmt: skip
    """The confidence below which a message is out of scope: the middle of the range that
    maximises (held-out in-scope accuracy + generic out-of-scope rejection) / 2, the
    criterion CLINC150's threshold is chosen by; 0 when there is nothing to reject."""
    if len(confidence_oos) == 0 or len(confidence_in) == 0:
        return 0.0
    grid = np.linspace(0.0, 0.95, 96)
    scores = np.array([
        ((confidence_in >= t) & correct).mean() + (confidence_oos < t).mean() for t in grid
    ])  # fmt: skip
    best = np.flatnonzero(scores >= scores.max() - 1e-9)
    return float(round(grid[best].mean(), 3))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = 10) -> tuple[float, list[dict]]:  # fmt: skip
    """ECE over ``bins`` equal-width confidence bins, and the bins (for a reliability
    diagram): |mean confidence - accuracy| weighted by each bin's share of the examples."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece, table = 0.0, []
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        conf, acc = float(confidence[sel].mean()), float(correct[sel].mean())
        ece += sel.mean() * abs(conf - acc)
        table.append({"low": float(edges[b]), "high": float(edges[b + 1]),
                      "count": int(sel.sum()), "confidence": conf, "accuracy": acc})  # fmt: skip
    return float(ece), table


def fold_of(labels: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per example, each intent's examples dealt round-robin after a shuffle
    (an intent with fewer examples than folds is simply missing from some training folds)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(labels), dtype=int)
    start = 0
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        out[idx] = (np.arange(len(idx)) + start) % folds
        start += len(idx)  # rotate so single-example intents do not all land in fold 0
    return out


def spread_ranking(proba: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Per-intent scores for the ranking: the top intent gets its calibrated confidence, the
    others their probabilities scaled so that none passes the top and they add up to <= 1."""
    out = np.asarray(proba, dtype=float).copy()
    rows = np.arange(len(out))
    best = out.argmax(axis=1)
    top = np.clip(out[rows, best], 1e-9, 1.0)
    rest = np.clip(1.0 - top, 1e-9, None)
    scale = np.minimum(confidence / top, (1.0 - confidence) / rest)
    out *= scale[:, None]
    out[rows, best] = confidence
    return out
