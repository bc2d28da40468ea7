"""The live operations snapshot: what the live page, the console's strip and the alert rules
see. Built from the database's counts (analytics/store/operations.py) and the agents online."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics.store.operations import OperationsCounts


def _ratio(now: float | None, before: float | None) -> float | None:
    """How many times the rate of last week it is now (None without a rate last week)."""
    if now is None or not before:
        return None
    return round(now / before, 3)


@dataclass(frozen=True)
class LiveSnapshot:
    at: str  # ISO, naive UTC
    active_conversations: int
    messages_per_minute: float  # customer messages, averaged over the last 5 minutes
    messages_last_minute: int
    queue_length: int
    claimed: int
    oldest_wait_seconds: float | None
    agents_online: int
    agents: list[str]
    negative_share: float | None  # last 15 minutes
    negative_share_last_week: float | None  # the same hour, 7 days ago
    negative_messages: int
    customer_messages_15m: int
    fallback_rate: float | None
    fallback_rate_last_week: float | None
    containment_today: float | None  # of today's finished conversations, handled by the bot
    conversations_today: int
    alerts: list[dict] = field(default_factory=list)  # open alerts

    @classmethod
    def build(cls, counts: OperationsCounts, agents: list[str],
              alerts: list[dict] | None = None) -> LiveSnapshot:
        recent, before = counts.last_15_minutes, counts.same_hour_last_week
        return cls(
            at=counts.at.isoformat(), active_conversations=counts.active_conversations,
            messages_per_minute=round(counts.messages_last_5_minutes / 5.0, 2),
            messages_last_minute=counts.messages_last_minute,
            queue_length=counts.queue_length, claimed=counts.claimed,
            oldest_wait_seconds=None if counts.oldest_wait_seconds is None
            else round(counts.oldest_wait_seconds, 1),
            agents_online=len(agents), agents=sorted(agents),
            negative_share=recent.negative_share, negative_share_last_week=before.negative_share,
            negative_messages=recent.negative, customer_messages_15m=recent.messages,
            fallback_rate=recent.fallback_rate, fallback_rate_last_week=before.fallback_rate,
            # Conversations still going are neither contained nor not: left out.
            containment_today=round(counts.contained_today / counts.finished_today, 4)
            if counts.finished_today else None,
            conversations_today=counts.conversations_today, alerts=list(alerts or []))

    def metric(self, name: str) -> float | None:
        """A value an alert rule can watch (bot/monitoring/settings.ALERT_METRICS)."""
        derived = {
            "negative_share_change": _ratio(self.negative_share, self.negative_share_last_week),
            "fallback_rate_change": _ratio(self.fallback_rate, self.fallback_rate_last_week),
            "waiting_without_agent": float(self.queue_length) if self.agents_online == 0
            else 0.0,
        }
        if name in derived:
            return derived[name]
        value = getattr(self, name)
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
