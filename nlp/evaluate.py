"""Evaluation of intent and sentiment models on labelled data: the figures behind
``carebot nlu evaluate`` / ``carebot sentiment evaluate`` and ``benchmarks/nlu.py``."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nlp.types import FALLBACK_INTENT, SENTIMENT_LABELS, sentiment_label

logger = logging.getLogger(__name__)


class EvaluationDataError(ValueError):
    """The evaluation data cannot be read as asked."""


@dataclass
class Report:
    kind: str  # "intent" or "sentiment"
    examples: int
    accuracy: float
    macro_f1: float
    labels: list[str]
    confusion: list[list[int]]
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def write(self, json_path: str | Path | None, png_path: str | Path | None) -> None:
        if json_path:
            Path(json_path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        if png_path:
            confusion_png(np.array(self.confusion), self.labels, png_path, self.kind)


def read_csv_columns(path: str | Path, text_col: str, label_col: str) -> tuple[list, list]:
    """Texts and labels from two named columns of a CSV file."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in (text_col, label_col) if c not in (reader.fieldnames or [])]
        if missing:
            raise EvaluationDataError(
                f"{path} has no column {missing[0]!r} (columns: {', '.join(reader.fieldnames or [])});"
                " choose others with --text-column/--label-column"
            )
        rows = [(r[text_col], r[label_col]) for r in reader if r[text_col]]
    return [t for t, _ in rows], [str(label) for _, label in rows]


def read_training_file(path: str | Path, text_col: str, label_col: str) -> tuple[list, list]:
    """An nlu.yml (examples and intents) or a CSV with the given columns."""
    path = Path(path)
    if path.suffix in (".yml", ".yaml"):
        from nlp.training_data import load_nlu_files

        data = load_nlu_files([path])
        return [e.text for e in data.examples], [e.intent for e in data.examples]
    return read_csv_columns(path, text_col, label_col)


def classification_report(
    kind: str, gold: list[str], predicted: list[str], labels: list[str] | None = None
) -> Report:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = labels or sorted(set(gold) | set(predicted))
    return Report(
        kind=kind,
        examples=len(gold),
        accuracy=round(float(accuracy_score(gold, predicted)), 4),
        macro_f1=round(
            float(f1_score(gold, predicted, labels=sorted(set(gold)), average="macro")), 4
        ),
        labels=labels,
        confusion=confusion_matrix(gold, predicted, labels=labels).tolist(),
    )


def worst_confusions(gold: list[str], predicted: list[str], top: int = 10) -> list[dict]:
    pairs: dict[tuple[str, str], int] = {}
    for g, p in zip(gold, predicted, strict=True):
        if g != p:
            pairs[(g, p)] = pairs.get((g, p), 0) + 1
    ranked = sorted(pairs.items(), key=lambda kv: -kv[1])[:top]
    return [{"gold": g, "predicted": p, "count": n} for (g, p), n in ranked]


def intent_report(gold: list[str], predicted: list[str], oos_label: str | None) -> Report:
    """Accuracy, macro-F1, confusions; with ``oos_label`` gold out-of-scope rows count as
    right when predicted ``nlu_fallback``, and in-scope accuracy / OOS recall and precision
    are reported apart."""
    predicted = list(predicted)
    if oos_label is not None:
        predicted = [oos_label if p == FALLBACK_INTENT else p for p in predicted]
    report = classification_report("intent", gold, predicted)
    report.extra["worst_confused"] = worst_confusions(gold, predicted)
    if oos_label is not None:
        g, p = np.array(gold), np.array(predicted)
        inscope = g != oos_label
        flagged = p == oos_label
        report.extra.update(
            in_scope_accuracy=round(float((g[inscope] == p[inscope]).mean()), 4),
            oos_recall=round(float(flagged[~inscope].mean()), 4) if (~inscope).any() else None,
            oos_precision=round(float((~inscope)[flagged].mean()), 4) if flagged.any() else None,
        )
    return report


