"""The aiohttp application: ``create_app(config)`` wires the channels, the Rasa HTTP API, the
agent console and the dashboard to one runtime opened and closed in ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from analytics.store.db import make_engine, migrate
from analytics.store.reads import ConversationStore
from analytics.store.shop import ShopRepository
from analytics.store.writer import ConversationLog
from bot.channels.rest import add_rest_channel
from bot.channels.sockets import CustomerSockets
from bot.channels.websocket import add_websocket_channel
from bot.config import Config
from bot.console.routes import add_agent_console
from bot.dashboard.routes import add_dashboard_routes
from bot.dialogue.assistant import ModelsMissing, load_assistant
from bot.dialogue.conversations import ConversationService
from bot.dialogue.hub import make_hub
from bot.dialogue.nlu_batcher import NLUService
from bot.web.auth import login_handler, logout, whoami
from bot.web.errors import error_middleware
from bot.web.keys import ACCOUNTS, CONFIG, DB, NLU, SERVICE, SIGNER, SOCKETS, STORE
from bot.web.rasa_api import add_rasa_api
from bot.web.sessions import AccountCache, SessionSigner

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
    nlu = NLUService(model, known_intents=set(assistant.domain.intents))
    await nlu.start()
    shop = ShopRepository(db)

    def lookup_customer(external_id: str) -> dict | None:
        info = shop.customer_by_external_id(external_id)
        if info is None:
            return None
        return {"id": store.customer_id_for(external_id), "email": info.email, "vip": info.vip}

    hub = await make_hub(config.redis_url)
    service = ConversationService(assistant.processor, nlu, store, log,
                                  lookup_customer=lookup_customer, hub=hub)
    app[NLU] = nlu
    app[SERVICE] = service
    app[STORE] = store
    app[ACCOUNTS] = AccountCache(store.account)
    app[DB] = db
    app[SOCKETS] = CustomerSockets()
    logger.info("Carebot ready: database %s", db.url.render_as_string(hide_password=True))
    yield
    await nlu.close()
    await assistant.close()
    await hub.close()
    if not await asyncio.to_thread(log.close, 30.0):
        logger.error("conversation log could not be written; unwritten records were spooled")
    db.dispose()


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=config.max_body_bytes)
    app[CONFIG] = config
    app[SIGNER] = SessionSigner(config.session_secret)
    app.cleanup_ctx.append(_runtime)
    add_agent_console(app)
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
    return app
