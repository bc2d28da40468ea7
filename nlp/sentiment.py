"""Sentiment probabilities -> :class:`Sentiment`, and any Hugging Face sentiment model.

Carebot's own sentiment model is a head on the shared encoder pass (:mod:`nlp.joint`);
:class:`SentimentModel` serves a transformers sequence-classification directory instead,
for users who point ``NLU.load(..., sentiment_model=DIR)`` at one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from nlp.types import SENTIMENT_LABELS, Sentiment  # noqa: E402

logger = logging.getLogger(__name__)

_LABEL_ALIASES = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}


class SentimentModelError(RuntimeError):
    """The sentiment model directory is missing or unusable."""


def _torch():
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    return torch


ONNX_FILE = "model.onnx"


class SentimentModel:
    """Three-way sentiment (negative / neutral / positive) from a transformers classifier.

    Served by ONNX Runtime when the directory holds ``model.int8.onnx`` / ``model.onnx``
    (written by :func:`export_onnx`), otherwise by torch.
    """

    def __init__(
        self, tokenizer, id2label: dict, model=None, session=None, max_length: int = 64
    ) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval() if model is not None else None
        self._session = session
        self.max_length = max_length
        self._columns = _label_columns(id2label)

    @classmethod
    def load(cls, model_dir: str | Path, max_length: int = 64, onnx: bool = True) -> SentimentModel:
        """Load any transformers sequence-classification sentiment model directory."""
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise SentimentModelError(
                f"no sentiment model in {model_dir}; run `carebot train` to build one"
            )
        from transformers import AutoConfig, AutoTokenizer

        from nlp.onnx_export import int8_path, session

        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        id2label = AutoConfig.from_pretrained(model_dir).id2label
        for path in (int8_path(model_dir / ONNX_FILE), model_dir / ONNX_FILE):
            if onnx and path.exists():
                logger.info("sentiment model %s served by onnxruntime", path)
                return cls(tokenizer, id2label, session=session(path), max_length=max_length)
        _torch()
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
        return cls(tokenizer, id2label, model=model, max_length=max_length)

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
        kind = "np" if self._session is not None else "pt"
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors=kind,
        )
        if self._session is not None:
            names = {i.name for i in self._session.get_inputs()}
            feeds = {k: v.astype(np.int64) for k, v in batch.items() if k in names}
            return self._session.run(None, feeds)[0]
        import torch

        with torch.inference_mode():
            return self.model(**batch).logits.float().numpy()

    def predict(self, texts: list[str], batch_size: int = 64) -> list[Sentiment]:
        return [to_sentiment(p) for p in self.predict_proba(texts, batch_size)]


def export_onnx(model_dir: str | Path, quantize: bool = True) -> Path | None:
    """Add an ONNX copy of the transformers sentiment model in ``model_dir``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from nlp.onnx_export import export

    model_dir = Path(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return export(model, tokenizer, model_dir / ONNX_FILE, "logits", quantize)


def to_sentiment(probs: np.ndarray) -> Sentiment:
    label = SENTIMENT_LABELS[int(np.argmax(probs))]
    scores = {name: float(p) for name, p in zip(SENTIMENT_LABELS, probs, strict=True)}
    return Sentiment(label=label, score=scores["positive"] - scores["negative"], scores=scores)


def _label_columns(id2label: dict) -> dict[int, int]:
    """Map our column (neg, neu, pos) -> the model's output index, by label name."""
    by_name = {}
    for idx, name in id2label.items():
        canonical = _LABEL_ALIASES.get(str(name).lower())
        if canonical:
            by_name[canonical] = int(idx)
    if "negative" not in by_name or "positive" not in by_name:
        # LABEL_0/LABEL_1(/LABEL_2): the usual order is negative, (neutral,) positive.
        n = len(id2label)
        by_name = {"negative": 0, "positive": n - 1}
        if n == 3:
            by_name["neutral"] = 1
    return {SENTIMENT_LABELS.index(name): idx for name, idx in by_name.items()}
