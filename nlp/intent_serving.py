"""The intent classifier as a serving process runs it: numpy and the standard library, no
scikit-learn or SciPy (together ~50 MB of a serving process's RSS, issue 14).

`carebot train` fits :class:`nlp.intent.IntentClassifier` (scikit-learn) and saves, beside it,
its serving form (``intent.serving.joblib``: plain arrays and dicts): the logistic regression's
coefficients, each TF-IDF vectorizer's vocabulary, idf weights and analyzer settings, the
examples' embeddings and the confidence model's scaler and coefficients. :class:`ServingIntents`
computes from that the same probabilities, confidences and decisions as the fitted classifier
(to ~1e-12; tests/nlp/test_nlu_fast_head.py checks them against scikit-learn). Models saved
without a serving form load the scikit-learn classifier as before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np

from nlp.confidence import scope_features, spread_ranking
from nlp.types import FALLBACK_INTENT, IntentScore

SERVING_FORMAT = 1
# scikit-learn's default token pattern and whitespace run (sklearn.feature_extraction.text)
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_WHITE_SPACES = re.compile(r"\s\s+")


def serving_path(path: str | Path) -> Path:
    """Where the serving form of the classifier saved at ``path`` lives."""
    path = Path(path)
    return path.with_name(path.stem + ".serving.joblib")


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file: a serving form names the classifier file it was made from."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def load_serving_form(serving: str | Path, classifier: str | Path) -> dict:
    """The serving form at ``serving`` if it is the form of the classifier saved at
    ``classifier`` (ValueError otherwise: another fit's, or an older format)."""
    saved = joblib.load(serving)
    if not isinstance(saved, dict):
        raise ValueError("not a serving form")
    if saved.get("classifier_sha256") != file_digest(classifier):
        raise ValueError(f"made from another {Path(classifier).name} (retrained since?)")
    return saved


def make_analyzer(kind: str, ngram_range: tuple[int, int],
                  token_pattern: str = TOKEN_PATTERN) -> Callable[[str], list[str]]:  # fmt: skip
    """scikit-learn's ``build_analyzer()`` of a TfidfVectorizer with ``analyzer=kind``
    (``"word"`` or ``"char_wb"``), ``lowercase=True`` and no accents stripping, stop words,
    preprocessor or tokenizer: the same n-grams, in the same order."""
    min_n, max_n = ngram_range
    if kind == "word":
        find = re.compile(token_pattern).findall

        def words(text: str) -> list[str]:
            tokens = find(text.lower())
            if max_n == 1:
                return tokens if min_n == 1 else []
            out = list(tokens) if min_n == 1 else []
            for n in range(max(min_n, 2), min(max_n + 1, len(tokens) + 1)):
                out += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
            return out

        return words
    if kind == "char_wb":

        def chars(text: str) -> list[str]:
            out: list[str] = []
            for w in _WHITE_SPACES.sub(" ", text.lower()).split():
                w = " " + w + " "
                for n in range(min_n, max_n + 1):
                    offset = 0
                    out.append(w[offset : offset + n])
                    while offset + n < len(w):
                        offset += 1
                        out.append(w[offset : offset + n])
                    if offset == 0:  # a word shorter than n: counted once
                        break
            return out

        return chars
    raise ValueError(f"no serving analyzer for {kind!r}")


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow for large |x| (SciPy's expit, to ~1e-16)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Head:
    """The fitted classifier's arithmetic: dense block, TF-IDF parts, softmax (or logistic for
    two classes), and the confidence model. ``parts``: one dict per vectorizer with
    ``kind``, ``ngram_range``, ``vocabulary``, ``idf``, ``sublinear``, ``l2`` and ``coef_t``
    (features x classes)."""

    def __init__(self, dense_weight: float, dense_t: np.ndarray, parts: list[dict],
                 intercept: np.ndarray, binary: bool, reference: np.ndarray | None,
                 confidence: tuple | None) -> None:  # fmt: skip
        self.dense_weight = dense_weight
        self.dense_t = dense_t  # (embedding dims, classes)
        self.parts = parts
        self.intercept = intercept
        self.binary = binary
        self.reference = reference  # float32 copy of the examples' embeddings
        self.confidence = confidence  # (mean, scale, coef, intercept) or None
        self._analyzers = self._make_analyzers()

    def _make_analyzers(self) -> list[Callable[[str], list[str]]]:
        return [make_analyzer(p["kind"], tuple(p["ngram_range"]),
                              p.get("token_pattern", TOKEN_PATTERN)) for p in self.parts]  # fmt: skip

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_analyzers"]  # closures: rebuilt from the parts' settings
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._analyzers = self._make_analyzers()

    def to_dict(self) -> dict:
        return {"dense_weight": self.dense_weight, "dense_t": self.dense_t, "parts": self.parts,
                "intercept": self.intercept, "binary": self.binary, "reference": self.reference,
                "confidence": self.confidence}  # fmt: skip

    @classmethod
    def from_dict(cls, saved: dict) -> Head:
        return cls(**saved)

    def proba(self, texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        # the dense block as scikit-learn has it: float32 embeddings times the weight
        dense = (np.asarray(embeddings) * self.dense_weight).astype(np.float64)
        scores = dense @ self.dense_t + self.intercept
        for part, analyze in zip(self.parts, self._analyzers, strict=True):
            vocabulary, idf, coef_t = part["vocabulary"], part["idf"], part["coef_t"]
            for row, text in enumerate(texts):
                counts: dict[int, int] = {}
                for feature in analyze(text):
                    j = vocabulary.get(feature)
                    if j is not None:
                        counts[j] = counts.get(j, 0) + 1
                if not counts:
                    continue
                idx = np.fromiter(counts, dtype=np.intp, count=len(counts))
                values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                if part["sublinear"]:
                    values = np.log(values) + 1.0
                values *= idf[idx]
                if part["l2"]:
                    norm = np.sqrt(values @ values)
                    if norm > 0:
                        values /= norm
                scores[row] += values @ coef_t[idx]
        if self.binary:
            positive = expit(scores[:, 0])
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def scores(self, texts: list[str], embeddings: np.ndarray,
               reference_labels: np.ndarray) -> np.ndarray:  # fmt: skip
        """Per-intent confidences (:func:`nlp.confidence.spread_ranking` of the confidence
        model's P(top intent is right)); the probabilities when there is no confidence model.
        ``reference_labels``: the class of each example in ``reference``."""
        proba = self.proba(texts, embeddings)
        if self.confidence is None or len(proba) == 0:
            return proba
        features = scope_features(proba, embeddings, self.reference, reference_labels)
        return spread_ranking(proba, self.confidence_of(features))

    def confidence_of(self, features: np.ndarray) -> np.ndarray:
        mean, scale, coef, intercept = self.confidence
        x = np.asarray(features, dtype=np.float64)
        if mean is not None:
            x = x - mean
        if scale is not None:
            x = x / scale
        return expit(x @ coef + intercept)


class Deciding:
    """Rasa's FallbackClassifier over per-intent scores, shared by the fitted classifier and
    its serving form: ``classes_``, ``threshold``, ``ambiguity_threshold``, ``scope_threshold_``
    and ``scores(texts, embeddings)`` come from the class."""

    @property
    def effective_threshold(self) -> float:
        """Below this confidence the top intent becomes ``nlu_fallback``: the pipeline's
        threshold or the project's out-of-scope threshold, whichever is higher."""
        return max(self.threshold, getattr(self, "scope_threshold_", 0.0))

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Top intent per row, or ``nlu_fallback`` when its confidence is below
        :attr:`effective_threshold` or within ``ambiguity_threshold`` of the second's
        (Rasa's FallbackClassifier)."""
        best = scores.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        top = scores[np.arange(len(scores)), best]
        ordered = np.sort(scores, axis=1)
        second = ordered[:, -2] if scores.shape[1] > 1 else np.zeros(len(scores))
        # getattr: classifiers pickled before the ambiguity threshold existed
        ambiguity = getattr(self, "ambiguity_threshold", 0.0)
        labels[(top < self.effective_threshold) | (top - second < ambiguity)] = FALLBACK_INTENT
        return labels

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.decide(self.scores(texts, embeddings))

    def rank(
        self, texts: list[str], embeddings: np.ndarray | None = None, top: int = 10
    ) -> list[tuple[IntentScore, list[IntentScore]]]:
        """(chosen intent, ranking of the ``top`` intents) per text, Rasa style."""
        scores = self.scores(texts, embeddings)
        chosen = self.decide(scores)
        out = []
        for row, label in zip(scores, chosen, strict=True):
            order = np.argsort(-row)[:top]
            ranking = [IntentScore(str(self.classes_[j]), float(row[j])) for j in order]
            if label == FALLBACK_INTENT:
                # Rasa reports the fallback with the threshold as its confidence, put first
                # in front of the classifier's own ranking: the pipeline's threshold, or the
                # out-of-scope threshold when only that one was missed.
                top_score = ranking[0].confidence
                scope = getattr(self, "scope_threshold_", 0.0)
                only_scope = self.threshold <= top_score < scope
                fallback = IntentScore(
                    FALLBACK_INTENT, float(scope if only_scope else self.threshold)
                )
                out.append((fallback, [fallback, *ranking]))
            else:
                out.append((ranking[0], ranking))
        return out


class ServingIntents(Deciding):
    """The saved serving form of a fitted :class:`nlp.intent.IntentClassifier`: the same
    ``rank`` / ``scores`` / ``predict`` / ``predict_proba`` and thresholds, numpy only."""

    def __init__(self, saved: dict, encoder=None) -> None:
        if saved.get("format") != SERVING_FORMAT:
            raise ValueError(f"serving form {saved.get('format')!r}, expected {SERVING_FORMAT}")
        self.encoder = encoder
        self.classes_ = np.asarray(saved["classes"], dtype=object).astype(str)
        self.threshold = float(saved["threshold"])
        self.ambiguity_threshold = float(saved["ambiguity_threshold"])
        self.scope_threshold_ = float(saved["scope_threshold"])
        self.reference_labels_ = np.asarray(saved["reference_labels"])
        self.calibration_ = dict(saved.get("calibration") or {})
        self.head = Head.from_dict(saved["head"])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["encoder"] = None  # the process-wide encoder, never pickled (as IntentClassifier)
        return state

    def set_params(self, **params) -> ServingIntents:
        for name in ("threshold", "ambiguity_threshold"):
            if name in params:
                setattr(self, name, float(params.pop(name)))
        if params:
            raise ValueError(f"unknown parameters {sorted(params)}")
        return self

    def _embed(self, texts: list[str], embeddings: np.ndarray | None) -> np.ndarray:
        if embeddings is None:
            if self.encoder is None:
                raise RuntimeError("no encoder: pass embeddings or load with encoder=")
            embeddings = self.encoder.encode(list(texts))
        return embeddings

    def predict_proba(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        texts = list(texts)
        return self.head.proba(texts, self._embed(texts, embeddings))

    def scores(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        texts = list(texts)
        return self.head.scores(texts, self._embed(texts, embeddings), self.reference_labels_)