def choose_threshold(proba: np.ndarray, classes, gold: list[str], oos_label: str) -> float:
    """The confidence threshold that maximises (in-scope accuracy + OOS recall) / 2."""
    g = np.array(gold)
    inscope = g != oos_label
    best = proba.max(axis=1)
    top = np.asarray(classes)[proba.argmax(axis=1)]
    scores = []
    for t in np.linspace(0.0, 0.99, 100):
        keep = best >= t
        acc = (keep[inscope] & (top[inscope] == g[inscope])).mean()
        rec = (~keep[~inscope]).mean() if (~inscope).any() else 0.0
        scores.append(((acc + rec) / 2, t))
    return float(max(scores)[1])


def cross_validate_intents(
    texts, labels, folds: int, make_classifier, seed: int = 0, confidences: bool = False
):
    """Predictions for every text from ``folds``-fold stratified cross-validation; with
    ``confidences`` also each prediction's confidence (of its top intent)."""
    from sklearn.model_selection import StratifiedKFold

    texts, labels = list(texts), np.array(labels)
    predicted = np.empty(len(texts), dtype=object)
    counts = np.unique(labels, return_counts=True)[1]
    if counts.min() < folds:
        raise EvaluationDataError(
            f"every intent needs at least {folds} examples for {folds}-fold cross-validation "
            f"(the smallest has {counts.min()}); use fewer --folds"
        )
    confidence = np.zeros(len(texts))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(texts, labels):
        clf = make_classifier().fit([texts[i] for i in train_idx], labels[train_idx])
        scores = clf.scores([texts[i] for i in test_idx])
        predicted[test_idx] = clf.decide(scores)
        confidence[test_idx] = scores.max(axis=1)
    if confidences:
        return list(predicted), confidence
    return list(predicted)


def add_calibration(report: Report, confidence, correct) -> None:
    """ECE and the reliability bins of the top intent's confidence into ``report.extra``."""
    from nlp.confidence import expected_calibration_error

    ece, bins = expected_calibration_error(confidence, correct)
    report.extra["ece"] = round(ece, 4)
    report.extra["reliability"] = bins


def reliability_png(bins: list[dict], path: str | Path, ece: float) -> None:
    """Reliability diagram: accuracy against mean confidence per confidence bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    ax.bar(centres, [b["accuracy"] for b in bins], width=0.09, alpha=0.6, label="accuracy")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-",
            color="C3", label="accuracy at mean confidence")  # fmt: skip
    for b, x in zip(bins, centres, strict=True):
        ax.text(x, 0.02, str(b["count"]), ha="center", fontsize=7, rotation=90)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the top intent")
    ax.set_ylabel("share right")
    ax.set_title(f"reliability (ECE {ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def sentiment_report(gold: list[str], proba: np.ndarray) -> Report:
    """Three-way labels, or two-way (negative/positive) when the gold data has no neutral:
    then the larger of p(negative) and p(positive) decides."""
    gold = [normalise_sentiment_label(g) for g in gold]
    if "neutral" in gold:
        predicted = [SENTIMENT_LABELS[i] for i in proba.argmax(axis=1)]
        labels = list(SENTIMENT_LABELS)
    else:
        predicted = ["positive" if p[2] >= p[0] else "negative" for p in proba]
        labels = ["negative", "positive"]
    report = classification_report("sentiment", gold, predicted, labels)
    report.extra["worst_confused"] = worst_confusions(gold, predicted)
    return report


def normalise_sentiment_label(label: str) -> str:
    """negative/neutral/positive, also from neg/neu/pos and SST-style 0/1."""
    name = sentiment_label(label)
    if name is None:
        raise EvaluationDataError(
            f"unknown sentiment label {label!r}: use negative/neutral/positive (or 0/1)"
        )
    return name


def confusion_png(matrix: np.ndarray, labels: list[str], path: str | Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(5, min(30, 0.25 * len(labels) + 3))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=max(4, 10 - len(labels) // 20))
    ax.set_yticks(range(len(labels)), labels, fontsize=max(4, 10 - len(labels) // 20))
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"{title} confusion matrix")
    if len(labels) <= 20:
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
