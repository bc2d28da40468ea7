"""An aiohttp app with only the dashboard's routes and log-in, over a given database; the full
server registers the same routes through ``add_dashboard_routes`` (and needs NLU models)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import Engine

from analytics.store.reads import ConversationStore
from analytics.store.sessions import SessionStore
from bot.config import Config
from bot.dashboard.routes import add_dashboard_routes
from bot.web.auth import login_handler, logout, session_middleware
from bot.web.keys import CONFIG, DB, SESSIONS
from bot.web.sessions import Sessions

PASSWORD = "correct horse battery"
USERS = (("ana", "analyst"), ("al", "agent"), ("root", "admin"))


def add_users(engine: Engine) -> ConversationStore:
    store = ConversationStore(engine, bcrypt_rounds=4)
    for name, role in USERS:
        store.add_user(name, PASSWORD, role)
    return store


def dashboard_app(engine: Engine, store: ConversationStore, models_dir: Path,
                  **config: object) -> web.Application:
    app = web.Application(middlewares=[session_middleware])
    app[DB] = engine
    app[CONFIG] = Config(models_dir=models_dir, session_secret="test-secret", **config)
    app[SESSIONS] = Sessions(SessionStore(engine))
    app.router.add_post("/auth/login", login_handler(store.verify_user))
    app.router.add_post("/auth/logout", logout)
    add_dashboard_routes(app)
    return app
