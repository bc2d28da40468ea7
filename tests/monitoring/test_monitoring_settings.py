"""carebot.yml's monitoring: and abuse: sections, through bot/config.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, SettingsError
from bot.monitoring.settings import DEFAULT_RULES


def config_with(tmp_path: Path, text: str, **env: str) -> Config:
    (tmp_path / "carebot.yml").write_text(text)
    return Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path), **env})


def test_without_settings_the_documented_default_rules_apply(tmp_path):
    config = config_with(tmp_path, "recommender: false\n")
    assert config.monitoring.alerts == DEFAULT_RULES
    assert config.monitoring.webhook.url is None and config.monitoring.metrics_token is None


def test_rules_webhook_and_secrets_come_from_the_file_and_the_environment(tmp_path):
    config = config_with(tmp_path, """
monitoring:
  evaluate_seconds: 2
  webhook: {url: "http://127.0.0.1:9/hook", attempts: 3}
  alerts:
    - {name: busy, metric: queue_length, above: 3, for_minutes: 2}
    - {name: calm, metric: containment_today, below: 0.5, min_messages: 10}
abuse:
  refund_intents: [cancel_order]
  hand_over_at: 0.8
""", CAREBOT_ALERT_WEBHOOK_SECRET="s3cret", CAREBOT_METRICS_TOKEN="tok")
    busy, calm = config.monitoring.alerts
    assert (busy.metric, busy.above, busy.for_seconds) == ("queue_length", 3.0, 120.0)
    assert (calm.below, calm.min_messages) == (0.5, 10)
    assert config.monitoring.webhook.secret == "s3cret" and config.monitoring.webhook.attempts == 3
    assert config.monitoring.metrics_token == "tok" and config.monitoring.evaluate_seconds == 2
    assert config.abuse.refund_intents == ("cancel_order",) and config.abuse.hand_over_at == 0.8


def test_an_unknown_key_names_the_file_and_line(tmp_path):
    with pytest.raises(Exception, match=r"carebot.yml:4.*unsupported key 'treshold'"):
        config_with(tmp_path, "monitoring:\n  alerts:\n    - name: x\n      treshold: 3\n")


def test_a_rule_on_an_unknown_metric_says_which_exist(tmp_path):
    with pytest.raises(SettingsError, match="metric must be one of: .*queue_length"):
        config_with(tmp_path, "monitoring:\n  alerts:\n    - {name: x, metric: mood, above: 1}\n")


def test_a_webhook_without_its_signing_secret_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="CAREBOT_ALERT_WEBHOOK_SECRET"):
        config_with(tmp_path, "monitoring:\n  webhook: {url: 'https://hooks.example.com/x'}\n")
