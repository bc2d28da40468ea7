"""The agents' queue over a real database: the ranking the console shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from analytics.store.db import make_engine, migrate
from analytics.store.reads import ConversationStore
from analytics.store.records import naive_utc_now
from bot.config import EscalationPolicy
from bot.console.queue import EscalationQueue


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> ConversationStore:
    return ConversationStore(engine, bcrypt_rounds=4)


def test_the_queue_lists_the_most_urgent_first_then_the_longest_waiting(engine, store):
    low = store.create_escalation("web-4", reason="fallback", priority=0)
    high = store.create_escalation("web-5", reason="negative_sentiment", priority=5)
    also_low = store.create_escalation("web-6", reason="fallback", priority=0)

    items = EscalationQueue(engine, EscalationPolicy()).items()

    assert [i.escalation_id for i in items] == [high, low, also_low]


def test_waiting_raises_a_conversations_urgency(engine, store):
    store.create_escalation("web-7", reason="complaint", priority=2)
    policy = EscalationPolicy(wait_minutes_per_level=5.0)

    (item,) = EscalationQueue(engine, policy).items(now=naive_utc_now() + timedelta(minutes=10))

    assert item.urgency == pytest.approx(4.0, abs=0.01)
    assert item.waited_seconds >= 600
