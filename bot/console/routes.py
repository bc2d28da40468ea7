"""The agent console: its page, JSON API and live WebSocket, and live delivery of agent
events to customers' widgets.

HTTP API (every endpoint needs an agent or admin session; 401 anonymous, 403 other roles):

    GET  /agent                                     the console page
    GET  /agent/api/queue                           waiting conversations, most urgent first
    GET  /agent/api/conversations/{id}              transcript, status, customer panel
    POST /agent/api/conversations/{id}/claim
    POST /agent/api/conversations/{id}/reply        {"text": "..."}
    POST /agent/api/conversations/{id}/handback     back to the bot
    POST /agent/api/conversations/{id}/resolve      ends it; the customer is asked to rate it
    GET  /agent/ws                                  live: queue, messages, status changes
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import WSMsgType, web

from analytics.store.shop import ShopRepository
from bot.channels.sockets import CustomerSockets
from bot.config import Config
from bot.console.desk import AgentDesk, HandoffError
from bot.console.queue import EscalationQueue
from bot.dialogue.conversations import ConversationService
from bot.dialogue.hub import AGENTS_TOPIC, CUSTOMER_TOPIC
from bot.web.auth import AGENT_ROLES, AuthUser, require
from bot.web.errors import read_json_object
from bot.web.origins import forbid_other_origins

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parents[1] / "static"
QUEUE_REFRESH_SECONDS = 30.0  # waiting raises urgency, so the queue is re-sent now and then
QUEUE_DEBOUNCE_SECONDS = 0.05


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

    async def _to_agents(self, topic: str, message: dict) -> None:
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


async def _send(ws: web.WebSocketResponse, message: dict) -> None:
    if ws.closed:
        return
    try:
        await ws.send_json(message)
    except (ConnectionError, RuntimeError) as exc:  # it closed while we were sending
        logger.debug("dropped a live event for a closing socket: %s", exc)


CONSOLE = web.AppKey("agent_console", AgentConsole)


def _desk(request: web.Request) -> AgentDesk:
    return request.app[CONSOLE].desk


def _handoff_errors(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except HandoffError as exc:
            return web.json_response({"error": str(exc), "status": exc.status},
                                     status=exc.status)

    return wrapped


async def console_page(request: web.Request) -> web.FileResponse:
    # The page holds no data; it logs in and then calls the API, which checks roles.
    return web.FileResponse(STATIC_DIR / "agent.html")


async def queue(request: web.Request) -> web.Response:
    require(request, AGENT_ROLES)
    return web.json_response({"items": await _desk(request).queue_items()})


@_handoff_errors
async def conversation(request: web.Request) -> web.Response:
    require(request, AGENT_ROLES)
    return web.json_response(await _desk(request).conversation(
        request.match_info["conversation_id"]))


def _action(step: str):
    @_handoff_errors
    async def handler(request: web.Request) -> web.Response:
        agent = require(request, AGENT_ROLES)
        forbid_other_origins(request)
        desk = _desk(request)
        conversation_id = request.match_info["conversation_id"]
        if step == "reply":
            body = await read_json_object(request, request.app[CONSOLE].max_body_bytes)
            return web.json_response(await desk.reply(conversation_id, agent, body.get("text")))
        method = {"claim": desk.claim, "handback": desk.hand_back, "resolve": desk.resolve}[step]
        return web.json_response(await method(conversation_id, agent))

    return handler


async def agent_socket(request: web.Request) -> web.WebSocketResponse:
    """Live console updates; the console sends {"type": "typing", "conversation_id", "on"}."""
    agent = require(request, AGENT_ROLES)
    forbid_other_origins(request)
    console = request.app[CONSOLE]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    console.agent_sockets[ws] = agent
    try:
        await ws.send_json({"type": "hello", "user": {"id": agent.id, "username": agent.username,
                                                      "role": agent.role}})
        console.refresh_queue()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            if data.get("type") == "typing" and isinstance(data.get("conversation_id"), str):
                try:
                    await console.desk.typing(data["conversation_id"], agent,
                                              bool(data.get("on")))
                except HandoffError:
                    pass
            elif data.get("type") == "ping":
                await ws.send_json({"type": "pong"})
    finally:
        console.agent_sockets.pop(ws, None)
    return ws


async def customer_rating(app: web.Application, conversation_id: str, data: dict) -> dict:
    """The widget's {"type": "csat", "rating", "comment"?}; returns the answer to send back."""
    try:
        await app[CONSOLE].desk.rate(conversation_id, data.get("rating"), data.get("comment"))
    except HandoffError as exc:
        return {"type": "error", "error": str(exc)}
    return {"type": "csat_thanks", "rating": data.get("rating")}


def setup_agent_console(app: web.Application, config: Config, *, service: web.AppKey,
                        db: web.AppKey, sockets: web.AppKey) -> None:
    """Add the console's routes, and its runtime after the one that fills the given keys
    (the ConversationService, the SQLAlchemy engine and the widget sockets)."""

    async def runtime(app: web.Application) -> AsyncIterator[None]:
        conversations: ConversationService = app[service]
        engine = app[db]
        desk = AgentDesk(conversations, EscalationQueue(engine, config.escalation),
                         ShopRepository(engine), max_message_chars=config.max_message_chars)
        conversations.add_listener(desk.on_conversation_event)
        console = AgentConsole(desk, app[sockets], max_body_bytes=config.max_body_bytes)
        console.start()
        app[CONSOLE] = console
        yield
        await console.close()

    app.cleanup_ctx.append(runtime)
    app.router.add_get("/agent", console_page)
    app.router.add_get("/agent/api/queue", queue)
    app.router.add_get("/agent/api/conversations/{conversation_id}", conversation)
    for step in ("claim", "reply", "handback", "resolve"):
        app.router.add_post(f"/agent/api/conversations/{{conversation_id}}/{step}", _action(step))
    app.router.add_get("/agent/ws", agent_socket)
