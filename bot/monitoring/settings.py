"""Monitoring and abuse settings: the ``monitoring:`` and ``abuse:`` sections of carebot.yml.

Read by bot/config.py (the one reader of files and the environment); secrets (the metrics
token, the webhook's signing secret) come from the environment only, never from the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# What an alert rule may watch: the live snapshot's values (bot/monitoring/snapshot.py).
ALERT_METRICS = (
    "active_conversations", "messages_per_minute", "queue_length", "oldest_wait_seconds",
    "agents_online", "waiting_without_agent", "negative_share", "negative_share_change",
    "fallback_rate", "fallback_rate_change", "containment_today",
)


class MonitoringSettingsError(ValueError):
    """A monitoring or abuse setting cannot be used; the message names the key."""


@dataclass(frozen=True)
class AlertRule:
    """Raise ``name`` while ``metric`` is above (or below) the threshold for ``for_seconds``."""

    name: str
    metric: str
    above: float | None = None
    below: float | None = None
    for_seconds: float = 0.0
    # Rates over few messages mean little: the rule waits for this many in the window.
    min_messages: int = 0
    message: str = ""  # what the alert says; a default one names the metric and threshold

    def breached(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.above is not None and value > self.above:
            return True
        return self.below is not None and value < self.below

    def describe(self, value: float | None) -> str:
        if self.message:
            return self.message
        side = f"above {self.above:g}" if self.above is not None else f"below {self.below:g}"
        shown = "n/a" if value is None else f"{value:.3g}"
        held = f" for {self.for_seconds / 60:g} min" if self.for_seconds else ""
        return f"{self.metric} is {shown}, {side}{held}"


DEFAULT_RULES = (
    AlertRule("negative_share_high", "negative_share", above=0.30, for_seconds=600,
              min_messages=20, message="More than 30% of customer messages are negative "
                                       "(10 minutes running)"),
    AlertRule("queue_wait_long", "oldest_wait_seconds", above=300,
              message="A customer has waited more than 5 minutes for a person"),
    AlertRule("fallback_rate_doubled", "fallback_rate_change", above=2.0, for_seconds=600,
              min_messages=20, message="The bot misunderstands twice as often as last week"),
    AlertRule("nobody_to_answer", "waiting_without_agent", above=0,
              message="Customers are waiting and no agent is online"),
)


@dataclass(frozen=True)
class WebhookSettings:
    url: str | None = None
    secret: str | None = None  # CAREBOT_ALERT_WEBHOOK_SECRET: signs the body (HMAC-SHA256)
    attempts: int = 5
    timeout_seconds: float = 5.0
    first_retry_seconds: float = 1.0  # doubles after each failed attempt


@dataclass(frozen=True)
class MonitoringSettings:
    """Live page, alerts and Prometheus metrics."""

    alerts: tuple[AlertRule, ...] = DEFAULT_RULES
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    evaluate_seconds: float = 5.0  # the live snapshot is refreshed (and rules checked) this often
    active_minutes: float = 5.0  # a conversation with a message this recent is "active now"
    metrics_token: str | None = None  # CAREBOT_METRICS_TOKEN: GET /metrics needs it as a bearer
    metrics_address: str | None = None  # host:port of an admin-only listener serving /metrics
    metrics_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR: several processes, one count


@dataclass(frozen=True)
class AbuseSettings:
    """When the bot treats a conversation as abuse: slows down, then hands over."""

    # Slots whose values identify an order or a customer; a value an action resets to empty
    # did not match (the shop's order actions do so).
    lookup_slots: tuple[str, ...] = ("order_id", "email")
    max_unmatched_lookups: int = 4  # this many values that matched nothing: full score
    max_distinct_values: int = 4  # per lookup slot: more distinct values than this scores
    refund_intents: tuple[str, ...] = ()  # e.g. cancel_order, refund_status, return_item
    max_refund_requests: int = 4
    max_chars_per_second: float = 15.0  # faster than a person types (button clicks excepted)
    min_seconds_between: float = 0.6
    max_fast_messages: int = 6
    slow_down_at: float = 0.5  # combined score at which replies are delayed
    slow_down_seconds: float = 2.0
    hand_over_at: float = 0.9  # combined score at which a person takes over
    enabled: bool = True


def _number(value: Any, where: str, kind: type = float) -> Any:
    if isinstance(value, bool):
        raise MonitoringSettingsError(f"{where} must be a number, not {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise MonitoringSettingsError(f"{where} must be a number, not {value!r}") from None


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MonitoringSettingsError(f"{where} must be a list of names, not {value!r}")


RULE_KEYS = ("name", "metric", "above", "below", "for_minutes", "for_seconds", "min_messages",
             "message")
WEBHOOK_KEYS = ("url", "attempts", "timeout_seconds", "first_retry_seconds")
MONITORING_KEYS = ("alerts", "webhook", "evaluate_seconds", "active_minutes", "metrics_address")


def alert_rule(values: dict[str, Any], where: str) -> AlertRule:
    """One rule from carebot.yml's ``monitoring.alerts`` list."""
    name, metric = values.get("name"), values.get("metric")
    if not isinstance(name, str) or not name:
        raise MonitoringSettingsError(f"{where}.name is required (a short id for the alert)")
    if metric not in ALERT_METRICS:
        raise MonitoringSettingsError(
            f"{where}.metric must be one of: {', '.join(ALERT_METRICS)} (not {metric!r})")
    above = values.get("above")
    below = values.get("below")
    if (above is None) == (below is None):
        raise MonitoringSettingsError(f"{where}: give exactly one of 'above' or 'below'")
    held = _number(values.get("for_seconds", 0), f"{where}.for_seconds")
    if "for_minutes" in values:
        held = 60 * _number(values["for_minutes"], f"{where}.for_minutes")
    message = values.get("message", "")
    if not isinstance(message, str):
        raise MonitoringSettingsError(f"{where}.message must be text")
    return AlertRule(
        name=name, metric=metric,
        above=None if above is None else _number(above, f"{where}.above"),
        below=None if below is None else _number(below, f"{where}.below"),
        for_seconds=max(0.0, held),
        min_messages=_number(values.get("min_messages", 0), f"{where}.min_messages", int),
        message=message)


