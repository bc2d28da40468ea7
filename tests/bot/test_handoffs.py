"""The escalation repair: a conversation waiting for a person without an unresolved
escalation is put in the queue (with its handoff's reason), at once and every round; the
others are left alone. Real SQLite database, real conversation log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.store.db import make_engine, migrate
from analytics.store.escalations import open_escalation
from analytics.store.records import ConversationRecord
from analytics.store.schema import Escalation
from analytics.store.writer import ConversationLog
from bot.dialogue.handoffs import Handoffs
from bot.dialogue.hub import Hub
from bot.dialogue.state import ConversationState


class Desk:
    """What the repair needs from the conversation service: locks, states, notifications."""

    def __init__(self, engine, log: ConversationLog) -> None:
        self.hub = Hub()
        self.states: dict[str, ConversationState] = {}
        self.announced: list[dict] = []
        self.log = log
        self.handoffs = Handoffs(engine, log, lock=self.hub.lock, get_state=self.get_state,
                                 notify=self.notify, sweep_seconds=0.2)

    async def get_state(self, conversation_id: str) -> ConversationState:
        try:
            return self.states[conversation_id]
        except KeyError:
            raise LookupError(conversation_id) from None

    async def notify(self, conversation_id: str, event: dict) -> None:
        self.announced.append({"conversation_id": conversation_id, **event})

    def waiting(self, conversation_id: str, status: str = "escalated",
                handoff: dict | None = None) -> None:
        """A conversation whose stored row and current state say ``status``."""
        self.states[conversation_id] = ConversationState(id=conversation_id, status=status,
                                                         handoff=handoff)
        self.log.write(ConversationRecord(id=conversation_id, status=status))
        assert self.log.flush(10)


@pytest.fixture
def engine(sqlite_url):
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def desk(engine) -> Iterator[Desk]:
    with ConversationLog(engine) as log:
        yield Desk(engine, log)


def queued(engine, conversation_id: str) -> list[tuple[str, int, str]]:
    with Session(engine) as session:
        return [tuple(row) for row in session.execute(
            select(Escalation.reason, Escalation.priority, Escalation.status)
            .where(Escalation.conversation_id == conversation_id))]


async def test_a_waiting_conversation_outside_the_queue_is_queued_with_its_reason(desk, engine):
    desk.waiting("lost", handoff={"reason": "negative_sentiment", "priority": 3})
    assert await desk.handoffs.repair() == 1
    assert queued(engine, "lost") == [("negative_sentiment", 3, "open")]
    assert desk.announced[0]["type"] == "escalation" and desk.announced[0]["recovered"]


async def test_a_conversation_already_in_the_queue_is_not_queued_twice(desk, engine):
    desk.waiting("fine", handoff={"reason": "customer_request", "priority": 1})
    open_escalation(engine, "fine", "customer_request", 1)
    assert await desk.handoffs.repair() == 0
    assert len(queued(engine, "fine")) == 1


async def test_a_conversation_handed_back_since_its_row_was_written_is_left_alone(desk, engine):
    desk.waiting("back")
    desk.states["back"].status = "bot"  # the current state moved on; the row is stale
    assert await desk.handoffs.repair() == 0
    assert queued(engine, "back") == []


async def test_the_repair_runs_again_every_round_not_only_at_start_up(desk, engine):
    desk.handoffs.start()
    try:
        await asyncio.sleep(0.5)  # the first round found nothing
        desk.waiting("later")
        for _ in range(50):
            if queued(engine, "later"):
                break
            await asyncio.sleep(0.1)
        assert queued(engine, "later") == [("customer_request", 1, "open")]
    finally:
        await desk.handoffs.close()


async def test_opening_is_idempotent_while_an_escalation_is_unresolved(engine):
    first, created = open_escalation(engine, "twice", "complaint", 2)
    again, created_again = open_escalation(engine, "twice", "complaint", 2)
    assert (created, created_again, again) == (True, False, first)
