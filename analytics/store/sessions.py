"""Console and dashboard log-in sessions, kept server-side so they can be ended: the client
holds a random token, the store only its SHA-256, so a copy of the database opens nothing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from analytics.store.records import naive_utc_now
from analytics.store.schema import User, UserSession


@dataclass(frozen=True, slots=True)
class SessionUser:
    """Who a live session belongs to, as the users table says now (a new role applies at once)."""

    id: int
    username: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class SessionStore:
    """Create, resolve and end sessions; every call is one short statement (run it off the
    event loop)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, user_id: int, lifetime: timedelta, now: datetime | None = None) -> str:
        """A new session for the user; returns the token (shown once, never stored)."""
        token = secrets.token_urlsafe(32)
        now = now or naive_utc_now()
        with self._engine.begin() as conn:
            conn.execute(insert(UserSession).values(
                token_hash=token_hash(token), user_id=user_id, created_at=now,
                expires_at=now + lifetime))
        return token

    def resolve(self, token: str | None, now: datetime | None = None) -> SessionUser | None:
        """The user of a live session, or None (unknown, expired, ended, user removed)."""
        if not token or len(token) > 256:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(
                select(User.id, User.username, User.role)
                .join(UserSession, UserSession.user_id == User.id)
                .where(UserSession.token_hash == token_hash(token),
                       UserSession.expires_at > (now or naive_utc_now()))
            ).one_or_none()
        return None if row is None else SessionUser(row.id, row.username, row.role)

    def end(self, token: str) -> None:
        """Log-out: the token stops working in every process at once."""
        with self._engine.begin() as conn:
            conn.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))

    def end_all_of(self, user_id: int) -> int:
        """End every session of a user (new password, user removed); returns how many."""
        with self._engine.begin() as conn:
            return conn.execute(delete(UserSession).where(UserSession.user_id == user_id)
                                ).rowcount

    def purge_expired(self, now: datetime | None = None) -> int:
        with self._engine.begin() as conn:
            return conn.execute(delete(UserSession).where(
                UserSession.expires_at <= (now or naive_utc_now()))).rowcount
