"""Rate limits, the REST token and the raw-text retention come from carebot.yml and the
environment (bot/config.py); bad values say where and what to write."""

from __future__ import annotations

import pytest

from bot.config import Config, SettingsError
from nlp.yamlfile import BotFileError


def config(tmp_path, yml: str = "", **env: str) -> Config:
    (tmp_path / "carebot.yml").write_text(yml)
    return Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path), **env})


def test_limits_come_from_carebot_yml(tmp_path):
    limits = config(tmp_path, "limits:\n  messages_per_conversation: 5 per minute\n"
                              "  lookup_actions: [action_order_status]\n").limits
    assert limits.messages_per_conversation == "5 per minute"
    assert limits.lookup_actions == ("action_order_status",)


def test_the_environment_overrides_a_limit(tmp_path):
    limits = config(tmp_path, "limits:\n  messages_per_address: 5 per minute\n",
                    CAREBOT_LIMIT_MESSAGES_PER_ADDRESS="off").limits
    assert limits.messages_per_address == "off"


def test_a_limit_that_is_not_a_rate_says_how_to_write_one(tmp_path):
    with pytest.raises(ValueError, match="10 per 15 minutes"):
        config(tmp_path, "limits:\n  messages_per_address: lots\n")


def test_an_unknown_limit_names_the_file_and_the_known_ones(tmp_path):
    with pytest.raises(BotFileError, match="carebot.yml.*messages_per_conversation"):
        config(tmp_path, "limits:\n  messages_per_day: 5 per day\n")


def test_the_rest_token_and_retention_come_from_the_environment(tmp_path):
    c = config(tmp_path, "privacy:\n  raw_text_retention_days: 7\n", CAREBOT_REST_TOKEN="t")
    assert (c.rest_token, c.raw_text_retention_days) == ("t", 7)


def test_a_raw_text_key_that_is_not_a_fernet_key_says_how_to_make_one(tmp_path):
    with pytest.raises(SettingsError, match="Fernet.generate_key"):
        config(tmp_path, CAREBOT_RAW_TEXT_KEY="not-a-key")


def test_without_a_key_one_is_made_once_per_installation(tmp_path):
    first, again = config(tmp_path).raw_text_keys, config(tmp_path).raw_text_keys
    assert first == again and len(first) == 1
    assert (tmp_path / ".carebot" / "raw_text_key").stat().st_mode & 0o077 == 0


def test_the_parse_cache_size_comes_from_the_environment(tmp_path):
    assert config(tmp_path).parse_cache_size == 4096
    assert config(tmp_path, CAREBOT_PARSE_CACHE="0").parse_cache_size == 0
    with pytest.raises(ValueError, match="CAREBOT_PARSE_CACHE must be a whole number"):
        config(tmp_path, CAREBOT_PARSE_CACHE="lots")
