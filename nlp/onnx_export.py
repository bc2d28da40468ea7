"""Export transformers encoders/classifiers to ONNX (plus an int8 copy) for ONNX Runtime."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def export(model, tokenizer, target: str | Path, output: str, quantize: bool = True) -> Path | None:
    """Write ``model``'s ``output`` (``last_hidden_state`` or ``logits``) graph to ``target``.

    Returns the int8 file when quantisation works, else the fp32 one; None if export fails.
    """
    import torch

    target = Path(target)
    sample = tokenizer(["where is my order A10023"], return_tensors="pt")

    class _Wrapped(torch.nn.Module):
        # Keyword arguments: BERT's positional order differs across transformers versions.
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return getattr(out, output)

    axes = {n: {0: "batch", 1: "seq"} for n in INPUT_NAMES}
    axes[output] = {0: "batch", 1: "seq"} if output == "last_hidden_state" else {0: "batch"}
    try:
        with torch.no_grad():
            torch.onnx.export(
                _Wrapped(model.eval()),
                tuple(sample[n] for n in INPUT_NAMES),
                str(target),
                input_names=list(INPUT_NAMES),
                output_names=[output],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
    except Exception as exc:  # the exporter's optional deps (onnx) vary between installs
        logger.warning("ONNX export of %s failed, torch will serve it: %s", target.name, exc)
        target.unlink(missing_ok=True)
        return None
    if not quantize:
        return target
    return quantize_int8(target, int8_path(target))


def quantize_int8(source: str | Path, target: str | Path) -> Path:
    """Dynamic int8 copy of ``source`` at ``target``; ``source`` itself if that fails."""
    source, target = Path(source), Path(target)
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per-channel weights on MatMuls only: quantising everything (the default) moves
        # MiniLM's embeddings far off (cosine 0.94 mean, 0.76 worst vs ~0.99 / 0.95 here).
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
        return target
    except Exception as exc:
        logger.warning("int8 quantisation failed, using the fp32 ONNX model: %s", exc)
        target.unlink(missing_ok=True)
        return source


def int8_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".int8.onnx")


def session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime CPU session; ``threads`` defaults to CAREBOT_NLU_THREADS or 1.

    One thread without spin-waiting serves single messages fastest on a busy two-core
    machine (spinning threads fight the web server and each other for the cores).
    """
    import onnxruntime as ort

    if threads is None:
        threads = int(os.environ.get("CAREBOT_NLU_THREADS", "1"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(threads, os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
