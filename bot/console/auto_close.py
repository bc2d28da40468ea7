"""Escalations left too long are closed, and the customer is told.

carebot.yml ``escalation.auto_close_after`` ("3 days", "12 hours"; off by default) sets how
long an escalation may wait: an open one (nobody claimed it) that long after it was opened, a
claimed one once neither the agent nor the customer wrote for that long (the simulated items
of long ago that lead nobody anywhere). A background job of every serving process looks for
them; each is closed once, across processes: under the conversation's lock (across processes
with Redis or the workers' hub), by an UPDATE that only moves an escalation still unresolved
and still overdue. The process whose UPDATE changed the row tells the customer
(``utter_handoff_closed``, a built-in text unless the project has one), logs it (an
``auto_close`` event), and the agents' queue drops it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, update

from analytics.store.records import EventRecord, MessageRecord, record_time
from analytics.store.schema import Conversation, Escalation
from bot.console.desk import message_view
from bot.dialogue import events as ev
from bot.dialogue import rasa_events as re_
from bot.dialogue.actions.responses import ResponseRenderer, interpolate
from bot.dialogue.background import BackgroundTask
from bot.dialogue.builtin_actions import DEFAULT_RESPONSES
from bot.dialogue.conversations import ConversationNotFound, ConversationService
from bot.dialogue.hub import AGENTS_TOPIC, CUSTOMER_TOPIC

logger = logging.getLogger(__name__)

CLOSED_RESPONSE = "utter_handoff_closed"
MAX_SWEEP_SECONDS = 60.0
MIN_SWEEP_SECONDS = 1.0
BATCH = 200  # escalations closed per round at most (the next round takes the rest)


def sweep_interval(after_seconds: float) -> float:
    """How often to look: a tenth of the threshold, between 1 s and a minute."""
    return min(MAX_SWEEP_SECONDS, max(MIN_SWEEP_SECONDS, after_seconds / 10.0))


def _overdue(cutoff: datetime):
    """Unresolved and left too long: open since before ``cutoff``, or claimed with nothing
    written in the conversation since then."""
    last_active = (select(Conversation.last_active_at)
                   .where(Conversation.id == Escalation.conversation_id)
                   .correlate(Escalation).scalar_subquery())
    quiet_since = func.coalesce(Escalation.first_response_at, Escalation.claimed_at,
                                Escalation.created_at)
    return or_(and_(Escalation.status == "open", Escalation.created_at < cutoff),
               and_(Escalation.status == "claimed", quiet_since < cutoff,
                    func.coalesce(last_active, Escalation.created_at) < cutoff))


def overdue_escalations(engine: Engine, cutoff: datetime, limit: int = BATCH
                        ) -> list[tuple[int, str]]:
    """(escalation id, conversation id) of the escalations overdue at ``cutoff``."""
    query = (select(Escalation.id, Escalation.conversation_id)
             .where(_overdue(cutoff))
             .order_by(Escalation.created_at, Escalation.id)
             .limit(limit))
    with engine.connect() as conn:
        return [(int(i), str(c)) for i, c in conn.execute(query).all()]


def close_if_overdue(engine: Engine, escalation_id: int, cutoff: datetime,
                     at: datetime) -> bool:
    """Resolve the escalation if it is still overdue: True for the one caller that changed
    it (an agent's claim or reply, or another process, got there first otherwise)."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, _overdue(cutoff))
            .values(status="resolved", resolved_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed == 1


class AutoCloser:
    """The background job: every ``interval`` seconds, close what waited longer than
    ``after_seconds``."""

    def __init__(self, service: ConversationService, engine: Engine, after_seconds: float,
                 *, interval: float | None = None) -> None:
        self.service = service
        self.engine = engine
        self.after_seconds = after_seconds
        self.interval = interval or sweep_interval(after_seconds)
        self._task = BackgroundTask("carebot-escalation-auto-close")

    def start(self) -> None:
        if not self._task.running:
            logger.info("escalations left for %s are closed and the customer told",
                        _words(self.after_seconds))
            self._task.start(self._run())

    async def close(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the loop must survive anything; the next round retries
                logger.exception("closing overdue escalations failed")
            await asyncio.sleep(self.interval)

    async def sweep(self) -> int:
        """Close every overdue escalation; returns how many this process closed."""
        now = record_time()
        cutoff = now - timedelta(seconds=self.after_seconds)
        closed = 0
        for escalation_id, conversation_id in await asyncio.to_thread(
                overdue_escalations, self.engine, cutoff):
            try:
                closed += await self._close_one(escalation_id, conversation_id, cutoff)
            except Exception:  # noqa: BLE001 - one conversation must not stop the others
                logger.exception("could not close overdue escalation %d of conversation %s",
                                 escalation_id, conversation_id)
        return closed

    async def _close_one(self, escalation_id: int, conversation_id: str,
                         cutoff: datetime) -> int:
        service = self.service
        async with service.lock(conversation_id):
            try:
                state = await service.get_state(conversation_id)
            except ConversationNotFound:
                state = None
            if state is not None and state.status == "agent" \
                    and time.time() - state.last_active_at < self.after_seconds:
                return 0  # the agent or the customer wrote just now (not yet in the row)
            now = record_time()
            if not await asyncio.to_thread(close_if_overdue, self.engine, escalation_id,
                                           cutoff, now):
                return 0  # claimed, answered or closed by another process meanwhile
            record = agent = None
            if state is not None and state.status in ("escalated", "agent"):
                agent = state.assigned_agent_id
                message = self._message(state)
                state.status = "resolved"
                state.assigned_agent_id = None
                state.ended_at = state.last_active_at = time.time()
                state.add_event({**re_.bot(message, CLOSED_RESPONSE), "timestamp": time.time()})
                await service.commit(state)
                record = MessageRecord(
                    conversation_id=conversation_id, sender="bot", text=message.get("text", ""),
                    data={k: v for k, v in message.items() if k != "text"}, created_at=now)
                service.log.write(record)
            service.log.write(EventRecord(
                conversation_id=conversation_id, type="auto_close", actor="bot",
                created_at=now, data={"escalation_id": escalation_id,
                                      "after_seconds": self.after_seconds,
                                      "customer_told": record is not None,
                                      **({"agent_id": agent} if record and agent else {})}))
            # stored before anyone hears of it: a widget reconnecting finds it in the history
            await asyncio.to_thread(service.log.flush, 5.0)
            logger.info("escalation %d of conversation %s closed: left for more than %s%s",
                        escalation_id, conversation_id, _words(self.after_seconds),
                        "; the customer was told" if record else "")
            if record is not None:
                await service.hub.publish(CUSTOMER_TOPIC, {
                    "conversation_id": conversation_id,
                    "event": {"type": "bot", **message_view(record)}})
                await service.hub.publish(CUSTOMER_TOPIC, {
                    "conversation_id": conversation_id,
                    "event": {"type": "ended", "by": "timeout"}})
            await service.hub.publish(AGENTS_TOPIC, {"type": "conversation",
                                                     "conversation_id": conversation_id,
                                                     "status": "resolved",
                                                     "assigned_to": None})
            await service.hub.publish(AGENTS_TOPIC, {"type": "queue_changed",
                                                     "conversation_id": conversation_id})
        return 1

    def _message(self, state) -> dict:
        """utter_handoff_closed as the project words it, else Carebot's text."""
        domain = self.service.processor.domain
        slots = ev.view(state.events, domain).slots
        rendered = ResponseRenderer(domain).render(CLOSED_RESPONSE, slots, state.channel)
        if rendered:
            return {k: v for k, v in rendered[0].items() if k != "response"}
        return interpolate(dict(DEFAULT_RESPONSES[CLOSED_RESPONSE]), slots)


def _words(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} seconds"


__all__ = ["AutoCloser", "CLOSED_RESPONSE", "close_if_overdue", "overdue_escalations",
           "sweep_interval"]
