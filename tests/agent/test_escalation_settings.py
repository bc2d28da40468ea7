"""The escalation policy comes from config.yml and CAREBOT_ESCALATION_* variables."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from live_server import REPO

from bot.config import Config, EscalationPolicy
from bot.dialogue.domain import load_bot
from bot.dialogue.engine import DialogueEngine
from bot.dialogue.state import ConversationState
from nlp.yamlfile import BotFileError


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "config.yml").write_text(text)
    return {"CAREBOT_PROJECT_DIR": str(tmp_path)}


def test_without_settings_the_default_policy_applies(tmp_path):
    config = Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path)})
    assert config.escalation == EscalationPolicy()
    assert config.allowed_origins == ("*",)


def test_config_yml_sets_the_escalation_policy_and_allowed_origins(tmp_path):
    env = write_config(tmp_path, "escalation:\n  negative_turns: 3\n  escalate_complaints: false\n"
                                 "  wait_minutes_per_level: 2.5\n"
                                 "allowed_origins: [\"https://shop.example.com\"]\n")
    config = Config.from_env(env)
    assert config.escalation.negative_turns == 3
    assert config.escalation.escalate_complaints is False
    assert config.escalation.wait_minutes_per_level == 2.5
    assert config.allowed_origins == ("https://shop.example.com",)


def test_environment_variables_override_config_yml(tmp_path):
    env = write_config(tmp_path, "escalation:\n  negative_turns: 3\n")
    config = Config.from_env({**env, "CAREBOT_ESCALATION_NEGATIVE_TURNS": "4",
                              "CAREBOT_ESCALATION_VIP_NEGATIVE_TURNS": "2",
                              "CAREBOT_ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert config.escalation.negative_turns == 4
    assert config.escalation.vip_negative_turns == 2
    assert config.allowed_origins == ("https://a.example", "https://b.example")


def test_an_unknown_setting_in_config_yml_names_file_line_and_key(tmp_path):
    env = write_config(tmp_path, "escalation:\n  negative_turns: 3\n  angry_turns: 1\n")
    with pytest.raises(BotFileError, match=r"config\.yml:3: unsupported key 'angry_turns'"):
        Config.from_env(env)


def test_a_setting_of_the_wrong_type_is_refused_with_its_name(tmp_path):
    with pytest.raises(ValueError, match="negative_turns must be a whole number"):
        Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path),
                         "CAREBOT_ESCALATION_NEGATIVE_TURNS": "many"})


def complaint_reply(policy: EscalationPolicy):
    engine = DialogueEngine(load_bot(REPO / "domain.yml", REPO / "data" / "rules.yml"), policy)
    parse = {"text": "this is a disgrace", "intent": {"name": "complaint", "confidence": 0.95},
             "entities": [], "sentiment": {"label": "neutral", "score": 0.0,
                                           "scores": {"negative": 0.1, "neutral": 0.9}}}
    return asyncio.run(engine.respond(ConversationState(id="policy"), parse))


def test_complaints_go_to_a_person_by_default():
    assert complaint_reply(EscalationPolicy()).escalation.reason == "complaint"


def test_a_policy_can_keep_complaints_with_the_bot():
    assert complaint_reply(EscalationPolicy(escalate_complaints=False)).escalation is None
