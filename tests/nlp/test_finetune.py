"""`carebot train --finetune` (issue 15): a tiny project's intent branch fine-tuned through the
real training code, exported as the project's own ONNX graph, served by the real pipeline in a
process that never imports torch; a missing or stale graph is a clear error.

Uses the repo's built base models (CAREBOT_MODELS_DIR, default models/); never writes there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nlp.encoder import JOINT_ONNX_INT8_FILE, SentenceEncoder
from nlp.finetune import FINETUNED_ONNX_FILE, FINETUNED_ONNX_INT8_FILE, FinetunedGraphError
from nlp.pipeline import NLU, PIPELINE_FILE

REPO = Path(__file__).resolve().parents[2]
# what a serving process must not hold (as tests/nlp/test_lean_serving.py checks)
NOT_FOR_PARSING = ("torch", "transformers", "sentence_transformers", "pandas", "pyarrow")
TINY_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
    - hey there
    - good morning
    - hello, anyone there?
    - hiya
    - good evening
    - hi, how are you
    - hey, what's up
    - greetings
- intent: order_status
  examples: |
    - where is my order
    - has my order shipped yet
    - when will my package arrive
    - track my order
    - what's the status of my order
    - is my parcel on the way
    - my delivery is late
    - order still not here
    - when does my order come
    - can you check my shipment
- intent: return_item
  examples: |
    - I want to return my sneakers
    - how do I send back the jacket
    - can I return an item
    - I'd like to return this
    - the blender doesn't work, I want to return it
    - what is your return policy
    - I need to send this back
    - how do returns work
    - start a return for me
    - these shoes don't fit, can I return them
- intent: human_agent
  examples: |
    - I want to talk to a person
    - get me a human
    - can I speak to an agent
    - connect me with support staff
    - real person please
    - let me talk to someone
    - transfer me to a human agent
    - is there a human I can chat with
    - operator
    - I need a customer service representative
"""
MESSAGES = ["hello there!", "where's my parcel", "I'd like to send these boots back",
            "put me through to a real human"]  # fmt: skip
WANT = ["greet", "order_status", "return_item", "human_agent"]


