"""Sentence embeddings from all-MiniLM-L6-v2 (mean pooling, L2-normalised), and the
sentiment probabilities computed in the same pass when a joint model is trained.

Backends, best first: the joint ONNX graph built with the base models (``nlu.int8.onnx``:
embedding + sentiment, see :mod:`nlp.joint`), the torch joint model, plain MiniLM in torch.
One instance per base-models directory per process.

The ONNX backend is what serving uses: ONNX Runtime and the `tokenizers` tokenizer
(:mod:`nlp.tokenizer`), never torch or transformers, which only the torch backends (training,
or base models without an exported graph) import.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from nlp.tokenizer import FastTokenizer, tokenizer_path

logger = logging.getLogger(__name__)

JOINT_ONNX_FILE = "nlu.onnx"
JOINT_ONNX_INT8_FILE = "nlu.int8.onnx"
SENTIMENT_DIR = "sentiment"
BRANCH_FILE = "branch.safetensors"
INTENT_OUTPUT = "intent_embedding"  # a fine-tuned project graph's extra output (nlp.finetune)
# Up to this many texts run on the one-thread session: all live traffic (the server's NLU
# batcher sends at most 32), so a serving process holds one ONNX Runtime session (a second
# one, for two threads, costs some 100 MB more); training and evaluation batches use two.
SMALL_BATCH = 64
# Live batches run through the graph this many messages at a time (after sorting by length):
# on one thread, batches of 8-16 gave ~2x the messages per second of one run of 64 (less
# padding, smaller activations; measured on the shared 2-core machine).
LIVE_CHUNK = 16
_lock = threading.Lock()
_shared: dict[tuple, SentenceEncoder] = {}


class SentenceEncoder:
    """``encode(texts) -> (n, 384) float32`` unit vectors; ``encode_with_sentiment`` adds
    (n, 3) [negative, neutral, positive] probabilities when the model has a sentiment head."""

    def __init__(
        self,
        onnx_path: str | Path | None = None,
        sentiment_dir: str | Path | None = None,
        max_length: int = 128,
        threads: int | None = None,
        tokenizer_dir: str | Path | None = None,
    ) -> None:
        """``threads``: ONNX Runtime / torch threads; None runs single messages on one thread
        and batches on up to two. The tokenizer is ``tokenizer.json`` in ``tokenizer_dir``
        (default: beside the ONNX graph), else MiniLM's own."""
        self.max_length = max_length
        self.threads = threads
        if tokenizer_dir is None and onnx_path is not None:
            tokenizer_dir = Path(onnx_path).parent
        self.tokenizer = FastTokenizer(tokenizer_path(tokenizer_dir))
        self._sessions: dict[int, object] = {}
        self._onnx_path = Path(onnx_path) if onnx_path and Path(onnx_path).exists() else None
        self._model = None
        self._joint = None
        self.has_intent_embedding = False
        if self._onnx_path is not None:
            self._outputs = [o.name for o in self._session(1).get_outputs()]
            self.has_sentiment = "sentiment" in self._outputs
            self.has_intent_embedding = INTENT_OUTPUT in self._outputs
            self.backend = f"onnxruntime:{self._onnx_path.name}"
        elif sentiment_dir is not None:
            _require_torch(sentiment_dir)
            from nlp.joint import load_joint

            self._joint, _, _ = load_joint(sentiment_dir, threads=threads)
            self.has_sentiment = True
            self.backend = "torch:joint"
        else:
            _require_torch(None)
            from nlp.base_model import load_base, torch_threads

            torch_threads(threads)
            self._model, _ = load_base()
            self.has_sentiment = False
            self.backend = "torch"
        logger.info("sentence encoder ready (%s)", self.backend)

    @classmethod
    def shared(
        cls,
        base_dir: str | Path | None = None,
        threads: int | None = None,
        graph: str | Path | None = None,
    ) -> SentenceEncoder:
        """The process-wide encoder for the base models in ``base_dir``: their joint ONNX
        graph if exported, else the torch joint model if a sentiment branch is trained, else
        plain MiniLM (also when ``base_dir`` is None). ``graph``: a project's fine-tuned
        graph (:mod:`nlp.finetune`) to run instead, with the base models' tokenizer."""
        onnx_path = sentiment_dir = None
        if graph is not None:
            onnx_path = Path(graph)
            if not onnx_path.exists():
                raise FileNotFoundError(f"no ONNX graph at {onnx_path}")
        elif base_dir is not None:
            base_dir = Path(base_dir)
            names = (JOINT_ONNX_INT8_FILE, JOINT_ONNX_FILE)
            onnx_path = next((base_dir / n for n in names if (base_dir / n).exists()), None)
            if onnx_path is None and (base_dir / SENTIMENT_DIR / BRANCH_FILE).exists():
                sentiment_dir = base_dir / SENTIMENT_DIR
                logger.warning(
                    "no ONNX graph (%s or %s) in %s: serving the torch joint model instead "
                    "(imports torch: slower and some 400 MB more per process); "
                    "`carebot train` exports it",
                    JOINT_ONNX_INT8_FILE, JOINT_ONNX_FILE, base_dir,
                )
        # a graph rewritten in place (a project retrained in this process) is another model
        stamp = (onnx_path.stat().st_mtime_ns, onnx_path.stat().st_size) if onnx_path else None
        key = (str(onnx_path), stamp, str(sentiment_dir), threads)
        with _lock:
            if key not in _shared:
                _shared[key] = cls(
                    onnx_path=onnx_path,
                    sentiment_dir=sentiment_dir,
                    threads=threads,
                    tokenizer_dir=base_dir,
                )
            return _shared[key]

    @staticmethod
    def forget_shared() -> None:
        """Drop the process-wide encoders (after retraining in the same process)."""
        with _lock:
            _shared.clear()

    def _session(self, threads: int):
        # Small batches (live traffic) run on one thread; big ones may use two.
        if threads not in self._sessions:
            from nlp.onnx_export import session

            self._sessions[threads] = session(self._onnx_path, threads=threads)
        return self._sessions[threads]

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self.encode_with_sentiment(texts, batch_size)[0]

    def encode_with_sentiment(
        self, texts: list[str], batch_size: int = 64
    ) -> tuple[np.ndarray, np.ndarray | None]:
        embeddings, sentiment, _ = self.encode_all(texts, batch_size)
        return embeddings, sentiment

    def encode_for_intents(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """The embedding the intent classifier reads: a fine-tuned graph's intent embedding,
        else the sentence embedding."""
        embeddings, _, intent = self.encode_all(texts, batch_size)
        return embeddings if intent is None else intent

    def for_intents(self) -> IntentEmbeddings:
        """This encoder as the intent classifier sees it (``encode`` = :meth:`encode_for_intents`)."""
        return IntentEmbeddings(self)

    def encode_all(
        self, texts: list[str], batch_size: int = 64
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(sentence embeddings, sentiment probabilities or None, fine-tuned intent
        embeddings or None) in one pass."""
        n = len(texts)
        embeddings = np.zeros((n, 384), dtype=np.float32)
        sentiment = np.zeros((n, 3), dtype=np.float32) if self.has_sentiment else None
        intent = None  # (n, the graph's intent embedding width), allocated at the first batch
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(n), key=lambda i: len(texts[i]))
        if n <= SMALL_BATCH and self._onnx_path is not None and self.threads is None:
            batch_size = min(batch_size, LIVE_CHUNK)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            batch = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            emb, probs, intent_emb = self._forward(batch, large=n > SMALL_BATCH)
            embeddings[idx] = emb
            if sentiment is not None:
                sentiment[idx] = probs
            if intent_emb is not None:
                if intent is None:
                    intent = np.zeros((n, intent_emb.shape[1]), dtype=np.float32)
                intent[idx] = intent_emb
        if intent is None and self.has_intent_embedding:
            intent = np.zeros((0, 384), dtype=np.float32)  # no texts
        return embeddings, sentiment, intent

    def _forward(self, batch, large: bool):
        feeds = {k: v.astype(np.int64) for k, v in batch.items()}
        if self._onnx_path is not None:
            threads = self.threads or (min(2, os.cpu_count() or 1) if large else 1)
            session = self._session(threads)
            names = {i.name for i in session.get_inputs()}
            outputs = session.run(None, {k: v for k, v in feeds.items() if k in names})
            named = dict(zip(self._outputs, outputs, strict=True))
            if self.has_sentiment:
                return named["embedding"], named["sentiment"], named.get(INTENT_OUTPUT)
            return _pool(outputs[0], feeds["attention_mask"]), None, None
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v) for k, v in feeds.items()}
            if "token_type_ids" not in tensors:
                tensors["token_type_ids"] = torch.zeros_like(tensors["input_ids"])
            if self._joint is not None:
                emb, probs = self._joint(
                    tensors["input_ids"], tensors["attention_mask"], tensors["token_type_ids"]
                )
                return emb.numpy(), probs.numpy(), None
            hidden = self._model(**tensors).last_hidden_state.numpy()
        return _pool(hidden, feeds["attention_mask"]), None, None


class IntentEmbeddings:
    """``encode(texts)``: the embeddings a project's intent classifier reads (see
    :meth:`SentenceEncoder.encode_for_intents`); never pickled with the classifier."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self.encoder.encode_for_intents(texts, batch_size)


def _require_torch(sentiment_dir: str | Path | None) -> None:
    """A clear error when the torch backends are needed but torch is not installed (a
    runtime-only install serves the exported ONNX graph)."""
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        where = f"the base models in {Path(sentiment_dir).parent}" if sentiment_dir else "MiniLM"
        raise RuntimeError(
            f"{where} need {' and '.join(missing)} here (no exported {JOINT_ONNX_INT8_FILE} / "
            f"{JOINT_ONNX_FILE}): install Carebot's training extra (pip install "
            "'carebot[train]') or copy the ONNX graph built by `carebot train` beside them"
        )


def _pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    mask = attention_mask.astype(np.float32)
    pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.clip(
        mask.sum(axis=1, keepdims=True), 1e-9, None
    )
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
