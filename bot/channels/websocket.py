"""The chat page's and the widget's channel: one WebSocket per open chat, protocol in
docs/websocket.md. A message is acknowledged only once its turn is stored."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import uuid

from aiohttp import WSMsgType, web

from bot.channels.identity import verified_customer_id
from bot.channels.ids import is_conversation_id, uuid_or_none
from bot.channels.throttle import message_refused
from bot.config import Config
from bot.console.routes import customer_rating
from bot.dialogue.conversations import (
    ConversationForbidden,
    ConversationNotFound,
    ConversationService,
)
from bot.dialogue.hub import ConversationBusy
from bot.web import safe_json
from bot.web.errors import http_error, text_problem
from bot.web.keys import CONFIG, LIMITER, SERVICE, SOCKETS
from bot.web.origins import origin_allowed
from bot.web.ratelimit import client_address, current_address

logger = logging.getLogger(__name__)

CHANNEL = "websocket"


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """The chat page's and widget's channel; protocol in docs/websocket.md."""
    config = request.app[CONFIG]
    service = request.app[SERVICE]
    sockets = request.app[SOCKETS]
    if not origin_allowed(request.headers.get("Origin"), config.allowed_origins):
        raise http_error(web.HTTPForbidden,
                         "this page's origin may not use the chat; add it to allowed_origins")
    # aiohttp closes the socket on a frame over max_msg_size; frames up to the hard cap get
    # an error frame instead and the socket stays open (docs/websocket.md)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=hard_frame_cap(config))
    await ws.prepare(request)
    conversation_id: str | None = None
    customer: str | None = None
    address = client_address(request)
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.ERROR:
                    logger.warning("websocket error: %s", ws.exception())
                continue
            if len(msg.data) > config.max_body_bytes:
                await ws.send_json({"type": "error", "error": f"frame is larger than "
                                    f"{config.max_body_bytes} bytes; send shorter messages"})
                continue
            try:
                data = safe_json.loads(msg.data)
                if not isinstance(data, dict):
                    raise ValueError("must be a JSON object")
            except ValueError as exc:
                await ws.send_json({"type": "error", "error": f"the frame {exc}"})
                continue
            kind = data.get("type")
            if kind == "hello":
                if conversation_id:
                    sockets.discard(conversation_id, ws)
                conversation_id = await _resumable_conversation(
                    request.app, data.get("conversation_id"), data.get("token"))
                customer = verified_customer_id(data.get("customer_id"), data.get("signature"),
                                                config.widget_secret)
                # Under the lock a turn still running (its socket may just have dropped) ends
                # first, so its reply is in the history; live events follow the welcome.
                async with service.lock(conversation_id):
                    history = await asyncio.to_thread(_history, service, conversation_id)
                    try:
                        status = (await service.get_state(conversation_id)).status
                    except ConversationNotFound:
                        status = "bot"
                    await ws.send_json({"type": "welcome", "conversation_id": conversation_id,
                                        "token": resume_token(config, conversation_id),
                                        "verified": customer is not None, "status": status,
                                        "history": history})
                    sockets.add(conversation_id, ws)
            elif kind == "message":
                if conversation_id is None:
                    await ws.send_json({"type": "error", "error": "say hello first"})
                    continue
                text = data.get("text")
                client_id = data.get("id") if isinstance(data.get("id"), str) else None
                # "retry": false means sending it again can never work (docs/websocket.md)
                if not isinstance(text, str) or not text.strip():
                    await ws.send_json({"type": "error", "id": client_id, "retry": False,
                                        "error": "message text is empty"})
                    continue
                problem = (f"is longer than {config.max_message_chars} characters"
                           if len(text) > config.max_message_chars else text_problem(text))
                if problem:
                    await ws.send_json({"type": "error", "id": client_id, "retry": False,
                                        "error": f"message {problem}"})
                    continue
                retry = await message_refused(request.app.get(LIMITER), conversation_id,
                                              address)
                if retry:  # no ack: the widget keeps the message and sends it again later
                    await ws.send_json({"type": "error", "id": client_id, "retry": True,
                                        "retry_after": retry.seconds,
                                        "error": "too many messages; try again "
                                        f"in {retry.seconds} seconds"})
                    continue
                await ws.send_json({"type": "typing", "on": True})
                current_address.set(address)  # the order-lookup limits read it in the turn
                try:
                    messages = await service.handle_message(
                        conversation_id, text, channel=CHANNEL,
                        customer_external_id=customer, message_id=uuid_or_none(client_id))
                except (ConversationForbidden, ConversationBusy) as exc:
                    # no ack: the widget keeps a busy conversation's message and sends it
                    # again; a forbidden one can never go through
                    await ws.send_json({"type": "error", "id": client_id, "error": str(exc),
                                        "retry": isinstance(exc, ConversationBusy)})
                    await ws.send_json({"type": "typing", "on": False})
                    continue
                except Exception:
                    logger.exception("conversation %s: turn failed", conversation_id)
                    await ws.send_json({"type": "error", "id": client_id, "retry": True,
                                        "error": "the bot could not handle that message; "
                                                 "try again"})
                    await ws.send_json({"type": "typing", "on": False})
                    continue
                # acknowledged only once the turn is stored: an ack lets the widget forget it
                await ws.send_json({"type": "ack", "id": client_id})
                for message in messages:
                    await ws.send_json({"type": "bot", **message})
                await ws.send_json({"type": "typing", "on": False})
            elif kind == "csat" and conversation_id:
                await ws.send_json(await customer_rating(request.app, conversation_id, data))
            else:
                await ws.send_json({"type": "error", "error": f"unknown message type {kind!r}"})
    finally:
        if conversation_id:
            sockets.discard(conversation_id, ws)
    return ws


def hard_frame_cap(config: Config) -> int:
    """The largest frame read at all (bigger ones close the socket with 1009)."""
    return max(1024 * 1024, 4 * config.max_body_bytes)


def resume_token(config: Config, conversation_id: str) -> str:
    """What a socket must show to continue (and read the history of) an existing conversation."""
    key = ("carebot-resume:" + config.session_secret).encode()
    return hmac.new(key, conversation_id.encode(), hashlib.sha256).hexdigest()[:32]


async def _resumable_conversation(app: web.Application, requested: object,
                                  token: object) -> str:
    """The requested conversation if it is new or the token proves it is the caller's."""
    if not is_conversation_id(requested):
        return uuid.uuid4().hex
    try:
        state = await app[SERVICE].get_state(requested)
    except ConversationNotFound:
        return requested
    if state.channel != CHANNEL:  # a REST conversation is never opened in a widget
        logger.info("hello for %s conversation %s: starting a new one", state.channel, requested)
        return uuid.uuid4().hex
    expected = resume_token(app[CONFIG], requested).encode()
    if isinstance(token, str) and hmac.compare_digest(expected, token.encode("utf-8", "replace")):
        return requested
    logger.info("hello for conversation %s without its token: starting a new one", requested)
    return uuid.uuid4().hex


def _history(service: ConversationService, conversation_id: str) -> list[dict]:
    service.log.flush(5.0)
    # the customer's own history: the words as written (bot/privacy), not the redacted ones
    return [{"id": m.id, "sender": m.sender, "text": service.raw_text.reveal(m), **((m.data or {}) if m.sender != "user" else {}),
             "at": m.created_at.isoformat()} for m in service.store.messages(conversation_id)]


def add_websocket_channel(app: web.Application) -> None:
    app.router.add_get("/ws", websocket)
