"""The agent consoles' live sockets in this process, fed from the hub (so from every
process), and live delivery of agent events to the customers' widgets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from bot.channels.sockets import CustomerSockets
from bot.console.desk import AgentDesk
from bot.dialogue.hub import AGENTS_TOPIC, CUSTOMER_TOPIC
from bot.web.sessions import AuthUser

logger = logging.getLogger(__name__)

QUEUE_REFRESH_SECONDS = 30.0  # waiting raises urgency, so the queue is re-sent now and then
QUEUE_DEBOUNCE_SECONDS = 0.05
# Each process tells the others which agents have its console open, on every tick and change;
# a process not heard of for this long has none (it stopped or lost Redis).
PRESENCE_TTL_SECONDS = 3 * QUEUE_REFRESH_SECONDS + 1


class AgentConsole:
    """The agent sockets of this process, fed from the hub (so from every process)."""

    def __init__(self, desk: AgentDesk, customer_sockets: CustomerSockets, *,
                 max_body_bytes: int = 64 * 1024) -> None:
        self.desk = desk
        self.max_body_bytes = max_body_bytes
        self.customer_sockets = customer_sockets  # conversation id -> set of widget sockets
        self.agent_sockets: dict[web.WebSocketResponse, AuthUser] = {}
        self._refresh: asyncio.Task | None = None
        self._stale = False
        self._ticker: asyncio.Task | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.process_id = uuid.uuid4().hex
        self._elsewhere: dict[str, tuple[set[str], float]] = {}  # process -> (agents, seen)

    def start(self) -> None:
        hub = self.desk.hub
        self._unsubscribe = [hub.subscribe(CUSTOMER_TOPIC, self._to_customers),
                             hub.subscribe(AGENTS_TOPIC, self._to_agents)]
        self._ticker = asyncio.create_task(self._tick(), name="agent-queue-ticker")

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for task in (self._ticker, self._refresh):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for ws in list(self.agent_sockets):
            await ws.close()

    async def _to_customers(self, topic: str, message: dict) -> None:
        for ws in self.customer_sockets.of(message.get("conversation_id")):
            await _send(ws, message.get("event", {}))

    def agents_online(self) -> set[str]:
        """Usernames with the console open, in any process."""
        cutoff = time.monotonic() - PRESENCE_TTL_SECONDS
        names = {agent.username for agent in self.agent_sockets.values()}
        for agents, seen in self._elsewhere.values():
            if seen >= cutoff:
                names |= agents
        return names

    async def announce_presence(self) -> None:
        agents = sorted({agent.username for agent in self.agent_sockets.values()})
        await self.desk.hub.publish(AGENTS_TOPIC, {"type": "console_presence",
                                                   "process": self.process_id,
                                                   "agents": agents})

    async def _to_agents(self, topic: str, message: dict) -> None:
        if message.get("type") == "console_presence":
            if message.get("process") != self.process_id:
                self._elsewhere[str(message.get("process"))] = (
                    {str(a) for a in message.get("agents") or []}, time.monotonic())
            return
        if message.get("type") == "queue_changed" or message.get("type") == "messages":
            self.refresh_queue()  # new customer lines change the queue's previews too
        if message.get("type") != "queue_changed":
            for ws in list(self.agent_sockets):
                await _send(ws, message)

    def refresh_queue(self) -> None:
        """Send the queue to every console of this process soon (bursts coalesce)."""
        if not self.agent_sockets:
            return
        self._stale = True
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._send_queue())

    async def _send_queue(self) -> None:
        while self._stale:  # a change during the read below needs another read
            await asyncio.sleep(QUEUE_DEBOUNCE_SECONDS)
            self._stale = False
            try:
                items = await self.desk.queue_items()
            except Exception:  # the database blipped: the next change or tick tries again
                logger.exception("could not read the agent queue")
                return
            for ws in list(self.agent_sockets):
                await _send(ws, {"type": "queue", "items": items})

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(QUEUE_REFRESH_SECONDS)
            self.refresh_queue()
            try:
                await self.announce_presence()
            except Exception:  # noqa: BLE001 - Redis blipped: the next tick tells them
                logger.warning("could not announce the agents online", exc_info=True)


async def _send(ws: web.WebSocketResponse, message: dict) -> None:
    if ws.closed:
        return
    try:
        await ws.send_json(message)
    except (ConnectionError, RuntimeError) as exc:  # it closed while we were sending
        logger.debug("dropped a live event for a closing socket: %s", exc)
