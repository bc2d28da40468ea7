"""Log-in sessions for agents, analysts and admins, kept server-side (analytics/store/
sessions.py) so that logging out, a new password or removing the user ends them at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from analytics.store.sessions import SessionStore

SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class AuthUser:
    id: int
    username: str
    role: str


class Sessions:
    """The event loop's view of the session store: every call runs on a worker thread."""

    def __init__(self, store: SessionStore, lifetime_seconds: int = SESSION_SECONDS) -> None:
        self._store = store
        self.lifetime_seconds = lifetime_seconds

    async def issue(self, user: AuthUser) -> str:
        """A new session token for ``user`` (it goes in the HttpOnly cookie, nowhere else)."""
        return await asyncio.to_thread(self._store.create, user.id,
                                       timedelta(seconds=self.lifetime_seconds))

    async def resolve(self, token: str | None) -> AuthUser | None:
        if not token:
            return None
        found = await asyncio.to_thread(self._store.resolve, token)
        return None if found is None else AuthUser(found.id, found.username, found.role)

    async def end(self, token: str | None) -> None:
        if token:
            await asyncio.to_thread(self._store.end, token)

    async def purge_expired(self) -> int:
        return await asyncio.to_thread(self._store.purge_expired)
