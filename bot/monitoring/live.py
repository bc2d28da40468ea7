"""The live operations state of this process's viewers: a snapshot pushed to every open live
socket (the live page, the console's strip) within a moment of a change anywhere.

A turn or an escalation in any process is announced on the hub's monitoring topic; every
process then re-reads the small live counts (debounced) and pushes the new snapshot to its
sockets. Which agents are online is announced the same way (each process's console
sockets), and a ticker refreshes now and then because waiting times grow by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from aiohttp import web
from sqlalchemy import Engine

from analytics.store.operations import operations_counts
from analytics.store.records import naive_utc_now
from bot.dialogue.hub import AGENTS_TOPIC, Hub
from bot.monitoring.alerts import AlertEngine
from bot.monitoring.metrics import CarebotMetrics
from bot.monitoring.settings import MonitoringSettings
from bot.monitoring.snapshot import LiveSnapshot

logger = logging.getLogger(__name__)

MONITOR_TOPIC = "monitoring"
DEBOUNCE_SECONDS = 0.1
TURN_ANNOUNCE_SECONDS = 0.5  # turns are announced at most this often per process
PRESENCE_SECONDS = 5.0
PRESENCE_TTL = 3 * PRESENCE_SECONDS + 1
TICK_SECONDS = 1.0


class LiveMonitor:
    def __init__(self, engine: Engine, hub: Hub, settings: MonitoringSettings,
                 alerts: AlertEngine, *, agents_here: Callable[[], set[str]] = set,
                 metrics: CarebotMetrics | None = None,
                 gauges: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.hub = hub
        self.settings = settings
        self.alerts = alerts
        self.agents_here = agents_here
        self.metrics = metrics
        self.gauges = gauges  # sets the per-process gauges (sockets, log backlog) on a tick
        self.sockets: set[web.WebSocketResponse] = set()
        self.snapshot: LiveSnapshot | None = None
        self.process_id = uuid.uuid4().hex
        self._presence: dict[str, tuple[list[str], float]] = {}
        self._announced_agents: list[str] | None = None
        self._last_turn_announce = 0.0
        self._stale = False
        self._refresh: asyncio.Task | None = None
        self._tasks: list[asyncio.Task] = []
        self._unsubscribe: list[Callable[[], None]] = []

    async def start(self) -> None:
        self._unsubscribe = [self.hub.subscribe(MONITOR_TOPIC, self._on_hub),
                             self.hub.subscribe(AGENTS_TOPIC, self._on_agents)]
        await self._announce_presence(force=True)
        self._tasks = [asyncio.create_task(self._tick(), name="live-monitor-tick")]
        self.refresh()

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        with contextlib.suppress(Exception):  # tell the others this process's agents left
            await self.hub.publish(MONITOR_TOPIC, {"type": "presence", "process":
                                                   self.process_id, "agents": [], "bye": True})
        for task in [*self._tasks, self._refresh]:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for ws in list(self.sockets):
            await ws.close()

    # -- what happens -----------------------------------------------------------------------

    async def on_conversation_event(self, conversation_id: str, event: dict) -> None:
        """ConversationService listener: announce escalations at once, turns now and then."""
        if event.get("type") == "escalation":
            await self.hub.publish(MONITOR_TOPIC, {"type": "changed", "what": "escalation"})
        elif event.get("type") == "turn":
            now = time.monotonic()
            if now - self._last_turn_announce >= TURN_ANNOUNCE_SECONDS:
                self._last_turn_announce = now
                await self.hub.publish(MONITOR_TOPIC, {"type": "changed", "what": "turn"})

    async def _on_hub(self, topic: str, message: dict) -> None:
        if message.get("type") == "presence":
            process = str(message.get("process"))
            agents = [str(a) for a in message.get("agents") or []]
            before = self.agents_online()
            if message.get("bye"):
                self._presence.pop(process, None)
            else:
                self._presence[process] = (agents, time.monotonic())
            if self.agents_online() != before:
                self.refresh()
        elif message.get("type") == "changed":
            self.refresh()

    async def _on_agents(self, topic: str, message: dict) -> None:
        if message.get("type") in ("queue_changed", "conversation"):
            self.refresh()  # claims, hand-backs and resolutions change the queue

    def agents_online(self) -> list[str]:
        cutoff = time.monotonic() - PRESENCE_TTL
        names: set[str] = set()
        for agents, seen in self._presence.values():
            if seen >= cutoff:
                names.update(agents)
        return sorted(names)

    async def _announce_presence(self, *, force: bool = False) -> None:
        agents = sorted(self.agents_here())
        if force or agents != self._announced_agents:
            self._announced_agents = agents
            await self.hub.publish(MONITOR_TOPIC, {"type": "presence",
                                                   "process": self.process_id,
                                                   "agents": agents})

    async def _tick(self) -> None:
        last_presence = last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            try:
                await self._announce_presence(force=now - last_presence >= PRESENCE_SECONDS)
                if now - last_presence >= PRESENCE_SECONDS:
                    last_presence = now
                if self.gauges:
                    self.gauges()
            except Exception:  # the hub blipped: the next tick tries again
                logger.exception("live monitor: presence or gauges failed")
            if now - last_refresh >= self.settings.evaluate_seconds:
                last_refresh = now
                self.refresh()

    # -- the snapshot -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the live counts soon and push them (bursts of changes coalesce)."""
        self._stale = True
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._run_refresh())

    async def _run_refresh(self) -> None:
        while self._stale:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self._stale = False
            try:
                await self._refresh_once()
            except Exception:  # the database blipped: the next change or tick tries again
                logger.exception("live monitor: could not refresh the live snapshot")
                return

    async def _refresh_once(self) -> None:
        counts = await asyncio.to_thread(operations_counts, self.engine, naive_utc_now(),
                                         active_minutes=self.settings.active_minutes)
        open_before = [a.to_dict() for a in self.alerts.open.values()]
        snapshot = LiveSnapshot.build(counts, self.agents_online(), open_before)
        self.snapshot = snapshot
        await self.push(snapshot)  # viewers first; alert bookkeeping may take longer
        if self.metrics:
            self.metrics.queue_length.set(snapshot.queue_length)
            self.metrics.oldest_wait.set(snapshot.oldest_wait_seconds or 0.0)
        open_now = [a.to_dict() for a in await self.alerts.evaluate(snapshot)]
        if self.metrics:
            self.metrics.alerts_open.set(len(open_now))
        if sorted(a["alert_id"] for a in open_now) != sorted(a["alert_id"] for a in open_before):
            self.snapshot = LiveSnapshot.build(counts, snapshot.agents, open_now)
            await self.push(self.snapshot)

    async def push(self, snapshot: LiveSnapshot) -> None:
        message = {"type": "live", "snapshot": snapshot.to_dict()}
        for ws in list(self.sockets):
            if ws.closed:
                self.sockets.discard(ws)
                continue
            try:
                await ws.send_json(message)
            except (ConnectionError, RuntimeError):
                self.sockets.discard(ws)
