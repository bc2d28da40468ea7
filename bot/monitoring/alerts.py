"""Alert rules over the live snapshot: raise an alert when a rule's condition has held long
enough, clear it when the condition ends. Each alert is stored (analytics/store/operations)
and sent to the webhook when raised and when cleared.

Every server process evaluates the rules on the same database, so every process agrees on
what should be open; the change itself (store + notify) is made under a hub lock after
re-reading the stored alerts, so two processes never raise the same alert twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import Engine

from analytics.store.operations import AlertRow, clear_alert, open_alerts, raise_alert
from bot.monitoring.settings import AlertRule
from bot.monitoring.snapshot import LiveSnapshot
from bot.monitoring.webhook import AlertWebhook

logger = logging.getLogger(__name__)

LOCK_KEY = "carebot-monitoring-alerts"
_RATES = ("negative_share", "negative_share_change", "fallback_rate", "fallback_rate_change")


class AlertEngine:
    def __init__(self, rules: tuple[AlertRule, ...], engine: Engine,
                 webhook: AlertWebhook | None,
                 lock: Callable[[str], AbstractAsyncContextManager[None]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self.engine = engine
        self.webhook = webhook
        self.lock = lock
        self.clock = clock
        self._breached_since: dict[str, float] = {}
        self.open: dict[str, AlertRow] = {}

    def due(self, snapshot: LiveSnapshot) -> dict[str, float | None]:
        """The rules whose condition holds now and has held for their ``for_seconds``."""
        now = self.clock()
        due: dict[str, float | None] = {}
        for rule in self.rules:
            value = snapshot.metric(rule.metric)
            enough = rule.metric not in _RATES or snapshot.customer_messages_15m >= \
                rule.min_messages
            if not (enough and rule.breached(value)):
                self._breached_since.pop(rule.name, None)
                continue
            since = self._breached_since.setdefault(rule.name, now)
            if now - since >= rule.for_seconds:
                due[rule.name] = value
        return due

    async def evaluate(self, snapshot: LiveSnapshot) -> list[AlertRow]:
        """Raise and clear alerts for this snapshot; returns the open ones."""
        due = self.due(snapshot)
        stored = await asyncio.to_thread(open_alerts, self.engine)
        known = {r.name for r in self.rules}
        if set(due) == {rule for rule in stored if rule in known}:
            self.open = stored
            return list(stored.values())
        async with self.lock(LOCK_KEY):
            stored = await asyncio.to_thread(open_alerts, self.engine)  # another process?
            by_name = {r.name: r for r in self.rules}
            for name, value in due.items():
                if name not in stored:
                    rule = by_name[name]
                    row = await asyncio.to_thread(raise_alert, self.engine, name,
                                                  rule.describe(value), value)
                    stored[name] = row
                    logger.warning("alert raised: %s (%s)", name, row.message)
                    self._notify(row, "raised", value, snapshot)
            for name in [n for n in stored if n in known and n not in due]:
                value = snapshot.metric(by_name[name].metric)
                row = await asyncio.to_thread(clear_alert, self.engine, stored.pop(name), value)
                logger.info("alert cleared: %s", name)
                self._notify(row, "cleared", value, snapshot)
        self.open = stored
        return list(stored.values())

    def _notify(self, row: AlertRow, state: str, value: float | None,
                snapshot: LiveSnapshot) -> None:
        if self.webhook is None:
            return
        self.webhook.send(f"{row.alert_id}:{state}", {
            **row.to_dict(), "state": state, "value": value,
            "snapshot": snapshot.to_dict() | {"alerts": []}})
