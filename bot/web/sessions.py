"""Log-in sessions for agents, analysts and admins, kept server-side (analytics/store/
sessions.py) so that logging out, a new password or removing the user ends them at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from analytics.store.sessions import SessionStore

logger = logging.getLogger(__name__)

SESSION_SECONDS = 12 * 3600
RECHECK_SECONDS = 15.0  # how soon a socket opened before a logout elsewhere is closed
ENDED = 4401  # WebSocket close code: the session ended, log in again


@dataclass(frozen=True)
class AuthUser:
    id: int
    username: str
    role: str


class Sessions:
    """The event loop's view of the session store: every call runs on a worker thread."""

    def __init__(self, store: SessionStore, lifetime_seconds: int = SESSION_SECONDS,
                 recheck_seconds: float = RECHECK_SECONDS) -> None:
        self._store = store
        self.lifetime_seconds = lifetime_seconds
        self.recheck_seconds = recheck_seconds
        # the open agent/analyst sockets and the session each was opened with: a session that
        # ends (logout, new password, user removed, expiry; here or in another process)
        # closes them
        self._sockets: dict[web.WebSocketResponse, str] = {}
        self._watcher: asyncio.Task | None = None

    def watch(self, token: str | None, ws: web.WebSocketResponse) -> None:
        """Close ``ws`` when the session ``token`` ends; ``forget()`` when the socket closes."""
        if token:
            self._sockets[ws] = token
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._recheck_forever())

    def forget(self, ws: web.WebSocketResponse) -> None:
        self._sockets.pop(ws, None)

    async def recheck(self) -> int:
        """Close the sockets whose session no longer resolves; returns how many."""
        tokens = set(self._sockets.values())
        ended = {t for t in tokens if await self.resolve(t) is None}
        return await self._close_sockets(ended)

    async def _close_sockets(self, tokens: set[str]) -> int:
        doomed = [ws for ws, token in self._sockets.items() if token in tokens]
        for ws in doomed:
            self._sockets.pop(ws, None)
            with contextlib.suppress(Exception):
                await ws.close(code=ENDED, message=b"session ended: log in again")
        if doomed:
            logger.info("closed %d socket(s) of ended sessions", len(doomed))
        return len(doomed)

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_seconds)
            try:
                await self.recheck()
            except Exception as exc:  # the database is away: try again next round
                logger.warning("could not recheck the sessions of open sockets (%s)", exc)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

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
            await self._close_sockets({token})

    async def purge_expired(self) -> int:
        return await asyncio.to_thread(self._store.purge_expired)
