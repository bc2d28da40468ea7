"""Every conversation waiting for a person is in the agents' queue.

A handoff pauses the bot and asks for an escalation row; if the database cannot take the row
at that moment, the conversation would wait forever with nobody able to pick it up. So the
conversation's own state is the record of the request (status ``escalated`` and its
``handoff``, journaled with the turn), and a repair puts any waiting conversation without an
unresolved escalation in the queue: at start-up, every minute, and every few seconds while a
request of this process is still unqueued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from sqlalchemy import Engine

from analytics.store.escalations import escalated_without_escalation, open_escalation
from analytics.store.records import EventRecord
from analytics.store.writer import ConversationLog
from bot.dialogue.background import BackgroundTask
from bot.dialogue.state import ConversationState

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0
RETRY_SECONDS = 5.0
# A waiting conversation whose state does not say why (written before the reason was kept).
DEFAULT_HANDOFF = {"reason": "customer_request", "priority": 1}

Notify = Callable[[str, dict], Awaitable[None]]


class Handoffs:
    """Opens escalations for handoffs and repairs waiting conversations left out of the queue."""

    def __init__(self, engine: Engine, log: ConversationLog, *,
                 lock: Callable[[str], AbstractAsyncContextManager[None]],
                 get_state: Callable[[str], Awaitable[ConversationState]],
                 notify: Notify, sweep_seconds: float = SWEEP_SECONDS,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self._engine = engine
        self._log = log
        self._lock = lock
        self._get_state = get_state
        self._notify = notify
        self.sweep_seconds = sweep_seconds
        self.retry_seconds = retry_seconds
        self._unqueued: set[str] = set()  # this process's requests the database refused
        self._refused = asyncio.Event()  # one was just added: retry soon, not in a minute
        self._task = BackgroundTask("carebot-escalation-repair")

    async def open(self, conversation_id: str, reason: str, priority: int) -> int | None:
        """Queue a conversation that just asked for a person (call it holding its lock).
        When the database is down the request is kept and queued once it is back."""
        try:
            escalation_id, created = await asyncio.to_thread(
                open_escalation, self._engine, conversation_id, reason, priority)
        except Exception as exc:  # noqa: BLE001 - any failure: the repair retries it
            self._unqueued.add(conversation_id)
            self._refused.set()
            logger.warning("conversation %s asked for a person but the escalation could not be "
                           "stored (%s); it is queued as soon as the database answers",
                           conversation_id, _one_line(exc))
            return None
        if created:
            await self._announce(conversation_id, escalation_id,
                                 {"reason": reason, "priority": priority}, recovered=False)
        return escalation_id

    async def repair(self) -> int:
        """Queue every waiting conversation that has no unresolved escalation; returns how
        many were queued."""
        candidates = set(self._unqueued)
        try:
            candidates.update(await asyncio.to_thread(escalated_without_escalation, self._engine))
        except Exception as exc:  # noqa: BLE001
            logger.warning("escalation repair: cannot read waiting conversations (%s); "
                           "trying again in %.0f s", _one_line(exc), self._next_delay())
            return 0
        queued = 0
        for conversation_id in sorted(candidates):
            try:
                queued += await self._repair_one(conversation_id)
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                logger.warning("escalation repair: conversation %s is still not queued (%s)",
                               conversation_id, _one_line(exc))
        return queued

    async def _repair_one(self, conversation_id: str) -> int:
        async with self._lock(conversation_id):
            try:
                state = await self._get_state(conversation_id)
            except LookupError:
                self._unqueued.discard(conversation_id)
                return 0
            if state.status != "escalated":  # handed back, claimed or resolved meanwhile
                self._unqueued.discard(conversation_id)
                return 0
            handoff = state.handoff or DEFAULT_HANDOFF
            escalation_id, created = await asyncio.to_thread(
                open_escalation, self._engine, conversation_id, handoff["reason"],
                int(handoff["priority"]))
        self._unqueued.discard(conversation_id)
        if not created:
            return 0
        logger.warning("conversation %s was waiting for a person outside the queue; queued it "
                       "as escalation %d", conversation_id, escalation_id)
        await self._announce(conversation_id, escalation_id, handoff, recovered=True)
        return 1

    async def _announce(self, conversation_id: str, escalation_id: int, handoff: dict,
                        *, recovered: bool) -> None:
        data = {"escalation_id": escalation_id, "reason": handoff["reason"],
                "priority": int(handoff["priority"])}
        if recovered:
            data["recovered"] = True
        self._log.write(EventRecord(conversation_id=conversation_id, type="escalation",
                                    actor="bot", created_at=_now(), data=data))
        await self._notify(conversation_id, {"type": "escalation", **data})

    # -- the background repair ------------------------------------------------------------

    def start(self) -> None:
        """Repair now (once the journal's replay is written) and then every minute."""
        self._task.start(self._run())

    async def close(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        # Conversations a killed process escalated reach the database with the journal's
        # replay; wait for it (bounded: the database may be down) before the first round.
        await asyncio.to_thread(self._log.flush, 30.0)
        while True:
            try:
                await self.repair()
            except Exception:  # the loop must survive anything; the next round retries
                logger.exception("escalation repair failed")
            try:
                await asyncio.wait_for(self._refused.wait(), self._next_delay())
            except TimeoutError:
                continue
            self._refused.clear()  # a turn could not queue its escalation: retry shortly
            await asyncio.sleep(self.retry_seconds)

    def _next_delay(self) -> float:
        return self.retry_seconds if self._unqueued else self.sweep_seconds


def _now() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC).replace(tzinfo=None)


def _one_line(exc: Exception) -> str:
    text = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}"
