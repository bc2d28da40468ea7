"""Real Rasa projects (../shared/rasa_bots, copied to a temporary folder) train on Carebot's
NLU from their own config.yml and understand their own test stories' user turns."""

import shutil
import sys
from pathlib import Path

import pytest
from rasa_bots import RASA_BOTS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from rasa_nlu import measure  # noqa: E402

from nlp.train import base_models_ready  # noqa: E402

# Reached when these tests were written (benchmarks/rasa_nlu.py); lower = regression.
MIN_INTENT_ACCURACY = {"rasa-init": 1.0, "financial-demo": 0.95}
MIN_ENTITY_RECALL = {"financial-demo": 0.9}


@pytest.fixture
def project(request, tmp_path):
    source = RASA_BOTS / request.param
    if not source.exists():
        pytest.fail(f"{source} not found: set CAREBOT_RASA_BOTS to the real Rasa projects")
    return Path(shutil.copytree(source, tmp_path / request.param))


@pytest.fixture
def base_dir(models_dir):
    if not base_models_ready(models_dir):
        pytest.skip(f"no base models in {models_dir}; run `carebot train`")
    return models_dir


@pytest.mark.parametrize("project", ["rasa-init", "financial-demo"], indirect=True)
def test_the_project_understands_its_own_test_stories(project, base_dir, tmp_path):
    result = measure(project, base_dir, tmp_path / "models")
    assert result["turns"] > 10
    accuracy = result["intent_right"] / result["turns"]
    assert accuracy >= MIN_INTENT_ACCURACY[project.name], result["misses"]
    found, wanted = result["entities"]
    if project.name in MIN_ENTITY_RECALL:
        assert found / wanted >= MIN_ENTITY_RECALL[project.name]
