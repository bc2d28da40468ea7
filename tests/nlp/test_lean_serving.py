"""Lean serving (issue 14): a serving process runs the exported ONNX graph with the `tokenizers`
tokenizer and never imports torch or transformers; the ONNX graph computes what the torch
model computes, and the served intents are the torch model's.

Uses the repo's trained base models (CAREBOT_MODELS_DIR, default models/ after `make models`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.encoder import JOINT_ONNX_FILE, JOINT_ONNX_INT8_FILE, SentenceEncoder
from nlp.tokenizer import TOKENIZER_FILE, FastTokenizer, tokenizer_path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "sentence_transformers")
# imported by scikit-learn merely because it is installed (nlp.lean keeps it out): ~100 MB;
# and scikit-learn and SciPy themselves (~50 MB): a server runs the serving forms
NOT_FOR_PARSING = (*HEAVY, "pandas", "pyarrow", "sklearn", "scipy")
# a few demo-shop messages, none of them training examples word for word
DEMO_MESSAGES = [
    "hello, anybody around?",
    "where is my order A10023",
    "do you deliver to canada?",
    "I would like to return the shoes I bought",
    "can you recommend some headphones",
    "I want to talk to a real person",
    "thanks, bye",
    "my parcel arrived broken and nobody answers, this is awful",
]
TEXTS = [
    "Where is my order A10023?",
    "hi",
    "I'm REALLY annoyed!!! ünïcödé café 😀 — twice",
    "word " * 300,  # truncated to max_length
    "",
]


@pytest.fixture(scope="module")
def base_dir(models_dir) -> Path:
    if not (models_dir / JOINT_ONNX_FILE).exists() or not (models_dir / "intent.joblib").exists():
        pytest.skip(f"no trained and exported models in {models_dir}; run `make models`")
    return models_dir


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=300)


def test_the_fast_tokenizer_gives_transformers_ids():
    from transformers import AutoTokenizer

    from nlp.base_model import minilm_path

    hf = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    fast = FastTokenizer(tokenizer_path(None))
    for texts, max_length in ((TEXTS, 128), (TEXTS[:2], 128), (TEXTS, 16)):
        want = hf(texts, padding=True, truncation=True, max_length=max_length,
                  return_tensors="np")
        got = fast(texts, max_length=max_length)
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            assert got[key].dtype == np.int64
            assert np.array_equal(got[key], want[key]), (key, max_length)


def test_the_exported_graph_matches_the_torch_model(base_dir):
    onnx = SentenceEncoder(onnx_path=base_dir / JOINT_ONNX_FILE, tokenizer_dir=base_dir)
    torch_model = SentenceEncoder(sentiment_dir=base_dir / "sentiment")
    assert onnx.backend.startswith("onnxruntime") and torch_model.backend == "torch:joint"
    texts = TEXTS + DEMO_MESSAGES
    emb_o, sent_o = onnx.encode_with_sentiment(texts)
    emb_t, sent_t = torch_model.encode_with_sentiment(texts)
    assert np.abs(emb_o - emb_t).max() < 1e-4
    assert np.abs(sent_o - sent_t).max() < 1e-4
    # the int8 copy serving uses stays close: same direction, same sentiment
    if (base_dir / JOINT_ONNX_INT8_FILE).exists():
        int8 = SentenceEncoder(onnx_path=base_dir / JOINT_ONNX_INT8_FILE, tokenizer_dir=base_dir)
        emb_8, sent_8 = int8.encode_with_sentiment(texts)
        assert (emb_8 * emb_t).sum(axis=1).min() > 0.95
        assert np.abs(sent_8 - sent_t).max() < 0.1


def test_served_intents_are_the_torch_models(base_dir, tmp_path, caplog):
    """The NLU as served (ONNX) and the same project models on the torch joint model (base
    models without an exported graph: the fallback, with its log line) rank the same intent
    first on demo messages."""
    from nlp.pipeline import NLU

    served = NLU.load(base_dir)
    assert served.encoder.backend.startswith("onnxruntime")
    torch_base = tmp_path / "base"
    torch_base.mkdir()
    (torch_base / "sentiment").symlink_to(base_dir / "sentiment")
    with caplog.at_level(logging.WARNING, logger="nlp.encoder"):
        fallback = NLU.load(base_dir, base_dir=torch_base)
    assert fallback.encoder.backend == "torch:joint"
    assert "no ONNX graph" in caplog.text and "torch" in caplog.text
    got = served.parse_batch(DEMO_MESSAGES)
    want = fallback.parse_batch(DEMO_MESSAGES)
    assert [r.intent.name for r in got] == [r.intent.name for r in want]
    assert [r.sentiment.label for r in got] == [r.sentiment.label for r in want]
    for g, w in zip(got, want, strict=True):
        assert g.intent.confidence == pytest.approx(w.intent.confidence, abs=0.1)
    SentenceEncoder.forget_shared()


def test_parsing_in_a_fresh_process_imports_no_torch(base_dir):
    """What a serving process does with the NLU: load the demo shop's models, parse messages
    (one with a name, so spaCy runs too), and look at what got imported."""
    result = run_python(
        "import json, sys\n"
        "from nlp.pipeline import NLU\n"
        f"nlu = NLU.load({str(base_dir)!r})\n"
        f"parsed = nlu.parse_batch({DEMO_MESSAGES!r} + ['my name is Maria Lopez'])\n"
        "print(json.dumps({'backend': nlu.encoder.backend,\n"
        "    'redacted': parsed[-1].redacted_text,\n"
        f"    'loaded': [m for m in {NOT_FOR_PARSING!r} if m in sys.modules]}}))\n"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["backend"].startswith("onnxruntime")
    assert "Maria" not in out["redacted"]
    assert out["loaded"] == []


def test_the_serving_process_maps_no_torch(base_dir, tmp_path):
    """A real `carebot serve` for the demo shop, after conversations, has neither torch's
    libraries mapped nor its modules imported (the process's own memory map says so)."""
    from live_server import start_server

    server = start_server(f"sqlite:///{tmp_path / 'lean.db'}", tmp_path)
    try:
        for i, text in enumerate(DEMO_MESSAGES + ["my name is Maria Lopez"]):
            server.say(f"lean-{i % 3}", text)
        parsed = server.post("/model/parse", json={"text": "where is order A10023"})
        assert parsed.status_code == 200 and parsed.json()["intent"]["name"]
        maps = Path(f"/proc/{server.process.pid}/maps").read_text()
        assert "onnxruntime" in maps  # the encoder really runs in this process
        assert "libtorch" not in maps and "/torch/lib/" not in maps
        # nor scikit-learn or SciPy: the intents' serving form and the recommender's arrays
        assert "/sklearn/" not in maps and "/scipy/" not in maps
    finally:
        server.stop()


def test_without_the_graph_or_torch_the_error_says_what_to_do(base_dir, tmp_path):
    """A runtime install (no torch) whose base models lack the ONNX graph fails clearly."""
    (tmp_path / "sentiment").symlink_to(base_dir / "sentiment")
    result = run_python(
        "import sys\n"
        "sys.modules['torch'] = None  # as on a runtime install: torch cannot be imported\n"
        "from nlp.encoder import SentenceEncoder\n"
        f"SentenceEncoder.shared({str(tmp_path)!r})\n"
    )
    assert result.returncode != 0
    assert "carebot[train]" in result.stderr and "ONNX" in result.stderr


def test_the_base_models_carry_their_tokenizer(base_dir):
    """`carebot train` copies tokenizer.json beside the graph: serving needs neither the
    MiniLM package nor transformers to tokenise."""
    from nlp.train import base_models_servable, build_base_models

    build_base_models(base_dir, progress=False)  # already built: only fills what is missing
    assert (base_dir / TOKENIZER_FILE).exists()
    assert base_models_servable(base_dir)
    assert tokenizer_path(base_dir) == base_dir / TOKENIZER_FILE


def test_a_runtime_install_trains_project_models_on_the_exported_graph(base_dir, nlu_yaml,
                                                                        tmp_path):
    """Without torch (hidden, as on the runtime image) a project's own models still train on
    the exported base models; building base models says which extra it needs."""
    hide = "import sys\nfor m in ('torch', 'transformers'): sys.modules[m] = None\n"
    trained = run_python(
        hide + "from pathlib import Path\nfrom nlp.train import train_project\n"
        f"report = train_project([Path({str(nlu_yaml)!r})], None, Path({str(tmp_path / 'p')!r}),"
        f" Path({str(base_dir)!r}), progress=False)\n"
        "print(report.encoder_backend, sorted(report.intents))\n"
    )
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.split()[0].startswith("onnxruntime")
    assert (tmp_path / "p" / "intent.joblib").exists()

    empty = tmp_path / "empty-base"
    refused = run_python(
        hide + "from nlp.train import build_base_models\n"
        f"build_base_models({str(empty)!r}, progress=False)\n"
    )
    assert refused.returncode != 0
    assert "carebot[train]" in refused.stderr and "torch" in refused.stderr
