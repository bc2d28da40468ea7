"""Agent / analyst / admin log-in: signed session cookies (or bearer tokens) and role checks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from aiohttp import web

from bot.web.origins import forbid_other_origins

COOKIE = "carebot_session"
SESSION_SECONDS = 12 * 3600
AGENT_ROLES = ("agent", "admin")
ANALYST_ROLES = ("analyst", "admin")


@dataclass(frozen=True)
class AuthUser:
    id: int
    username: str
    role: str


class SessionSigner:
    """Stateless sessions: the cookie carries the user and an HMAC over it."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("carebot-session:" + secret).encode()).digest()

    def issue(self, user: AuthUser, now: float | None = None) -> str:
        payload = json.dumps({"id": user.id, "u": user.username, "r": user.role,
                              "exp": int((now or time.time()) + SESSION_SECONDS)})
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def read(self, token: str | None, now: float | None = None) -> AuthUser | None:
        if not token or "." not in token:
            return None
        body, signature = token.rsplit(".", 1)
        if not hmac.compare_digest(self._sign(body).encode(),
                                   signature.encode("utf-8", "replace")):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if data.get("exp", 0) < (now or time.time()):
            return None
        return AuthUser(int(data["id"]), str(data["u"]), str(data["r"]))

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()


SIGNER = web.AppKey("session_signer", SessionSigner)
# user id -> (username, role) while the account exists: a deleted or re-roled user's session
# follows the users table within ACCOUNT_TTL seconds instead of living on for 12 hours.
ACCOUNTS = web.AppKey("accounts", object)
ACCOUNT_TTL = 10.0


class AccountCache:
    def __init__(self, lookup, ttl: float = ACCOUNT_TTL) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._seen: dict[int, tuple[float, tuple[str, str] | None]] = {}

    def __call__(self, user_id: int) -> tuple[str, str] | None:
        now = time.monotonic()
        hit = self._seen.get(user_id)
        if hit is None or now - hit[0] > self._ttl:
            hit = (now, self._lookup(user_id))
            self._seen[user_id] = hit
        return hit[1]


def current_user(request: web.Request) -> AuthUser | None:
    signer = request.app[SIGNER]
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
    user = signer.read(token)
    accounts = request.app.get(ACCOUNTS)
    if user is None or accounts is None:
        return user
    account = accounts(user.id)
    return AuthUser(user.id, *account) if account else None


def _json_http(cls, message: str) -> web.HTTPException:
    return cls(text=json.dumps({"error": message, "status": cls.status_code}),
               content_type="application/json")


def require(request: web.Request, roles: tuple[str, ...]) -> AuthUser:
    """The logged-in user if their role is one of ``roles``; 401 / 403 otherwise."""
    user = current_user(request)
    if user is None:
        raise _json_http(web.HTTPUnauthorized, "log in first: POST /auth/login")
    if user.role not in roles:
        raise _json_http(web.HTTPForbidden,
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
                raise _json_http(web.HTTPBadRequest, "request body is not valid JSON") from None
        else:
            body = dict(await request.post())
        if not isinstance(body, dict):
            raise _json_http(web.HTTPBadRequest, "send a JSON object with username and password")
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise _json_http(web.HTTPBadRequest, "username and password are required")
        info = await asyncio.to_thread(verify, username, password)
        if info is None:
            raise _json_http(web.HTTPUnauthorized, "wrong username or password")
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
        raise _json_http(web.HTTPUnauthorized, "not logged in")
    return web.json_response({"id": user.id, "username": user.username, "role": user.role})
