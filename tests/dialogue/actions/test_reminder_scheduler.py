"""Rasa's reminders fire their intent on time, survive a restart, and can be cancelled."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from analytics.store.db import make_engine, migrate
from bot.dialogue.actions import ReminderError, ReminderScheduler


def reminder(intent: str = "EXTERNAL_remind", seconds: float = 0.3, name: str | None = "r1",
             entities=None, kill_on_user_msg: bool = True, date_time: str | None = None) -> dict:
    """A ReminderScheduled event as rasa_sdk.events.ReminderScheduled writes it."""
    when = date_time or (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    return {"event": "reminder", "timestamp": None, "intent": intent, "entities": entities,
            "date_time": when, "name": name, "kill_on_user_msg": kill_on_user_msg}


class Fired:
    """The fire callback: records (conversation, intent, entities, wall-clock time)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object, datetime]] = []
        self._event = asyncio.Event()

    async def __call__(self, conversation_id: str, intent: str, entities) -> None:
        self.calls.append((conversation_id, intent, entities, datetime.now(UTC)))
        self._event.set()

    async def first(self, timeout: float = 5.0) -> tuple:
        await asyncio.wait_for(self._event.wait(), timeout)
        return self.calls[0]

    def intents(self) -> list[str]:
        return [call[1] for call in self.calls]


@pytest.fixture
def url(sqlite_url: str) -> str:
    migrate(sqlite_url)
    return sqlite_url


@pytest.fixture
async def scheduler(url: str):
    engine = make_engine(url)
    scheduler = ReminderScheduler(engine)
    yield scheduler
    await scheduler.close()
    engine.dispose()


async def test_a_reminder_fires_its_intent_on_time(scheduler):
    fired = Fired()
    await scheduler.start(fired)
    event = reminder(seconds=0.4, entities=[{"entity": "order_id", "value": "A-1"}])

    await scheduler.schedule("c1", event)
    conversation, intent, entities, at = await fired.first()

    due = datetime.fromisoformat(event["date_time"])
    assert (conversation, intent, entities) == ("c1", "EXTERNAL_remind",
                                                [{"entity": "order_id", "value": "A-1"}])
    assert due <= at < due + timedelta(seconds=0.5)
    assert await scheduler.pending() == []


async def test_a_reminder_scheduled_before_a_restart_fires_after_it(url):
    engine = make_engine(url)
    before = ReminderScheduler(engine)
    await before.start(Fired())
    event = reminder(seconds=1.0)
    await before.schedule("c1", event)
    await before.close()
    engine.dispose()

    engine = make_engine(url)  # a new process on the same SQLite file
    after = ReminderScheduler(engine)
    fired = Fired()
    await after.start(fired)
    try:
        conversation, intent, _, at = await fired.first()
    finally:
        await after.close()
        engine.dispose()

    assert (conversation, intent) == ("c1", "EXTERNAL_remind")
    assert at >= datetime.fromisoformat(event["date_time"])


async def test_a_reminder_due_while_carebot_was_down_fires_at_once(url):
    engine = make_engine(url)
    before = ReminderScheduler(engine)
    await before.schedule("c1", reminder(seconds=0.1))  # never started: Carebot went down
    engine.dispose()
    await asyncio.sleep(0.2)

    engine = make_engine(url)
    after = ReminderScheduler(engine)
    fired = Fired()
    started = time.monotonic()
    await after.start(fired)
    try:
        await fired.first(timeout=2)
    finally:
        await after.close()
        engine.dispose()

    assert time.monotonic() - started < 1


async def test_a_reminder_cancelled_by_name_does_not_fire(scheduler):
    fired = Fired()
    await scheduler.start(fired)
    await scheduler.schedule("c1", reminder("EXTERNAL_first", seconds=0.3, name="first"))
    await scheduler.schedule("c1", reminder("EXTERNAL_second", seconds=0.5, name="second"))

    cancelled = await scheduler.cancel("c1", {"event": "cancel_reminder", "name": "first"})
    await fired.first()
    await asyncio.sleep(0.2)

    assert cancelled == 1
    assert fired.intents() == ["EXTERNAL_second"]