def monitoring_settings(values: dict[str, Any], env: dict[str, str]) -> MonitoringSettings:
    """carebot.yml's ``monitoring:`` (keys already checked) plus the secrets from ``env``."""
    rules = DEFAULT_RULES
    if "alerts" in values:
        listed = values["alerts"] or []
        if not isinstance(listed, list):
            raise MonitoringSettingsError("monitoring.alerts must be a list of rules")
        rules = tuple(alert_rule(rule, f"monitoring.alerts[{i}]")
                      for i, rule in enumerate(listed))
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise MonitoringSettingsError("monitoring.alerts: two rules have the same name")
    hook = values.get("webhook") or {}
    url = env.get("CAREBOT_ALERT_WEBHOOK_URL") or hook.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise MonitoringSettingsError(f"monitoring.webhook.url must be an http(s) URL, not {url!r}")
    secret = env.get("CAREBOT_ALERT_WEBHOOK_SECRET") or None
    if url and not secret:
        raise MonitoringSettingsError(
            "monitoring.webhook.url is set but CAREBOT_ALERT_WEBHOOK_SECRET is not; set the "
            "secret the receiver checks the X-Carebot-Signature header with")
    webhook = WebhookSettings(
        url=url or None, secret=secret,
        attempts=max(1, _number(hook.get("attempts", 5), "monitoring.webhook.attempts", int)),
        timeout_seconds=_number(hook.get("timeout_seconds", 5.0),
                                "monitoring.webhook.timeout_seconds"),
        first_retry_seconds=_number(hook.get("first_retry_seconds", 1.0),
                                    "monitoring.webhook.first_retry_seconds"))
    evaluate = env.get("CAREBOT_MONITORING_EVALUATE_SECONDS") or values.get("evaluate_seconds", 5)
    address = env.get("CAREBOT_METRICS_ADDRESS") or values.get("metrics_address")
    if address is not None and (not isinstance(address, str) or ":" not in address):
        raise MonitoringSettingsError(
            f"monitoring.metrics_address must be host:port, e.g. 127.0.0.1:9464 (not {address!r})")
    return MonitoringSettings(
        alerts=rules, webhook=webhook,
        evaluate_seconds=max(0.2, _number(evaluate, "monitoring.evaluate_seconds")),
        active_minutes=_number(values.get("active_minutes", 5), "monitoring.active_minutes"),
        metrics_token=env.get("CAREBOT_METRICS_TOKEN") or None,
        metrics_address=address or None,
        metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or env.get("CAREBOT_METRICS_DIR") or None)


ABUSE_KEYS = tuple(f.name for f in fields(AbuseSettings))


def abuse_settings(values: dict[str, Any]) -> AbuseSettings:
    """carebot.yml's ``abuse:`` (keys already checked)."""
    chosen: dict[str, Any] = {}
    for f in fields(AbuseSettings):
        if f.name not in values:
            continue
        value, where = values[f.name], f"abuse.{f.name}"
        if isinstance(f.default, tuple):
            chosen[f.name] = _names(value, where)
        elif isinstance(f.default, bool):
            if not isinstance(value, bool):
                raise MonitoringSettingsError(f"{where} must be true or false")
            chosen[f.name] = value
        else:
            chosen[f.name] = _number(value, where, type(f.default))
    return AbuseSettings(**chosen)
