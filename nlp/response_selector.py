"""Rasa's ResponseSelector: which response of a retrieval intent (``faq/ask_price``) answers
a message, in Rasa's ``response_selector`` output shape. The intent classifier learns the
retrieval intent itself (``faq``); this model learns its response keys."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np

from nlp.components import INTENT_C
from nlp.intent_serving import ServingIntents
from nlp.training_data import Example


class ResponseSelector:
    def __init__(self, retrieval_intent: str | None = None) -> None:
        self.retrieval_intent = retrieval_intent  # None: all retrieval intents
        self.keys_: list[str] = []
        # the fitted nlp.intent.IntentClassifier; once saved, its serving form (numpy only)
        self.model_ = None

    @property
    def key(self) -> str:
        return self.retrieval_intent or "default"

    def _wanted(self, example: Example) -> bool:
        if not example.is_retrieval:
            return False
        return self.retrieval_intent is None or example.base_intent == self.retrieval_intent

    def fit(self, examples: list[Example], embeddings: np.ndarray, encoder=None):
        rows = [i for i, e in enumerate(examples) if self._wanted(e)]
        labels = [examples[i].intent for i in rows]
        self.keys_ = sorted(set(labels))
        if len(self.keys_) > 1:
            from nlp.intent import IntentClassifier  # scikit-learn: training only

            self.model_ = IntentClassifier(encoder=encoder, threshold=0.0, C=INTENT_C)
            self.model_.fit([examples[i].text for i in rows], labels, embeddings=embeddings[rows])
        return self

    def select(self, texts: list[str], embeddings: np.ndarray, top: int = 10) -> list[dict]:
        """Rasa's ``{"response": {...}, "ranking": [...]}`` per text."""
        if not self.keys_:
            return [_answer(None, 0.0, []) for _ in texts]
        if self.model_ is None:
            return [_answer(self.keys_[0], 1.0, [(self.keys_[0], 1.0)]) for _ in texts]
        proba = self.model_.predict_proba(texts, embeddings)
        out = []
        for row in proba:
            order = np.argsort(-row)[:top]
            ranking = [(str(self.model_.classes_[j]), float(row[j])) for j in order]
            out.append(_answer(ranking[0][0], ranking[0][1], ranking))
        return out

    @staticmethod
    def save_all(selectors: list[ResponseSelector], path: str | Path) -> None:
        """Saved with each model as its serving form where it has one (loading them then
        needs no scikit-learn)."""
        saved = []
        for selector in selectors:
            form = selector.model_.serving_form() if hasattr(selector.model_, "serving_form") else None
            if form is not None:
                copy = ResponseSelector(selector.retrieval_intent)
                copy.keys_ = list(selector.keys_)
                copy.model_ = ServingIntents(form)
                selector = copy
            saved.append(selector)
        joblib.dump(saved, path)

    @staticmethod
    def load_all(path: str | Path, encoder=None) -> list[ResponseSelector]:
        selectors = joblib.load(path)
        for selector in selectors:
            if selector.model_ is not None:
                selector.model_.encoder = encoder
        return selectors


def _answer(key: str | None, confidence: float, ranking: list[tuple[str, float]]) -> dict:
    return {
        "response": {
            "responses": None,  # the dialogue fills them from the domain's utter_action
            "confidence": round(confidence, 4),
            "intent_response_key": key,
            "utter_action": f"utter_{key}",
            "template_name": f"utter_{key}",
        },
        "ranking": [{"confidence": round(c, 4), "intent_response_key": k} for k, c in ranking],
    }