async def test_a_new_reminder_with_the_same_name_replaces_the_old_one(scheduler):
    fired = Fired()
    await scheduler.start(fired)
    await scheduler.schedule("c1", reminder("EXTERNAL_old", seconds=0.3, name="nudge"))
    await scheduler.schedule("c1", reminder("EXTERNAL_new", seconds=0.4, name="nudge"))

    await fired.first()
    await asyncio.sleep(0.3)

    assert fired.intents() == ["EXTERNAL_new"]


async def test_a_cancel_without_name_or_intent_cancels_every_reminder_of_the_conversation(
        scheduler):
    await scheduler.schedule("c1", reminder(name="a"))
    await scheduler.schedule("c1", reminder(name="b"))
    await scheduler.schedule("c2", reminder(name="a"))

    assert await scheduler.cancel("c1", {"event": "cancel_reminder"}) == 2
    assert [r.conversation_id for r in await scheduler.pending()] == ["c2"]


async def test_a_cancel_by_intent_and_entities_cancels_only_the_matching_reminder(scheduler):
    order = [{"entity": "order_id", "value": "A-1"}]
    await scheduler.schedule("c1", reminder("EXTERNAL_track", name="a", entities=order))
    await scheduler.schedule("c1", reminder("EXTERNAL_track", name="b"))

    await scheduler.cancel("c1", {"event": "cancel_reminder", "intent": "EXTERNAL_track",
                                  "entities": order})

    assert [r.name for r in await scheduler.pending("c1")] == ["b"]


async def test_a_user_message_cancels_only_kill_on_user_message_reminders(scheduler):
    await scheduler.schedule("c1", reminder(name="killable", kill_on_user_msg=True))
    await scheduler.schedule("c1", reminder(name="sticky", kill_on_user_msg=False))

    assert await scheduler.cancel_on_user_message("c1") == 1
    assert [r.name for r in await scheduler.pending("c1")] == ["sticky"]


@pytest.fixture
def local_time_in_kolkata() -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"  # UTC+05:30: a naive time read as UTC would be 5.5 h off
    time.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = saved
    time.tzset()


async def test_a_naive_date_time_is_local_time_as_in_rasa(scheduler, local_time_in_kolkata):
    fired = Fired()
    await scheduler.start(fired)
    local = (datetime.now() + timedelta(seconds=0.3)).isoformat()  # rasa docs' own example

    await scheduler.schedule("c1", reminder(date_time=local))

    await fired.first(timeout=3)


async def test_every_pending_reminder_fires_once_with_two_servers_on_one_database(database_url):
    migrate(database_url)
    engines = [make_engine(database_url), make_engine(database_url)]
    fired = Fired()
    first, second = (ReminderScheduler(e, poll_interval=0.1) for e in engines)
    await first.start(fired)
    await second.start(fired)
    try:
        await first.schedule("c1", reminder(seconds=0.5))
        await asyncio.sleep(0.3)  # the second server has loaded it by now, too
        await fired.first()
        await asyncio.sleep(0.5)
    finally:
        await first.close()
        await second.close()
        for engine in engines:
            engine.dispose()

    assert fired.intents() == ["EXTERNAL_remind"]


async def test_a_date_that_is_not_iso_8601_is_refused(scheduler):
    with pytest.raises(ReminderError, match="ISO 8601"):
        await scheduler.schedule("c1", reminder(date_time="tomorrow at noon"))


async def test_close_right_after_scheduling_returns_at_once_and_keeps_the_reminder(scheduler):
    await scheduler.start(Fired())
    await scheduler.schedule("c1", reminder(seconds=30))
    started = time.monotonic()

    await scheduler.close()

    assert time.monotonic() - started < 1
    assert [r.name for r in await scheduler.pending()] == ["r1"]
