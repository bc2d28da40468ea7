"""Alert rules over the live snapshot: held long enough to raise, raised once, cleared when
the condition ends, sent to the webhook each time (bot/monitoring/alerts.py)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from analytics.store.db import make_engine, migrate
from analytics.store.operations import OperationsCounts, WindowCounts, open_alerts
from analytics.store.operations import alerts as stored_alerts
from bot.dialogue.hub import Hub
from bot.monitoring.alerts import AlertEngine
from bot.monitoring.settings import AlertRule, WebhookSettings
from bot.monitoring.snapshot import LiveSnapshot
from bot.monitoring.webhook import AlertWebhook, verify

SECRET = "alert secret"


@pytest.fixture
def engine(sqlite_url):
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def snapshot(*, queue: int = 0, wait: float | None = None, agents: int = 1,
             messages: int = 40, negative: int = 0) -> LiveSnapshot:
    counts = OperationsCounts(
        at=datetime(2026, 11, 1, 12), active_conversations=3, messages_last_minute=2,
        messages_last_5_minutes=10, queue_length=queue, claimed=0, oldest_wait_seconds=wait,
        last_15_minutes=WindowCounts(messages, negative, 0),
        same_hour_last_week=WindowCounts(40, 4, 2), conversations_today=5, finished_today=4,
        contained_today=3)
    return LiveSnapshot.build(counts, [f"agent{i}" for i in range(agents)])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


NEGATIVE = AlertRule("negative_share_high", "negative_share", above=0.3, for_seconds=600,
                     min_messages=20)
NOBODY = AlertRule("nobody_to_answer", "waiting_without_agent", above=0)


async def test_a_condition_must_hold_for_the_rules_duration_before_it_raises(engine):
    clock = Clock()
    alerts = AlertEngine((NEGATIVE,), engine, None, Hub().lock, clock=clock)
    angry = snapshot(negative=20)  # 50% negative
    assert await alerts.evaluate(angry) == []
    clock.now += 599
    assert await alerts.evaluate(angry) == []
    clock.now += 2
    (raised,) = await alerts.evaluate(angry)
    assert raised.rule == "negative_share_high"


async def test_a_break_in_the_condition_starts_the_wait_again(engine):
    clock = Clock()
    alerts = AlertEngine((NEGATIVE,), engine, None, Hub().lock, clock=clock)
    await alerts.evaluate(snapshot(negative=20))
    clock.now += 500
    await alerts.evaluate(snapshot(negative=1))
    clock.now += 200
    assert await alerts.evaluate(snapshot(negative=20)) == []


async def test_rates_over_too_few_messages_raise_nothing(engine):
    clock = Clock()
    alerts = AlertEngine((NEGATIVE,), engine, None, Hub().lock, clock=clock)
    await alerts.evaluate(snapshot(messages=5, negative=5))
    clock.now += 1000
    assert await alerts.evaluate(snapshot(messages=5, negative=5)) == []


async def test_two_processes_watching_one_database_raise_an_alert_once(engine):
    hub = Hub()
    first = AlertEngine((NOBODY,), engine, None, hub.lock)
    second = AlertEngine((NOBODY,), engine, None, hub.lock)
    waiting = snapshot(queue=2, wait=30, agents=0)
    await first.evaluate(waiting)
    await second.evaluate(waiting)
    assert len(stored_alerts(engine)) == 1


async def test_an_alert_is_raised_sent_signed_and_cleared_when_the_condition_ends(engine,
                                                                                  receiver):
    webhook = AlertWebhook(WebhookSettings(url=receiver.url, secret=SECRET))
    webhook.start()
    alerts = AlertEngine((NOBODY,), engine, webhook, Hub().lock)
    (raised,) = await alerts.evaluate(snapshot(queue=2, wait=30, agents=0))
    assert await alerts.evaluate(snapshot(queue=2, wait=30, agents=1)) == []
    await webhook.close(drain_seconds=10)
    assert open_alerts(engine) == {}
    notices = [json.loads(r.body) for r in receiver.received]
    assert [(n["rule"], n["state"]) for n in notices] == [("nobody_to_answer", "raised"),
                                                          ("nobody_to_answer", "cleared")]
    assert notices[0]["value"] == 2.0 and notices[0]["snapshot"]["queue_length"] == 2
    assert notices[1]["cleared_at"] is not None
    assert all(verify(SECRET, r.headers, r.body) for r in receiver.received)
