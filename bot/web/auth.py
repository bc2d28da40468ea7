"""Agent / analyst / admin log-in: signed session cookies (or bearer tokens) and role checks."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.web.errors import http_error
from bot.web.keys import ACCOUNTS, SIGNER
from bot.web.origins import forbid_other_origins
from bot.web.sessions import SESSION_SECONDS, AuthUser

COOKIE = "carebot_session"
AGENT_ROLES = ("agent", "admin")
ANALYST_ROLES = ("analyst", "admin")


def current_user(request: web.Request) -> AuthUser | None:
    signer = request.config_dict[SIGNER]  # config_dict: the console is a sub-application
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
    user = signer.read(token)
    accounts = request.config_dict.get(ACCOUNTS)
    if user is None or accounts is None:
        return user
    account = accounts(user.id)
    return AuthUser(user.id, *account) if account else None


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
    """POST /auth/login with {"username", "password"} (JSON or form); sets the session cookie."""

    async def login(request: web.Request) -> web.Response:
        forbid_other_origins(request)  # no log-in CSRF from another site
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise http_error(web.HTTPBadRequest, "request body is not valid JSON") from None
        else:
            body = dict(await request.post())
        if not isinstance(body, dict):
            raise http_error(web.HTTPBadRequest, "send a JSON object with username and password")
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise http_error(web.HTTPBadRequest, "username and password are required")
        info = await asyncio.to_thread(verify, username, password)
        if info is None:
            raise http_error(web.HTTPUnauthorized, "wrong username or password")
        user = AuthUser(info.id, info.username, info.role)
        token = request.app[SIGNER].issue(user)
        response = web.json_response({"username": user.username, "role": user.role,
                                      "token": token})
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                            max_age=SESSION_SECONDS, path="/")
        return response

    return login


async def logout(request: web.Request) -> web.Response:
    forbid_other_origins(request)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def whoami(request: web.Request) -> web.Response:
    user = current_user(request)
    if user is None:
        raise http_error(web.HTTPUnauthorized, "not logged in")
    return web.json_response({"id": user.id, "username": user.username, "role": user.role})
