"""Intent classification: MiniLM sentence embeddings plus TF-IDF n-grams into a
logistic regression. Rasa's FallbackClassifier is its ``threshold`` and
``ambiguity_threshold``: a low or ambiguous top intent becomes ``nlu_fallback``."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from nlp.types import FALLBACK_INTENT, IntentScore


class IntentClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator over raw texts.

    ``encoder`` is anything with ``encode(list[str]) -> ndarray``; it is never pickled, so a
    loaded classifier takes the process-wide :class:`nlp.encoder.SentenceEncoder`.
    """

    def __init__(
        self,
        encoder=None,
        threshold: float = 0.3,
        ambiguity_threshold: float = 0.0,
        C: float = 10.0,
        use_tfidf: bool = True,
        embedding_weight: float = 1.0,
        max_iter: int = 2000,
    ) -> None:
        self.encoder = encoder
        self.threshold = threshold
        self.ambiguity_threshold = ambiguity_threshold
        self.C = C
        self.use_tfidf = use_tfidf
        self.embedding_weight = embedding_weight
        self.max_iter = max_iter

    def _encoder(self):
        if self.encoder is None:
            from nlp.encoder import SentenceEncoder

            self.encoder = SentenceEncoder.shared()
        return self.encoder

    def _features(self, texts: list[str], embeddings: np.ndarray | None, fit: bool):
        if embeddings is None:
            embeddings = self._encoder().encode(list(texts))
        dense = sparse.csr_matrix(embeddings * self.embedding_weight)
        if not self.use_tfidf:
            return dense
        lowered = [t.lower() for t in texts]
        if fit:
            self.tfidf_ = FeatureUnion(
                [
                    ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                    (
                        "char",
                        TfidfVectorizer(
                            analyzer="char_wb",
                            ngram_range=(2, 5),
                            sublinear_tf=True,
                            min_df=2,
                        ),
                    ),
                ]
            ).fit(lowered)
        return sparse.hstack([dense, self.tfidf_.transform(lowered)]).tocsr()

    def fit(self, texts: list[str], intents: list[str], embeddings: np.ndarray | None = None):
        features = self._features(texts, embeddings, fit=True)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter)
        self.model_.fit(features, intents)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Probabilities over ``classes_`` (the fallback is not a column)."""
        return self.model_.predict_proba(self._features(texts, embeddings, fit=False))

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.decide(self.predict_proba(texts, embeddings))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Top intent per row, or ``nlu_fallback`` when its confidence is below ``threshold``
        or within ``ambiguity_threshold`` of the second's (Rasa's FallbackClassifier)."""
        best = proba.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        top = proba[np.arange(len(proba)), best]
        ordered = np.sort(proba, axis=1)
        second = ordered[:, -2] if proba.shape[1] > 1 else np.zeros(len(proba))
        # getattr: classifiers pickled before the ambiguity threshold existed
        ambiguity = getattr(self, "ambiguity_threshold", 0.0)
        labels[(top < self.threshold) | (top - second < ambiguity)] = FALLBACK_INTENT
        return labels

    def rank(
        self, texts: list[str], embeddings: np.ndarray | None = None, top: int = 10
    ) -> list[tuple[IntentScore, list[IntentScore]]]:
        """(chosen intent, ranking of the ``top`` intents) per text, Rasa style."""
        proba = self.predict_proba(texts, embeddings)
        chosen = self.decide(proba)
        out = []
        for row, label in zip(proba, chosen, strict=True):
            order = np.argsort(-row)[:top]
            ranking = [IntentScore(str(self.classes_[j]), float(row[j])) for j in order]
            if label == FALLBACK_INTENT:
                # Rasa reports the fallback with the threshold as its confidence, put first
                # in front of the classifier's own ranking.
                fallback = IntentScore(FALLBACK_INTENT, float(self.threshold))
                out.append((fallback, [fallback, *ranking]))
            else:
                out.append((ranking[0], ranking))
        return out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["encoder"] = None
        return state

    def save(self, path: str | Path) -> None:
        joblib.dump(self, path)

    @classmethod
    def load(cls, path: str | Path, encoder=None) -> IntentClassifier:
        model = joblib.load(path)
        if not isinstance(model, cls):
            raise TypeError(
                f"{path} does not hold an IntentClassifier; retrain with `carebot train`"
            )
        model.encoder = encoder
        return model
