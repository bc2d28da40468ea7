"""bcrypt never runs on the event loop, nor on the pool the chat's database work uses: a
log-in flood queues behind itself (the flood that pushed a chat turn from 41 ms to 2.9 s)."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from analytics.store.db import make_engine, migrate
from analytics.store.reads import ConversationStore
from analytics.store.sessions import SessionStore
from bot.config import Config, RateLimits
from bot.web.auth import login_handler, session_middleware
from bot.web.keys import CONFIG, SESSIONS
from bot.web.sessions import Sessions

PASSWORD = "a long test password"


def app_with_login(sqlite_url: str, threads: list[str]) -> web.Application:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    store = ConversationStore(engine, bcrypt_rounds=10)
    store.add_user("alice", PASSWORD, "agent")

    def verify(username: str, password: str):
        threads.append(threading.current_thread().name)
        return store.verify_user(username, password)

    app = web.Application(middlewares=[session_middleware])
    app[CONFIG] = Config(limits=RateLimits(password_hash_threads=2))
    app[SESSIONS] = Sessions(SessionStore(engine))
    app.router.add_post("/auth/login", login_handler(verify))
    return app


async def test_passwords_are_checked_on_the_password_threads_only(aiohttp_client, sqlite_url):
    threads: list[str] = []
    client = await aiohttp_client(app_with_login(sqlite_url, threads))
    responses = await asyncio.gather(*(
        client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        for _ in range(16)))
    assert {r.status for r in responses} == {200}
    assert len(threads) == 16
    assert all(name.startswith("password") for name in threads)
    assert len(set(threads)) <= 2
