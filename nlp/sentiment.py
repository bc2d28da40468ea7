"""Sentiment probabilities -> :class:`Sentiment`, and any Hugging Face sentiment model.

Carebot's own sentiment model is a head on the shared encoder pass (:mod:`nlp.joint`);
:class:`SentimentModel` serves a transformers sequence-classification directory instead,
for users who point ``NLU.load(..., sentiment_model=DIR)`` at one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from nlp.base_model import torch_threads
from nlp.types import SENTIMENT_LABELS, Sentiment, sentiment_label

logger = logging.getLogger(__name__)


class SentimentModelError(RuntimeError):
    """The sentiment model directory is missing or unusable."""


class SentimentModel:
    """Three-way sentiment (negative / neutral / positive) from a transformers classifier."""

    def __init__(self, tokenizer, id2label: dict, model, max_length: int = 64) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.max_length = max_length
        self._columns = _label_columns(id2label)

    @classmethod
    def load(
        cls, model_dir: str | Path, max_length: int = 64, threads: int | None = None
    ) -> SentimentModel:
        """Load a transformers sequence-classification sentiment model directory."""
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise SentimentModelError(
                f"no sentiment model in {model_dir}; run `carebot train` to build one"
            )
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        torch_threads(threads)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True)
        return cls(tokenizer, model.config.id2label, model, max_length=max_length)

    def predict_proba(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Rows of [p(negative), p(neutral), p(positive)]."""
        out = np.zeros((len(texts), 3), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            logits = self._logits(texts[i : i + batch_size])
            logits = logits - logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            for col, src in self._columns.items():
                out[i : i + len(probs), col] = probs[:, src]
        return out

    def _logits(self, texts: list[str]) -> np.ndarray:
        import torch

        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            return self.model(**batch).logits.float().numpy()

    def predict(self, texts: list[str], batch_size: int = 64) -> list[Sentiment]:
        return [to_sentiment(p) for p in self.predict_proba(texts, batch_size)]


def to_sentiment(probs: np.ndarray) -> Sentiment:
    label = SENTIMENT_LABELS[int(np.argmax(probs))]
    scores = {name: float(p) for name, p in zip(SENTIMENT_LABELS, probs, strict=True)}
    return Sentiment(label=label, score=scores["positive"] - scores["negative"], scores=scores)


def _label_columns(id2label: dict) -> dict[int, int]:
    """Map our column (neg, neu, pos) -> the model's output index, by label name."""
    by_name = {}
    for idx, name in id2label.items():
        canonical = sentiment_label(name, numeric=False)
        if canonical:
            by_name[canonical] = int(idx)
    if "negative" not in by_name or "positive" not in by_name:
        # LABEL_0/LABEL_1(/LABEL_2): the usual order is negative, (neutral,) positive.
        n = len(id2label)
        by_name = {"negative": 0, "positive": n - 1}
        if n == 3:
            by_name["neutral"] = 1
    return {SENTIMENT_LABELS.index(name): idx for name, idx in by_name.items()}
