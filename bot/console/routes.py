"""The agent console: its page, JSON API and live WebSocket, mounted under /agent.

HTTP API (every endpoint needs an agent or admin session; 401 anonymous, 403 other roles):

    GET  /agent                                     the console page
    GET  /agent/api/queue                           waiting conversations, most urgent first
    GET  /agent/api/conversations/{id}              transcript, status, customer panel
    POST /agent/api/conversations/{id}/claim
    POST /agent/api/conversations/{id}/reply        {"text": "..."}
    POST /agent/api/conversations/{id}/handback     back to the bot
    POST /agent/api/conversations/{id}/resolve      ends it; the customer is asked to rate it
    POST /agent/api/conversations/{id}/transfer     {"to": "<username>"}: another agent holds it
    POST /agent/api/conversations/{id}/notes        {"text": "..."}: a private note (agents only)
    GET  /agent/api/search?q=...                    by customer name, email, order number, text
    GET  /agent/api/resolved                        conversations agents resolved, latest first
    GET  /agent/api/agents                          who a conversation can be transferred to
    GET  /agent/api/saved-replies                   canned answers, inserted with /shortcut
    POST /agent/api/saved-replies                   {"shortcut", "text"}
    DELETE /agent/api/saved-replies/{id}
    GET  /agent/ws                                  live: queue, messages, status changes
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import WSMsgType, web

from analytics.store.shop import ShopRepository
from bot.console.auto_close import AutoCloser
from bot.console.desk import AgentDesk, HandoffError
from bot.console.live import AgentConsole
from bot.console.queue import EscalationQueue
from bot.console.waiting import ConsoleWaitingRoom
from bot.web import safe_json
from bot.web.auth import AGENT_ROLES, forget_session, require, watch_session
from bot.web.errors import json_error, read_json_object
from bot.web.keys import CONFIG, DB, SERVICE, SOCKETS
from bot.web.origins import forbid_other_origins

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parents[1] / "static"
# Set on the main app, which the channels' handlers see too (the widget's rating goes here).
CONSOLE = web.AppKey("agent_console", AgentConsole)


def _desk(request: web.Request) -> AgentDesk:
    return request.config_dict[CONSOLE].desk


def _handoff_errors(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except HandoffError as exc:
            return json_error(exc.status, str(exc))

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
        if step in ("reply", "notes", "transfer"):
            body = await read_json_object(request, request.config_dict[CONSOLE].max_body_bytes)
            if step == "transfer":
                return web.json_response(await desk.transfer(conversation_id, agent,
                                                             body.get("to")))
            method = desk.reply if step == "reply" else desk.add_note
            return web.json_response(await method(conversation_id, agent, body.get("text")))
        method = {"claim": desk.claim, "handback": desk.hand_back, "resolve": desk.resolve}[step]
        return web.json_response(await method(conversation_id, agent))

    return handler


@_handoff_errors
async def search(request: web.Request) -> web.Response:
    require(request, AGENT_ROLES)
    return web.json_response({"items": await _desk(request).search(request.query.get("q"))})


async def resolved(request: web.Request) -> web.Response:
    require(request, AGENT_ROLES)
    return web.json_response({"items": await _desk(request).resolved()})


async def agents(request: web.Request) -> web.Response:
    require(request, AGENT_ROLES)
    return web.json_response({"items": await _desk(request).agents()})


@_handoff_errors
async def saved_replies(request: web.Request) -> web.Response:
    agent = require(request, AGENT_ROLES)
    desk = _desk(request)
    if request.method == "GET":
        return web.json_response({"items": await desk.saved_replies()})
    forbid_other_origins(request)
    if request.method == "DELETE":
        try:
            reply_id = int(request.match_info["reply_id"])
        except ValueError:
            return json_error(404, "no such saved reply")
        await desk.delete_saved_reply(reply_id)
        return web.json_response({"deleted": reply_id})
    body = await read_json_object(request, request.config_dict[CONSOLE].max_body_bytes)
    return web.json_response(await desk.add_saved_reply(agent, body.get("shortcut"),
                                                        body.get("text")), status=201)


async def agent_socket(request: web.Request) -> web.WebSocketResponse:
    """Live console updates; the console sends {"type": "typing", "conversation_id", "on"}."""
    agent = require(request, AGENT_ROLES)
    forbid_other_origins(request)
    console = request.config_dict[CONSOLE]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    console.agent_sockets[ws] = agent
    watch_session(request, ws)  # a logout closes it
    try:
        await ws.send_json({"type": "hello", "user": {"id": agent.id, "username": agent.username,
                                                      "role": agent.role}})
        console.refresh_queue()
        await _announce(console)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = safe_json.loads(msg.data)
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
        forget_session(request, ws)
        await _announce(console)
    return ws


async def _announce(console: AgentConsole) -> None:
    try:
        await console.announce_presence()
    except Exception:  # noqa: BLE001 - Redis blipped: the next tick tells the other processes
        logger.warning("could not announce the agents online", exc_info=True)


async def customer_rating(app: web.Application, conversation_id: str, data: dict) -> dict:
    """The widget's {"type": "csat", "rating", "comment"?}; returns the answer to send back."""
    try:
        await app[CONSOLE].desk.rate(conversation_id, data.get("rating"), data.get("comment"))
    except HandoffError as exc:
        return {"type": "error", "error": str(exc)}
    return {"type": "csat_thanks", "rating": data.get("rating")}


