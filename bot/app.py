"""The aiohttp application: Rasa-compatible HTTP API, WebSocket chat, pages."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import WSMsgType, web

from actions.shop import ShopRepository, use_shop
from analytics.store.db import make_engine, migrate
from analytics.store.reads import ConversationStore
from analytics.store.writer import ConversationLog
from bot.channels.identity import verified_customer_id
from bot.config import Config
from bot.console.routes import customer_rating, setup_agent_console
from bot.dashboard.routes import add_dashboard_routes
from bot.dialogue.conversations import (
    ConversationForbidden,
    ConversationNotFound,
    ConversationService,
)
from bot.dialogue.domain import load_bot
from bot.dialogue.engine import DialogueEngine
from bot.dialogue.hub import ConversationBusy, make_hub
from bot.dialogue.nlu_batcher import NLUService
from bot.web.auth import (
    ACCOUNTS,
    AGENT_ROLES,
    SIGNER,
    AccountCache,
    SessionSigner,
    login_handler,
    logout,
    require,
    whoami,
)
from bot.web.errors import (
    BadRequest,
    error_middleware,
    read_json_object,
    require_text,
    text_problem,
)
from bot.web.origins import origin_allowed

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
CONFIG = web.AppKey("config", Config)
SERVICE = web.AppKey("conversations", ConversationService)
NLU = web.AppKey("nlu", NLUService)
SOCKETS = web.AppKey("sockets", dict)  # conversation id -> set of customer WebSockets
STORE = web.AppKey("store", ConversationStore)
DB = web.AppKey("db", object)  # the SQLAlchemy Engine
_CONVERSATION_ID = re.compile(r"^[\w.:@+-]{1,128}$")


def conversation_id_or_400(value: object, field: str = "sender") -> str:
    if not isinstance(value, str) or not _CONVERSATION_ID.match(value):
        raise BadRequest(f"'{field}' must be 1-128 letters, digits or . _ : @ + -")
    return value


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    bot = load_bot(config.domain_path, config.rules_path)
    from nlp.pipeline import NLU as NLUModel  # heavy import: only when a server starts

    if not NLUModel.is_trained(config.models_dir):
        raise RuntimeError(f"no trained models in {config.models_dir}; run `carebot train` first")
    await asyncio.to_thread(migrate, config.database_url)
    engine = make_engine(config.database_url)
    store = ConversationStore(engine)
    log = ConversationLog(engine, spool_dir=config.spool_dir)
    log.start()
    logger.info("loading models from %s", config.models_dir)
    model = await asyncio.to_thread(NLUModel.load, config.models_dir)
    nlu = NLUService(model, known_intents=set(bot.intents))
    await nlu.start()
    shop = ShopRepository(engine)
    from actions.recommender import load_recommender

    recommender = await asyncio.to_thread(load_recommender, config.models_dir)
    dialogue = DialogueEngine(bot, config.escalation,
                              action_context=lambda: use_shop(shop, recommender))

    def lookup_customer(external_id: str) -> dict | None:
        info = shop.customer_by_external_id(external_id)
        if info is None:
            return None
        return {"id": store.customer_id_for(external_id), "email": info.email, "vip": info.vip}

    hub = await make_hub(config.redis_url)
    service = ConversationService(dialogue, nlu, store, log, lookup_customer=lookup_customer,
                                  hub=hub)
    app[NLU] = nlu
    app[SERVICE] = service
    app[STORE] = store
    app[ACCOUNTS] = AccountCache(store.account)
    app[DB] = engine
    app[SOCKETS] = {}
    logger.info("Carebot ready: database %s", engine.url.render_as_string(hide_password=True))
    yield
    await nlu.close()
    await hub.close()
    if not await asyncio.to_thread(log.close, 30.0):
        logger.error("conversation log could not be written; unwritten records were spooled")
    engine.dispose()


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def rest_webhook(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    body = await read_json_object(request, config.max_body_bytes)
    if "sender" not in body:
        raise BadRequest("missing field 'sender' (the conversation id)")
    sender = conversation_id_or_400(body.get("sender"))
    text = require_text(body, "message", max_chars=config.max_message_chars)
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object")
    customer = verified_customer_id(metadata.get("customer_id"), metadata.get("signature"),
                                    config.widget_secret)
    try:
        messages = await request.app[SERVICE].handle_message(
            sender, text, channel="rest", customer_external_id=customer)
    except ConversationForbidden as exc:
        return web.json_response({"error": str(exc), "status": 403}, status=403)
    except ConversationBusy as exc:
        return web.json_response({"error": str(exc), "status": 503}, status=503,
                                 headers={"Retry-After": "1"})
    return web.json_response([{"recipient_id": sender, **m} for m in messages])


async def model_parse(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    body = await read_json_object(request, config.max_body_bytes)
    text = require_text(body, "text", max_chars=config.max_message_chars)
    result = await request.app[NLU].parse(text)
    return web.json_response(result.to_dict())


async def tracker(request: web.Request) -> web.Response:
    require(request, AGENT_ROLES)  # slots and events hold the customer's personal data
    conversation_id = conversation_id_or_400(request.match_info["conversation_id"], "id")
    try:
        state = await request.app[SERVICE].get_state(conversation_id)
    except ConversationNotFound:
        return web.json_response(
            {"error": f"no conversation with id '{conversation_id}'", "status": 404}, status=404)
    return web.json_response({**state.rasa_tracker(), "status": state.status,
                              "turns": state.turns})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """The chat page's and widget's channel; protocol in docs/websocket.md."""
    config = request.app[CONFIG]
    service = request.app[SERVICE]
    sockets = request.app[SOCKETS]
    if not origin_allowed(request.headers.get("Origin"), config.allowed_origins):
        raise web.HTTPForbidden(text=json.dumps({
            "error": "this page's origin may not use the chat; add it to allowed_origins",
            "status": 403}), content_type="application/json")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=config.max_body_bytes)
    await ws.prepare(request)
    conversation_id: str | None = None
    customer: str | None = None
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.ERROR:
                    logger.warning("websocket error: %s", ws.exception())
                continue
            try:
                data = json.loads(msg.data)
                if not isinstance(data, dict):
                    raise ValueError("a message must be a JSON object")
            except ValueError as exc:
                await ws.send_json({"type": "error", "error": f"invalid JSON: {exc}"})
                continue
            kind = data.get("type")
            if kind == "hello":
                if conversation_id:
                    _forget_socket(sockets, conversation_id, ws)
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
                    sockets.setdefault(conversation_id, set()).add(ws)
            elif kind == "message":
                if conversation_id is None:
                    await ws.send_json({"type": "error", "error": "say hello first"})
                    continue
                text = data.get("text")
                client_id = data.get("id") if isinstance(data.get("id"), str) else None
                if not isinstance(text, str) or not text.strip():
                    await ws.send_json({"type": "error", "id": client_id,
                                        "error": "message text is empty"})
                    continue
                problem = (f"is longer than {config.max_message_chars} characters"
                           if len(text) > config.max_message_chars else text_problem(text))
                if problem:
                    await ws.send_json({"type": "error", "id": client_id,
                                        "error": f"message {problem}"})
                    continue
                await ws.send_json({"type": "typing", "on": True})
                try:
                    messages = await service.handle_message(
                        conversation_id, text, channel="websocket",
                        customer_external_id=customer, message_id=_uuid_or_none(client_id))
                except (ConversationForbidden, ConversationBusy) as exc:
                    # no ack: the widget keeps the message and may send it again
                    await ws.send_json({"type": "error", "id": client_id, "error": str(exc)})
                    await ws.send_json({"type": "typing", "on": False})
                    continue
                except Exception:
                    logger.exception("conversation %s: turn failed", conversation_id)
                    await ws.send_json({"type": "error", "id": client_id, "error":
                                        "the bot could not handle that message; try again"})
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
            _forget_socket(sockets, conversation_id, ws)
    return ws


def resume_token(config: Config, conversation_id: str) -> str:
    """What a socket must show to continue (and read the history of) an existing conversation."""
    key = ("carebot-resume:" + config.session_secret).encode()
    return hmac.new(key, conversation_id.encode(), hashlib.sha256).hexdigest()[:32]


async def _resumable_conversation(app: web.Application, requested: object,
                                  token: object) -> str:
    """The requested conversation if it is new or the token proves it is the caller's."""
    if not isinstance(requested, str) or not _CONVERSATION_ID.match(requested):
        return uuid.uuid4().hex
    try:
        await app[SERVICE].get_state(requested)
    except ConversationNotFound:
        return requested
    expected = resume_token(app[CONFIG], requested).encode()
    if isinstance(token, str) and hmac.compare_digest(expected, token.encode("utf-8", "replace")):
        return requested
    logger.info("hello for conversation %s without its token: starting a new one", requested)
    return uuid.uuid4().hex


