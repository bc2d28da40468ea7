"""Trained models written to disk load in a fresh process and predict the same.

The full-pipeline test reuses the repo's trained sentiment model (CAREBOT_MODELS_DIR,
default /work/main/models) and skips when it has not been trained.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.intent import IntentClassifier
from nlp.training_data import load_nlu_files

REPO = Path(__file__).resolve().parents[2]
PROBES = ["hello you", "where is order A10451", "I need to return my shoes", "tell me a joke"]


def run_fresh(code: str) -> object:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["PYTHONPATH"] = str(REPO)  # no HF_HUB_OFFLINE: local models load without it
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_saved_intent_classifier_predicts_the_same_in_a_fresh_process(nlu_yaml, tmp_path):
    data = load_nlu_files([nlu_yaml])
    clf = IntentClassifier(threshold=0.5).fit(
        [e.text for e in data.examples], [e.intent for e in data.examples]
    )
    clf.save(tmp_path / "intent.joblib")
    expected = clf.predict_proba(PROBES).round(4).tolist()

    fresh = run_fresh(
        "import json; from nlp.intent import IntentClassifier; "
        f"c = IntentClassifier.load({str(tmp_path / 'intent.joblib')!r}); "
        f"print(json.dumps(c.predict_proba({PROBES!r}).round(4).tolist()))"
    )
    assert np.allclose(fresh, expected, atol=2e-4)


def test_trained_nlu_parses_the_same_after_loading_in_a_fresh_process(
    nlu_yaml, tmp_path, models_dir
):
    if not (models_dir / "sentiment" / "branch.safetensors").exists():
        pytest.skip(f"no trained sentiment model in {models_dir}; run `carebot train`")
    from nlp.pipeline import NLU
    from nlp.train import train

    target = tmp_path / "models"
    target.mkdir()
    (target / "sentiment").symlink_to(models_dir / "sentiment")
    report = train(nlu_yaml, target, progress=False, onnx=False)
    assert not report.sentiment_trained
    assert NLU.is_trained(target)
    assert json.loads((target / "metadata.json").read_text())["nlu_files"][str(nlu_yaml)]

    expected = [r.to_dict() for r in NLU.load(target).parse_batch(PROBES)]
    fresh = run_fresh(
        "import json; from nlp.pipeline import NLU; "
        f"n = NLU.load({str(target)!r}); "
        f"print(json.dumps([n.parse(t).to_dict() for t in {PROBES!r}]))"
    )
    assert [r["intent"]["name"] for r in fresh] == [r["intent"]["name"] for r in expected]
    assert [r["entities"] for r in fresh] == [r["entities"] for r in expected]
    for got, want in zip(fresh, expected, strict=True):
        assert got["intent"]["confidence"] == pytest.approx(want["intent"]["confidence"], abs=1e-3)
        assert got["sentiment"]["label"] == want["sentiment"]["label"]


def test_untrained_directory_is_reported(tmp_path):
    from nlp.pipeline import NLU, NLUNotTrainedError

    assert not NLU.is_trained(tmp_path)
    with pytest.raises(NLUNotTrainedError, match="carebot train"):
        NLU.load(tmp_path)
