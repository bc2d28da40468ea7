"""The demo shop's Rasa project files are validated on load, with file, line and key in the
error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.dialogue.project.loader import load_project
from nlp.yamlfile import BotFileError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("domain.yml", "config.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "data", tmp_path / "data")
    return tmp_path


def load(project: Path):
    return load_project(project)


def test_the_demo_shop_loads_with_every_intent_answered(project):
    bot = load(project)
    answered = {s.intent for story in bot.stories for s in story.steps
                if getattr(s, "intent", None)}
    defaults = {"restart", "back", "out_of_scope", "session_start"}
    assert set(bot.domain.intents) - answered - defaults == set()
    submit = next(r for r in bot.rules if any(
        getattr(c, "name", None) == "order_status_form" for c in r.condition)
        and any(getattr(s, "name", None) == "action_order_status" for s in r.steps))
    assert submit.steps[-1].name == "action_order_status"


def test_an_unsupported_domain_key_names_file_line_and_key(project):
    domain = project / "domain.yml"
    lines = domain.read_text().splitlines()
    lines.insert(2, "stories_per_intent: 3")
    domain.write_text("\n".join(lines) + "\n")
    with pytest.raises(BotFileError) as error:
        load(project)
    assert f"{domain}:3:" in str(error.value)
    assert "stories_per_intent" in str(error.value)


def test_a_rule_step_rasa_does_not_know_is_rejected(project):
    rules = project / "data" / "rules.yml"
    text = rules.read_text().replace("      - action: utter_greet",
                                     "      - action: utter_greet\n      - wait: 3", 1)
    rules.write_text(text)
    with pytest.raises(BotFileError, match=r"rules\.yml:8: unknown step .*: wait"):
        load(project)


def test_a_rule_naming_an_unknown_action_is_rejected(project):
    rules = project / "data" / "rules.yml"
    rules.write_text(rules.read_text().replace("utter_goodbye", "utter_farewell", 1))
    with pytest.raises(BotFileError, match="utter_farewell"):
        load(project)


def test_invalid_yaml_names_the_line(project):
    (project / "domain.yml").write_text("version: '3.1'\nintents:\n  - greet\n  bad: [\n")
    with pytest.raises(BotFileError, match=r"domain\.yml:\d+: invalid YAML"):
        load(project)
