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
                  embedding_tables: str | None = None) -> Path:
    """Dynamic int8 copy of ``source`` at ``target``; ``source`` itself if that fails.

    ``embedding_tables``: how the word-embedding table is stored (:func:`store_embedding_tables`);
    None (the default) keeps fp32. Both smaller forms are opt-in, because the int8 MatMuls
    quantise their activations per batch and any change to the looked-up rows moves what comes
    out by that noise, which some figures sit close enough to feel:
    ``"fp16"``: half the table's memory (the session 73 -> 51 MB); embeddings as far from the
    fp32 graph's as the int8 graph's own (cosine 0.993 mean), but the product search's
    no-match precision on its request set fell 0.875 -> 0.75 (one request of eight) and
    CLINC150's val-threshold trade moved (in-scope 0.9625 -> 0.9383, out-of-scope recall
    0.9075 -> 0.9525). ``"int8"``: rows with a scale each (~33 MB less); in CI's CLINC150
    sample it lost 3 points of out-of-scope recall (0.9875 -> 0.9575) and moved sentiment
    probabilities by up to 0.16 against the torch model (0.07 without it)."""
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
            store_embedding_tables(target, embedding_tables)
        return target
    except Exception as exc:
        logger.warning("int8 quantisation failed, using the fp32 ONNX model: %s", exc)
        target.unlink(missing_ok=True)
        return source


def quantize_embedding_tables(path: str | Path) -> int:
    """:func:`store_embedding_tables` as int8 rows."""
    return store_embedding_tables(path, "int8")


def store_embedding_tables(path: str | Path, dtype: str = "fp16") -> int:
    """Store each big fp32 embedding table of the graph at ``path`` in less memory, looked up
    and turned back into fp32 at run time: a smaller table in every process that serves the
    graph.

    ``"fp16"``: half-precision rows (``Gather``, ``Cast``), within fp16 rounding (2**-11
    relative) of fp32. ``"int8"``: int8 rows with one fp32 scale per row (``Gather`` of both,
    ``Cast``, ``Mul``), a quarter of the memory; the looked-up vectors differ from fp32 by at
    most half a step (row max / 254). Returns how many tables it rewrote (the file is
    rewritten only if any)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if dtype not in ("fp16", "int8"):
        raise ValueError(f"embedding tables are stored as 'fp16' or 'int8', not {dtype!r}")
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
        name, ids, out = table.name, node.input[1], node.output[0]
        values = numpy_helper.to_array(table)
        graph.initializer.remove(table)
        if dtype == "fp16":
            graph.initializer.append(numpy_helper.from_array(values.astype(np.float16),
                                                             f"{name}_fp16"))  # fmt: skip
            looked_up = [
                helper.make_node("Gather", [f"{name}_fp16", ids], [f"{out}_fp16"], axis=0),
                helper.make_node("Cast", [f"{out}_fp16"], [out], to=TensorProto.FLOAT),
            ]
        else:
            rows, scales = quantize_rows(values)
            graph.initializer.extend([numpy_helper.from_array(rows, f"{name}_int8"),
                                      numpy_helper.from_array(scales, f"{name}_scale")])  # fmt: skip
            looked_up = [
                helper.make_node("Gather", [f"{name}_int8", ids], [f"{out}_int8"], axis=0),
                helper.make_node("Gather", [f"{name}_scale", ids], [f"{out}_scale"], axis=0),
                helper.make_node("Cast", [f"{out}_int8"], [f"{out}_float"],
                                 to=TensorProto.FLOAT),  # fmt: skip
                helper.make_node("Mul", [f"{out}_float", f"{out}_scale"], [out]),
            ]
        index = list(graph.node).index(node)
        graph.node.remove(node)
        for offset, new in enumerate(looked_up):
            new.name = f"{node.name or name}/{dtype}_{offset}"
            graph.node.insert(index + offset, new)
        rewritten += 1
        logger.info("embedding table %s stored as %s rows (%s)", name, dtype, list(table.dims))
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
