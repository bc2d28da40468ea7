"""The live counts and the stored alerts, on SQLite and PostgreSQL
(analytics/store/operations.py)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert

from analytics.demo.rows import add_conversation
from analytics.store.db import make_engine, migrate
from analytics.store.operations import alerts as stored_alerts
from analytics.store.operations import (
    clear_alert,
    open_alerts,
    operations_counts,
    raise_alert,
)
from analytics.store.records import naive_utc_now
from analytics.store.schema import Escalation


@pytest.fixture
def engine(database_url):
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


NEG = ("user", "complaint", "negative", -0.8, "this is awful")
OK = ("user", "order_status", "neutral", 0.0, "where is my order")
FALLBACK = ("user", "nlu_fallback", "neutral", 0.0, "asdf")
REPLY = ("bot", None, None, None, "...")


def test_live_counts_read_the_last_minutes_last_week_and_the_queue(engine):
    now = naive_utc_now().replace(microsecond=0)
    rng = random.Random(1)
    with engine.begin() as conn:
        # now: 2 conversations, 4 customer messages (1 negative, 1 misunderstood)
        add_conversation(conn, rng, "now-1", None, now - timedelta(minutes=3), [NEG, REPLY, OK])
        add_conversation(conn, rng, "now-2", None, now - timedelta(minutes=2),
                         [FALLBACK, REPLY, OK])
        # the same hour last week: 2 customer messages, both negative
        add_conversation(conn, rng, "week", None, now - timedelta(days=7, minutes=10),
                         [NEG, REPLY, NEG])
        conn.execute(insert(Escalation), [
            {"conversation_id": "now-1", "reason": "complaint", "priority": 2, "status": "open",
             "created_at": now - timedelta(seconds=90)},
            {"conversation_id": "now-2", "reason": "customer_request", "priority": 1,
             "status": "claimed", "created_at": now - timedelta(seconds=600)}])
    counts = operations_counts(engine, now)
    assert counts.active_conversations == 2
    assert counts.messages_last_5_minutes == 4
    assert (counts.queue_length, counts.claimed) == (1, 1)
    assert counts.oldest_wait_seconds == pytest.approx(90, abs=1)
    assert counts.last_15_minutes.negative_share == 0.25
    assert counts.last_15_minutes.fallback_rate == 0.25
    assert counts.same_hour_last_week.negative_share == 1.0
    assert counts.conversations_today >= 2


def test_an_empty_service_has_no_rates_rather_than_zero(engine):
    counts = operations_counts(engine, naive_utc_now())
    assert counts.last_15_minutes.negative_share is None and counts.oldest_wait_seconds is None


def test_an_alert_is_stored_open_until_it_is_cleared(engine):
    raised = raise_alert(engine, "queue_wait_long", "waited too long", 400.0)
    assert set(open_alerts(engine)) == {"queue_wait_long"}
    clear_alert(engine, raised, 10.0)
    assert open_alerts(engine) == {}
    (history,) = stored_alerts(engine)
    assert history.alert_id == raised.alert_id and history.cleared_at >= history.raised_at