def _forget_socket(sockets: dict, conversation_id: str, ws: web.WebSocketResponse) -> None:
    open_sockets = sockets.get(conversation_id)
    if open_sockets is not None:
        open_sockets.discard(ws)
        if not open_sockets:
            del sockets[conversation_id]


def _uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


def _history(service: ConversationService, conversation_id: str) -> list[dict]:
    service.log.flush(5.0)
    return [{"id": m.id, "sender": m.sender, "text": m.text, **((m.data or {}) if m.sender != "user" else {}),
             "at": m.created_at.isoformat()} for m in service.store.messages(conversation_id)]


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=config.max_body_bytes)
    app[CONFIG] = config
    app[SIGNER] = SessionSigner(config.session_secret)
    app.cleanup_ctx.append(_runtime)
    setup_agent_console(app, config, service=SERVICE, db=DB, sockets=SOCKETS)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.router.add_get("/ws", websocket)
    app.router.add_post("/webhooks/rest/webhook", rest_webhook)
    app.router.add_post("/model/parse", model_parse)
    app.router.add_get("/conversations/{conversation_id}/tracker", tracker)
    app.router.add_post("/auth/login", login_handler(
        lambda username, password: app[STORE].verify_user(username, password)))
    app.router.add_post("/auth/logout", logout)
    app.router.add_get("/auth/me", whoami)
    add_dashboard_routes(app)
    app.router.add_static("/static/", STATIC_DIR)
    return app
