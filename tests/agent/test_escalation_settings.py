"""The escalation policy comes from carebot.yml and CAREBOT_ESCALATION_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, EscalationPolicy, SettingsError
from nlp.yamlfile import BotFileError


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "carebot.yml").write_text(text)
    return {"CAREBOT_PROJECT_DIR": str(tmp_path)}


def test_without_settings_the_default_policy_applies(tmp_path):
    config = Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path)})
    assert config.escalation == EscalationPolicy()
    assert config.allowed_origins == ("*",)


def test_carebot_yml_sets_the_escalation_policy_and_allowed_origins(tmp_path):
    env = write_config(tmp_path, "escalation:\n  negative_turns: 3\n  escalate_complaints: false\n"
                                 "  wait_minutes_per_level: 2.5\n"
                                 "allowed_origins: [\"https://shop.example.com\"]\n")
    config = Config.from_env(env)
    assert config.escalation.negative_turns == 3
    assert config.escalation.escalate_complaints is False
    assert config.escalation.wait_minutes_per_level == 2.5
    assert config.allowed_origins == ("https://shop.example.com",)


def test_environment_variables_override_carebot_yml(tmp_path):
    env = write_config(tmp_path, "escalation:\n  negative_turns: 3\n")
    config = Config.from_env({**env, "CAREBOT_ESCALATION_NEGATIVE_TURNS": "4",
                              "CAREBOT_ESCALATION_VIP_NEGATIVE_TURNS": "2",
                              "CAREBOT_ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert config.escalation.negative_turns == 4
    assert config.escalation.vip_negative_turns == 2
    assert config.allowed_origins == ("https://a.example", "https://b.example")


def test_an_unknown_setting_in_carebot_yml_names_file_line_and_key(tmp_path):
    env = write_config(tmp_path, "escalation:\n  negative_turns: 3\n  angry_turns: 1\n")
    with pytest.raises(BotFileError, match=r"carebot\.yml:3: unsupported key 'angry_turns'"):
        Config.from_env(env)


def test_a_carebot_config_yml_of_old_says_where_its_settings_moved(tmp_path):
    (tmp_path / "config.yml").write_text("escalation:\n  negative_turns: 3\n")
    with pytest.raises(SettingsError, match=r"config\.yml: escalation are Carebot settings.*"
                                            r"Move escalation to .*carebot\.yml"):
        Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path)})


def test_rasas_config_yml_beside_carebot_yml_is_not_carebots_business(tmp_path):
    (tmp_path / "config.yml").write_text("recipe: default.v1\nlanguage: en\npipeline:\n")
    env = write_config(tmp_path, "escalation:\n  complaint_intents: [complaint, rant]\n")
    assert Config.from_env(env).escalation.complaint_intents == ("complaint", "rant")


def test_a_setting_of_the_wrong_type_is_refused_with_its_name(tmp_path):
    with pytest.raises(ValueError, match="negative_turns must be a whole number"):
        Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path),
                         "CAREBOT_ESCALATION_NEGATIVE_TURNS": "many"})
