"""The bot's Rasa-format files are validated on load, with file, line and key in the error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.dialogue.domain import load_bot
from nlp.yamlfile import BotFileError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(REPO / "domain.yml", tmp_path / "domain.yml")
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "data" / "rules.yml", tmp_path / "data" / "rules.yml")
    return tmp_path


def load(project: Path):
    return load_bot(project / "domain.yml", project / "data" / "rules.yml")


def test_the_demo_shop_loads_with_every_intent_answered(project):
    bot = load(project)
    assert set(bot.intents) - set(bot.intent_rules) == {"nlu_fallback"}
    assert bot.form_submit["order_status_form"] == ["action_order_status"]


def test_an_unsupported_domain_key_names_file_line_and_key(project):
    domain = project / "domain.yml"
    lines = domain.read_text().splitlines()
    lines.insert(2, "stories_per_intent: 3")
    domain.write_text("\n".join(lines) + "\n")
    with pytest.raises(BotFileError) as error:
        load(project)
    assert f"{domain}:3:" in str(error.value)
    assert "stories_per_intent" in str(error.value)


def test_an_unsupported_rule_step_key_is_rejected(project):
    rules = project / "data" / "rules.yml"
    text = rules.read_text().replace("      - action: utter_greet",
                                     "      - action: utter_greet\n      - checkpoint: x", 1)
    rules.write_text(text)
    with pytest.raises(BotFileError, match=r"rules\.yml:\d+: unsupported key 'checkpoint'"):
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
