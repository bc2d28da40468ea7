"""The real Rasa projects in ../shared/rasa_bots train, and replay their own test stories
(the stories' intents and entities as a perfect NLU parse, as `rasa test` core does)."""

import asyncio
import shutil

import pytest
from rasa_bots import RASA_BOTS

from bot.dialogue.policies import PolicyEnsemble
from bot.dialogue.project import load_project
from bot.dialogue.testing import run_tests

BOTS = RASA_BOTS


@pytest.mark.parametrize("name", ["rasa-init", "financial-demo"])
def test_a_real_project_passes_every_turn_of_its_test_stories(name, tmp_path):
    if not (BOTS / name).is_dir():
        pytest.fail(f"{BOTS / name} is not on this machine" + ": set CAREBOT_RASA_BOTS")
    root = shutil.copytree(BOTS / name, tmp_path / name)
    project = load_project(root)
    ensemble = PolicyEnsemble.train(project.stories, project.domain, project.config.policies)
    report = asyncio.run(run_tests(project, ensemble.predict, parse=None))
    failed = [(r.story.name, c.expected, c.predicted, c.policy_name)
              for r in report.stories for c in r.failures]
    assert report.stories and failed == []
