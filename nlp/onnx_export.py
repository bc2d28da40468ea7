"""ONNX Runtime helpers: int8 copies of exported graphs and CPU inference sessions."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

# A Gather table this big is a vocabulary's embeddings (MiniLM's: 30522 x 384, 47 MB as fp32,
# 3/4 of the int8 graph); the position and token-type tables are far smaller and stay fp32.
EMBEDDING_TABLE_MIN = 1_000_000


def quantize_int8(source: str | Path, target: str | Path, *,
                  embedding_tables: bool = False) -> Path:
    """Dynamic int8 copy of ``source`` at ``target``; ``source`` itself if that fails.

    ``embedding_tables``: also store the word-embedding table as int8 rows
    (:func:`quantize_embedding_tables`, ~33 MB less per serving process). Off: in CI's
    CLINC150 sample it moved the project's own out-of-scope threshold enough to lose 3 points
    of out-of-scope recall there (0.9875 -> 0.9575) and moved sentiment probabilities by up to
    0.16 against the torch model (0.07 without it)."""
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
        if embedding_tables:
            quantize_embedding_tables(target)
        return target
    except Exception as exc:
        logger.warning("int8 quantisation failed, using the fp32 ONNX model: %s", exc)
        target.unlink(missing_ok=True)
        return source


def quantize_embedding_tables(path: str | Path) -> int:
    """Store each big fp32 embedding table of the graph at ``path`` as int8 rows with one
    fp32 scale per row, looked up and scaled back at run time (``Gather`` of both, ``Cast``,
    ``Mul``): a quarter of the table's memory in every process that serves the graph. The
    looked-up vectors differ from fp32 by at most half a step (row max / 254); the sentence
    embeddings by cosine > 0.999. Returns how many tables it rewrote (the file is rewritten
    only if any)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    tables = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    rewritten = 0
    for node in list(graph.node):
        table = tables.get(node.input[0]) if node.op_type == "Gather" else None
        if table is None or table.data_type != TensorProto.FLOAT or len(table.dims) != 2:
            continue
        if table.dims[0] * table.dims[1] < EMBEDDING_TABLE_MIN or uses[table.name] != 1:
            continue  # small, or shared with another op (tied weights) that wants fp32
        if any(a.name == "axis" and a.i != 0 for a in node.attribute):
            continue
        rows, scales = quantize_rows(numpy_helper.to_array(table))
        name, ids, out = table.name, node.input[1], node.output[0]
        graph.initializer.remove(table)
        graph.initializer.extend([numpy_helper.from_array(rows, f"{name}_int8"),
                                  numpy_helper.from_array(scales, f"{name}_scale")])  # fmt: skip
        index = list(graph.node).index(node)
        graph.node.remove(node)
        looked_up = [
            helper.make_node("Gather", [f"{name}_int8", ids], [f"{out}_int8"], axis=0),
            helper.make_node("Gather", [f"{name}_scale", ids], [f"{out}_scale"], axis=0),
            helper.make_node("Cast", [f"{out}_int8"], [f"{out}_float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{out}_float", f"{out}_scale"], [out]),
        ]
        for offset, new in enumerate(looked_up):
            new.name = f"{node.name or name}/int8_{offset}"
            graph.node.insert(index + offset, new)
        rewritten += 1
        logger.info("embedding table %s stored as int8 rows (%s)", name, list(table.dims))
    if rewritten:
        onnx.save(model, str(path))
    return rewritten


def quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row: ``(rows int8 (n, d), scales float32 (n, 1))`` with
    ``rows * scales`` ~ ``table``."""
    table = np.asarray(table, dtype=np.float32)
    peak = np.abs(table).max(axis=1, keepdims=True)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    rows = np.clip(np.rint(table / scales), -127, 127).astype(np.int8)
    return rows, scales


def int8_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".int8.onnx")


def session(path: str | Path, threads: int = 1):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads.

    One thread without spin-waiting serves single messages fastest on a busy two-core
    machine (spinning threads fight the web server and each other for the cores). No memory
    patterns: each (batch, length) shape the live traffic brings would keep its own plan and
    arena blocks (a parsing process grew ~15 MB per 1,000 messages with them, ~9 without).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(threads, os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_mem_pattern = False
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