def run_python(code: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def base_dir(models_dir) -> Path:
    if not (models_dir / JOINT_ONNX_INT8_FILE).exists():
        pytest.skip(f"no built base models in {models_dir}; run `make models`")
    return models_dir


@pytest.fixture(scope="module")
def finetuned(base_dir, tmp_path_factory) -> Path:
    """A tiny project trained with finetune=True (the code `carebot train --finetune` runs)."""
    from nlp.train import train_project

    folder = tmp_path_factory.mktemp("finetuned")
    nlu_file = folder / "nlu.yml"
    nlu_file.write_text(TINY_NLU, encoding="utf-8")
    report = train_project([nlu_file], None, folder / "models", base_dir, progress=False,
                           finetune=True)  # fmt: skip
    assert report.finetune is not None and report.timings["finetune"] > 0
    SentenceEncoder.forget_shared()
    return folder / "models"


def test_finetuning_writes_the_projects_int8_graph_and_records_it(finetuned):
    assert (finetuned / FINETUNED_ONNX_INT8_FILE).exists()
    assert not (finetuned / FINETUNED_ONNX_FILE).exists()  # only what serving reads is kept
    record = json.loads((finetuned / PIPELINE_FILE).read_text())["finetune"]
    assert record["graph"] == FINETUNED_ONNX_INT8_FILE
    assert record["examples"] == 40 and record["intents"] == 4
    metadata = json.loads((finetuned / "metadata.json").read_text())
    assert metadata["report"]["finetune"]["sha256"] == record["sha256"]


def test_the_projects_graph_keeps_the_base_outputs_and_adds_the_intent_embedding(finetuned,
                                                                                 base_dir):
    base = SentenceEncoder(onnx_path=base_dir / JOINT_ONNX_INT8_FILE, tokenizer_dir=base_dir)
    tuned = SentenceEncoder(onnx_path=finetuned / FINETUNED_ONNX_INT8_FILE, tokenizer_dir=base_dir)
    assert tuned.has_intent_embedding and not base.has_intent_embedding
    emb_b, sent_b = base.encode_with_sentiment(MESSAGES)
    emb_t, sent_t, intent_t = tuned.encode_all(MESSAGES)
    # product search and the response selectors read the same sentence embedding as before
    # (up to int8 rounding: the base int8 graph is as far from its fp32 original)
    assert (emb_b * emb_t).sum(axis=1).min() > 0.95
    assert np.array_equal(sent_b.argmax(axis=1), sent_t.argmax(axis=1))
    assert np.abs(sent_b - sent_t).max() < 0.2
    assert np.allclose(np.linalg.norm(intent_t, axis=1), 1.0, atol=1e-3)
    assert (intent_t * emb_t).sum(axis=1).max() < 0.999  # a trained branch, not a copy


def test_a_finetuned_project_is_served_on_its_graph_without_torch(finetuned, base_dir):
    """A fresh process, as `carebot serve` loads the NLU: the project's graph runs, the intent
    classifier reads its intent embedding, torch is never imported."""
    result = run_python(
        "import json, sys\nimport numpy as np\n"
        "from nlp.pipeline import NLU\n"
        f"nlu = NLU.load({str(finetuned)!r}, base_dir={str(base_dir)!r})\n"
        f"texts = {MESSAGES!r}\n"
        "parsed = nlu.parse_batch(texts)\n"
        "emb, _, intent = nlu.encoder.encode_all(texts)\n"
        "served = [p.intent.confidence for p in parsed]\n"
        "on_intent = nlu.intents.scores(texts, intent).max(axis=1)\n"
        "on_plain = nlu.intents.scores(texts, emb).max(axis=1)\n"
        "print(json.dumps({'backend': nlu.encoder.backend,\n"
        "    'intents': [p.intent.name for p in parsed],\n"
        "    'reads_intent': bool(np.allclose(served, on_intent, atol=1e-6)),\n"
        "    'differs_from_plain': bool(not np.allclose(on_intent, on_plain, atol=1e-3)),\n"
        f"    'loaded': [m for m in {NOT_FOR_PARSING!r} if m in sys.modules]}}))\n"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["backend"] == f"onnxruntime:{FINETUNED_ONNX_INT8_FILE}"
    assert out["intents"] == WANT
    assert out["reads_intent"] and out["differs_from_plain"]
    assert out["loaded"] == []


@pytest.fixture
def copied(finetuned, tmp_path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(finetuned, target)
    return target


def test_a_missing_finetuned_graph_says_what_to_run(copied, base_dir):
    (copied / FINETUNED_ONNX_INT8_FILE).unlink()
    with pytest.raises(FinetunedGraphError, match=r"missing; run `carebot train --finetune`"):
        NLU.load(copied, base_dir=base_dir)


def test_a_stale_finetuned_graph_is_refused(copied, base_dir):
    with (copied / FINETUNED_ONNX_INT8_FILE).open("ab") as graph:
        graph.write(b"\0")  # another graph than the classifier learned on
    with pytest.raises(FinetunedGraphError, match=r"not the graph .* `carebot train --finetune`"):
        NLU.load(copied, base_dir=base_dir)


def test_training_again_without_finetune_goes_back_to_the_base_graph(copied, base_dir, tmp_path):
    from nlp.train import train_project

    nlu_file = tmp_path / "nlu.yml"
    nlu_file.write_text(TINY_NLU, encoding="utf-8")
    train_project([nlu_file], None, copied, base_dir, progress=False)
    assert not (copied / FINETUNED_ONNX_INT8_FILE).exists()
    assert "finetune" not in json.loads((copied / PIPELINE_FILE).read_text())
    nlu = NLU.load(copied, base_dir=base_dir)
    assert nlu.encoder.backend == f"onnxruntime:{JOINT_ONNX_INT8_FILE}"
    SentenceEncoder.forget_shared()


def test_carebot_train_offers_finetune():
    from bot.cli.main import main

    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0 and "--finetune" in result.output
    assert "Fine-tune the sentence encoder" in result.output