async def _console_runtime(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    conversations = app[SERVICE]
    desk = AgentDesk(conversations, EscalationQueue(app[DB], config.escalation),
                     ShopRepository(app[DB]), max_message_chars=config.max_message_chars)
    conversations.add_listener(desk.on_conversation_event)
    console = AgentConsole(desk, app[SOCKETS], max_body_bytes=config.max_body_bytes)
    # a waiting customer hears their place in the queue and the expected wait
    desk.waiting = ConsoleWaitingRoom(desk.queue, lambda: len(console.agents_online()),
                                      time.time, config.business_hours)
    conversations.processor.waiting_room = desk.waiting
    console.start()
    # escalations nobody took within escalation.auto_close_after: closed, the customer told
    after = config.escalation.auto_close_seconds
    closer = AutoCloser(conversations, app[DB], after) if after else None
    if closer is not None:
        closer.start()
    app[CONSOLE] = console
    yield
    if closer is not None:
        await closer.close()
    await console.close()


def console_app() -> web.Application:
    """The console's routes, relative to where it is mounted."""
    console = web.Application()
    console.router.add_get("", console_page)
    console.router.add_get("/api/queue", queue)
    console.router.add_get("/api/conversations/{conversation_id}", conversation)
    console.router.add_get("/api/search", search)
    console.router.add_get("/api/resolved", resolved)
    console.router.add_get("/api/agents", agents)
    console.router.add_get("/api/saved-replies", saved_replies)
    console.router.add_post("/api/saved-replies", saved_replies)
    console.router.add_delete("/api/saved-replies/{reply_id}", saved_replies)
    for step in ("claim", "reply", "handback", "resolve", "transfer", "notes"):
        console.router.add_post(f"/api/conversations/{{conversation_id}}/{step}", _action(step))
    console.router.add_get("/ws", agent_socket)
    return console


def add_agent_console(app: web.Application) -> None:
    """Mount the console at /agent, and start it after the runtime that fills SERVICE, DB and
    SOCKETS (call after adding that runtime to ``cleanup_ctx``).

    The runtime goes on the main app, not the sub-application: aiohttp runs a
    sub-application's clean-up after the main app's, when the hub and the database it
    uses would already be closed.
    """
    app.cleanup_ctx.append(_console_runtime)
    app.add_subapp("/agent", console_app())
