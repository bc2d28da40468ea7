"""The real Rasa projects in ../shared/rasa_bots train, and replay their own test stories
(the stories' intents and entities as a perfect NLU parse, as `rasa test` core does)."""

import shutil
from pathlib import Path

import pytest

from bot.dialogue.policies import PolicyEnsemble
from bot.dialogue.policies.evaluation import replay_stories
from bot.dialogue.project import load_project

BOTS = Path(__file__).resolve().parents[4] / "shared" / "rasa_bots"


@pytest.mark.parametrize("name", ["rasa-init", "financial-demo"])
def test_a_real_project_passes_every_turn_of_its_test_stories(name, tmp_path):
    if not (BOTS / name).is_dir():
        pytest.skip(f"{BOTS / name} is not on this machine")
    root = shutil.copytree(BOTS / name, tmp_path / name)
    project = load_project(root)
    ensemble = PolicyEnsemble.train(project.stories, project.domain, project.config.policies)
    results = replay_stories(ensemble, project.test_stories, project.domain)
    failed = [(r.name, t.expected, t.predicted, t.policy_name) for r in results for t in r.turns if not t.correct]
    assert results and failed == []
