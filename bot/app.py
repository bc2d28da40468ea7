"""The aiohttp application: ``create_app(config)`` wires the channels, the Rasa HTTP API, the
agent console and the dashboard to one runtime opened and closed in ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from analytics.store.db import make_engine, migrate
from analytics.store.reads import ConversationStore
from analytics.store.sessions import SessionStore
from analytics.store.shop import ShopRepository
from analytics.store.writer import ConversationLog
from bot.broker.publisher import EventBroker
from bot.channels.rest import add_rest_channel
from bot.channels.sockets import CustomerSockets
from bot.channels.websocket import add_websocket_channel
from bot.config import Config
from bot.console.routes import add_agent_console
from bot.dashboard.routes import add_dashboard_routes
from bot.dialogue.actions.lookup_guard import LookupGuard
from bot.dialogue.actions.reminders import ReminderScheduler
from bot.dialogue.assistant import ModelsMissing, load_assistant
from bot.dialogue.conversations import ConversationService
from bot.dialogue.nlu_batcher import NLUService
from bot.dialogue.socket_hub import connect_hub
from bot.monitoring.routes import add_monitoring
from bot.privacy import RawText
from bot.retention import add_raw_text_retention
from bot.web.auth import login_handler, logout, session_middleware, whoami
from bot.web.bodies import body_middleware
from bot.web.errors import error_middleware
from bot.web.headers import add_security_headers_to
from bot.web.keys import CONFIG, DB, LIMITER, NLU, RAW_TEXT, SERVICE, SESSIONS, SOCKETS, STORE
from bot.web.rasa_api import add_rasa_api
from bot.web.ratelimit import RateLimiter
from bot.web.sessions import Sessions

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    from nlp.pipeline import NLU as NLUModel  # heavy import: only when a server starts

    if not NLUModel.is_trained(config.models_dir, config.base_models_dir):
        raise ModelsMissing(f"no trained models in {config.models_dir}; run `carebot train` "
                            f"in {config.project_dir} first")
    assistant = await asyncio.to_thread(load_assistant, config.project_dir, config.models_dir,
                                        config.escalation, env=config.environ)
    await asyncio.to_thread(migrate, config.database_url)
    db = make_engine(config.database_url)
    store = ConversationStore(db)
    log = ConversationLog(db, spool_dir=config.spool_dir)
    log.start()
    logger.info("loading models from %s", config.models_dir)
    model = await asyncio.to_thread(NLUModel.load, config.models_dir,
                                    base_dir=config.base_models_dir)
    model.cache_size = max(0, config.parse_cache_size)
    nlu = NLUService(model, known_intents=set(assistant.domain.intents))
    await nlu.start()
    shop = ShopRepository(db)

    def lookup_customer(external_id: str) -> dict | None:
        info = shop.customer_by_external_id(external_id)
        if info is None:
            return None
        return {"id": store.customer_id_for(external_id), "email": info.email, "vip": info.vip}

    # a worker whose supervisor is gone stops (SIGTERM: a clean shutdown) rather than serve alone
    hub = await connect_hub(config.redis_url, socket_path=config.hub_socket,
                            on_lost=lambda: os.kill(os.getpid(), signal.SIGTERM))
    reminders = ReminderScheduler(db)
    limiter = RateLimiter(config.limits, config.redis_url, hub)
    logger.info(limiter.describe())
    processor = assistant.processor
    if config.limits.lookup_actions and processor.custom_actions is not None:
        processor.custom_actions = LookupGuard(processor.custom_actions, limiter,
                                               config.limits.lookup_actions)
    raw_text = RawText(config.raw_text_keys)
    if not raw_text.enabled:
        logger.info("raw text is off (CAREBOT_RAW_TEXT_KEY=off): everyone sees redacted text")
    if not config.rest_token:
        logger.warning("the REST channel (/webhooks/rest/webhook) and /model/parse are open "
                       "to anyone who can reach this server; it is a server-to-server channel: "
                       "set CAREBOT_REST_TOKEN and send Authorization: Bearer <token>")
    service = ConversationService(processor, nlu, store, log,
                                  lookup_customer=lookup_customer, hub=hub, reminders=reminders,
                                  raw_text=raw_text, db=db)
    broker = None
    if config.event_broker is not None:  # endpoints.yml's event_broker
        spool = config.spool_dir or config.project_dir / ".carebot" / "spool"
        broker = EventBroker(config.event_broker, spool / "event-broker")
        await asyncio.to_thread(broker.start)
        service.event_stream = broker.publish
        service.event_sync = broker.sync  # before each turn is acknowledged
    await service.start()
    sessions = Sessions(SessionStore(db))
    await sessions.purge_expired()
    await reminders.start(service.fire_reminder)
    app[NLU] = nlu
    app[SERVICE] = service
    app[STORE] = store
    app[SESSIONS] = sessions
    app[LIMITER] = limiter
    app[RAW_TEXT] = raw_text
    app[DB] = db
    app[SOCKETS] = CustomerSockets()
    logger.info("Carebot ready: database %s", db.url.render_as_string(hide_password=True))
    yield
    await service.close()
    await sessions.close()
    await reminders.close()
    await nlu.close()
    await assistant.close()
    await hub.close()
    if broker is not None:  # what RabbitMQ has not confirmed in 10 s is spooled
        await asyncio.to_thread(broker.close, 10.0)
    if not await asyncio.to_thread(log.close, 30.0):
        logger.error("conversation log could not be written; unwritten records were spooled")
    db.dispose()


async def _freeze_long_lived(app: web.Application) -> None:
    """Everything started by now (models, vocabularies, the domain) lives as long as the
    server: moved out of the garbage collector's reach. A full collection walked all of it,
    ~250,000 objects, and held the event loop for 100+ ms each time: the periodic p99 stall."""
    gc.collect()
    gc.freeze()
    logger.info("%d long-lived objects frozen out of garbage collection", gc.get_freeze_count())


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[error_middleware, body_middleware, session_middleware],
                          client_max_size=config.max_body_bytes)
    app[CONFIG] = config
    add_security_headers_to(app)
    app.cleanup_ctx.append(_runtime)
    add_agent_console(app)
    add_monitoring(app)  # live page, alerts, /metrics, abuse signals (after the console)
    add_raw_text_retention(app)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    add_websocket_channel(app)
    add_rest_channel(app)
    add_rasa_api(app)
    app.router.add_post("/auth/login", login_handler(
        lambda username, password: app[STORE].verify_user(username, password)))
    app.router.add_post("/auth/logout", logout)
    app.router.add_get("/auth/me", whoami)
    add_dashboard_routes(app)
    app.router.add_static("/static/", STATIC_DIR)
    app.on_startup.append(_freeze_long_lived)  # after every cleanup_ctx has started
    return app
