"""The agents' queue as a waiting customer hears of it (bot/dialogue/waiting.py's WaitingRoom):
their place in the console's own ranking, the expected wait from recent handle times, and
the email they leave when nobody is online (or it is outside carebot.yml's business hours:
bot/console/hours.py), kept on their escalation for the agents."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime

from analytics.store.escalations import EscalationState
from analytics.store.inbox import contact_email, recent_handle_seconds, set_contact_email
from bot.console.hours import BusinessHours
from bot.console.queue import EscalationQueue
from bot.dialogue.builtin_actions import email_in
from bot.dialogue.waiting import QueueStatus

# Handle times are re-read at most this often (each handoff and waiting message asks).
HANDLE_TIME_TTL_SECONDS = 60.0


class ConsoleWaitingRoom:
    """Answers the dialogue's questions about the queue from the escalations' rows."""

    def __init__(self, queue: EscalationQueue, agents_online: Callable[[], int],
                 clock: Callable[[], float], hours: BusinessHours | None = None) -> None:
        self.queue = queue
        self.agents_online = agents_online
        self.clock = clock
        self.hours = hours  # None: always open
        self._pending_email: dict[str, str] = {}  # said before the escalation row exists
        self._handle: tuple[float, float | None] | None = None  # (read at, seconds)

    async def on_handoff(self, conversation_id: str, priority: int,
                         contact: str | None) -> QueueStatus:
        online = self.agents_online()
        offline = online == 0 or self._opens_at() is not None
        if offline and contact:
            self._pending_email[conversation_id] = contact
        return await self._status(conversation_id, priority, online,
                                  contact if offline else None)

    async def on_follow_up(self, conversation_id: str, text: str) -> QueueStatus | None:
        escalation = await asyncio.to_thread(self.queue.current, conversation_id)
        if escalation is not None and escalation.status != "open":
            return None  # an agent holds it and answers for themselves
        written = email_in(text)
        if written and escalation is not None:
            await asyncio.to_thread(set_contact_email, self.queue.engine, escalation.id, written)
        elif written:  # the escalation is queued later (database away): kept until then
            self._pending_email[conversation_id] = written
        kept = written or self._pending_email.get(conversation_id)
        if kept is None and escalation is not None:
            kept = await asyncio.to_thread(contact_email, self.queue.engine, escalation.id)
        priority = escalation.priority if escalation else 1
        status = await self._status(conversation_id, priority, self.agents_online(), kept,
                                    escalation)
        if written:
            status = QueueStatus(status.position, status.expected_wait_seconds,
                                 status.agents_online, written, email_saved_now=True,
                                 opens_at=status.opens_at)
        return status

    async def on_escalation(self, conversation_id: str, escalation_id: int) -> None:
        """The escalation row exists now: keep the email the customer gave before it did."""
        email = self._pending_email.pop(conversation_id, None)
        if email:
            await asyncio.to_thread(set_contact_email, self.queue.engine, escalation_id, email)

    async def _status(self, conversation_id: str, priority: int, online: int,
                      contact: str | None,
                      escalation: EscalationState | None = None) -> QueueStatus:
        items = [i for i in await asyncio.to_thread(self.queue.items) if i.status == "open"]
        ids = [i.conversation_id for i in items]
        if conversation_id in ids:
            position = ids.index(conversation_id) + 1
        else:  # not queued yet: behind everyone at least as urgent as a new arrival
            position = sum(1 for i in items if i.urgency >= priority) + 1
        handle = await self._handle_seconds()
        wait = None if handle is None else math.ceil(position / max(online, 1)) * handle
        opens_at = self._opens_at()
        if opens_at is not None:  # nobody answers before the team is back
            wait = self.hours.seconds_until_open(self._now()) + (wait or 0.0)
        return QueueStatus(position, wait, online, contact, opens_at=opens_at)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _opens_at(self) -> str | None:
        """Outside business hours: when the team is back ("Monday 09:00 GMT"); else None."""
        if self.hours is None or self.hours.is_open(self._now()):
            return None
        return self.hours.opens_at(self._now()) or "soon"

    async def _handle_seconds(self) -> float | None:
        now = self.clock()
        if self._handle is None or self._handle[1] is None \
                or now - self._handle[0] > HANDLE_TIME_TTL_SECONDS:
            self._handle = (now, await asyncio.to_thread(recent_handle_seconds,
                                                         self.queue.engine))
        return self._handle[1]
