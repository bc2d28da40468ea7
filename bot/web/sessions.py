"""Signed, stateless sessions for agents, analysts and admins, and the account cache that
lets a deleted or re-roled user lose access quickly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

SESSION_SECONDS = 12 * 3600


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


# user id -> (username, role) while the account exists: a deleted or re-roled user's session
# follows the users table within ACCOUNT_TTL seconds instead of living on for 12 hours.
ACCOUNT_TTL = 10.0


class AccountCache:
    def __init__(self, lookup: Callable[[int], tuple[str, str] | None], ttl: float = ACCOUNT_TTL) -> None:
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
