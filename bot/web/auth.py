"""Agent / analyst / admin log-in: server-side sessions in an HttpOnly cookie (or the same
token as a bearer header, for scripts), role checks, and log-in throttling."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from bot.web.errors import BadRequest, http_error, read_json
from bot.web.keys import CONFIG, LIMITER, SESSIONS
from bot.web.origins import forbid_other_origins
from bot.web.ratelimit import client_address, too_many_requests
from bot.web.sessions import AuthUser

logger = logging.getLogger(__name__)

COOKIE = "carebot_session"
AGENT_ROLES = ("agent", "admin")
ANALYST_ROLES = ("analyst", "admin")
_USER = web.RequestKey("carebot_user", AuthUser)  # resolved by session_middleware
_LOGIN_BODY_BYTES = 4096


def session_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") \
        else request.cookies.get(COOKIE)


@web.middleware
async def session_middleware(request: web.Request, handler):
    """Resolve the session once per request, off the event loop, before any role check."""
    token = session_token(request)
    sessions = request.config_dict.get(SESSIONS)
    request[_USER] = await sessions.resolve(token) if token and sessions else None
    return await handler(request)


def current_user(request: web.Request) -> AuthUser | None:
    return request.get(_USER)


def require(request: web.Request, roles: tuple[str, ...]) -> AuthUser:
    """The logged-in user if their role is one of ``roles``; 401 / 403 otherwise."""
    user = current_user(request)
    if user is None:
        raise http_error(web.HTTPUnauthorized, "log in first: POST /auth/login")
    if user.role not in roles:
        raise http_error(web.HTTPForbidden,
                         f"the {user.role} role may not use this; it needs {' or '.join(roles)}")
    return user


def login_handler(verify):
    """POST /auth/login with {"username", "password"} (JSON or form); sets the session cookie.

    ``verify(username, password)`` (bcrypt: slow on purpose) runs on a small pool of its own,
    so a flood of log-ins queues behind itself, never behind the chat's database work. Failed
    attempts count per account and per client address; past either limit the answer is 429
    with Retry-After, whatever the password.
    """
    pool: list[ThreadPoolExecutor] = []

    async def login(request: web.Request) -> web.Response:
        forbid_other_origins(request)  # no log-in CSRF from another site
        if request.content_type == "application/json":
            body = await read_json(request, _LOGIN_BODY_BYTES)
        else:
            body = dict(await request.post())
        if not isinstance(body, dict):
            raise BadRequest("send a JSON object with username and password")
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise BadRequest("username and password are required")
        limiter = request.config_dict.get(LIMITER)
        address, account = client_address(request), username.strip().lower()[:64]
        checks = (("login_failures_per_address", address, "too many failed log-ins from "
                   "this address"),
                  ("login_failures_per_account", account, "too many failed log-ins for this "
                   "account; it is locked for now"))
        if limiter is not None:
            for name, key, what in checks:
                retry = await limiter.check(name, key)
                if retry:
                    raise too_many_requests(retry, what)
        if not pool:
            config = request.config_dict.get(CONFIG)
            threads = config.limits.password_hash_threads if config else 2
            pool.append(ThreadPoolExecutor(max(1, threads), thread_name_prefix="password"))
        info = await asyncio.get_running_loop().run_in_executor(pool[0], verify, username,
                                                                 password)
        if info is None:
            logger.info("failed log-in for %r from %s", account, address)
            if limiter is not None:
                for name, key, _ in checks:
                    await limiter.hit(name, key)
            raise http_error(web.HTTPUnauthorized, "wrong username or password")
        if limiter is not None:
            await limiter.clear("login_failures_per_account", account)
        user = AuthUser(info.id, info.username, info.role)
        sessions = request.config_dict[SESSIONS]
        token = await sessions.issue(user)
        # The token is in the HttpOnly cookie only: page scripts (and XSS) never see it.
        response = web.json_response({"username": user.username, "role": user.role})
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                            secure=request.secure, max_age=sessions.lifetime_seconds, path="/")
        return response

    return login


async def logout(request: web.Request) -> web.Response:
    """End the session server-side (the token stops working everywhere) and drop the cookie."""
    forbid_other_origins(request)
    await request.config_dict[SESSIONS].end(session_token(request))
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def whoami(request: web.Request) -> web.Response:
    user = current_user(request)
    if user is None:
        raise http_error(web.HTTPUnauthorized, "not logged in")
    return web.json_response({"id": user.id, "username": user.username, "role": user.role})


def watch_session(request: web.Request, ws: web.WebSocketResponse) -> None:
    """Close the socket ``ws`` (code 4401) when the session it was opened with ends."""
    request.config_dict[SESSIONS].watch(session_token(request), ws)


def forget_session(request: web.Request, ws: web.WebSocketResponse) -> None:
    request.config_dict[SESSIONS].forget(ws)
