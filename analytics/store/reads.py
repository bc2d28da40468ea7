"""Synchronous reads and small writes the bot makes from worker threads: conversation state,
transcripts, new escalations and console users (the agents' queue is escalations.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import bcrypt
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from analytics.store.records import (
    ConversationRecord,
    MessageRecord,
    naive_utc_now,
    record_time,
    to_row,
)
from analytics.store.schema import (
    ROLES,
    Conversation,
    Customer,
    Escalation,
    Message,
    User,
    UserSession,
)
from analytics.store.upsert import insert_ignoring_existing

# The password hash of a removed user kept for the record: no password matches it.
DISABLED_PASSWORD = "!removed"
# bcrypt only looks at the first 72 bytes; longer passwords would silently share a hash.
MAX_PASSWORD_BYTES = 72


class UserExistsError(ValueError):
    """A user with this username already exists."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A console user, without the password hash."""

    id: int
    username: str
    role: str
    created_at: datetime


class ConversationStore:
    """Conversation state, transcripts, escalations and users, read and written synchronously."""

    def __init__(self, engine: Engine, *, bcrypt_rounds: int = 12) -> None:
        self._engine = engine
        self._bcrypt_rounds = bcrypt_rounds

    @cached_property
    def _dummy_hash(self) -> bytes:
        # Checking against a real hash keeps "no such user" as slow as "wrong password".
        return bcrypt.hashpw(b"carebot", bcrypt.gensalt(self._bcrypt_rounds))

    # -- conversations -------------------------------------------------------------------

    def load_conversation(self, conversation_id: str) -> ConversationRecord | None:
        """The stored state of a conversation, or None if it was never written."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(Conversation.__table__).where(Conversation.id == conversation_id)
            ).one_or_none()
        return None if row is None else ConversationRecord(**row._asdict())

    def messages(self, conversation_id: str) -> list[MessageRecord]:
        """The conversation's messages, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(Message.__table__)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.created_at, Message.id)
            ).all()
        return [MessageRecord(**row._asdict()) for row in rows]

    def customer_id_for(self, external_id: str) -> int | None:
        """The database id (``customers.id``) of a customer known by external id like C1001."""
        with self._engine.connect() as conn:
            return conn.execute(
                select(Customer.id).where(Customer.external_id == external_id)
            ).scalar_one_or_none()

    # -- escalations ---------------------------------------------------------------------

    def create_escalation(self, conversation_id: str, reason: str, priority: int = 0) -> int:
        """Put the conversation in the human-agent queue; returns the escalation id."""
        now = record_time()
        with self._engine.begin() as conn:
            # The conversation's own row may still be queued in the conversation log.
            conn.execute(
                insert_ignoring_existing(Conversation.__table__, conn.dialect.name),
                [to_row(ConversationRecord(id=conversation_id, started_at=now))],
            )
            return conn.execute(
                insert(Escalation)
                .values(
                    conversation_id=conversation_id,
                    reason=reason,
                    priority=priority,
                    status="open",
                    created_at=now,
                )
                .returning(Escalation.id)
            ).scalar_one()

    # -- users ---------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str) -> UserInfo:
        """Create a console user with a bcrypt-hashed password."""
        username = username.strip()
        if not username:
            raise ValueError("A username cannot be empty.")
        if role not in ROLES:
            raise ValueError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
        secret = _password_bytes(password)
        password_hash = bcrypt.hashpw(secret, bcrypt.gensalt(self._bcrypt_rounds)).decode()
        created_at = naive_utc_now()
        try:
            with self._engine.begin() as conn:
                user_id = conn.execute(
                    insert(User)
                    .values(
                        username=username,
                        password_hash=password_hash,
                        role=role,
                        created_at=created_at,
                    )
                    .returning(User.id)
                ).scalar_one()
        except IntegrityError:
            raise UserExistsError(
                f"A user named {username!r} already exists; choose another username."
            ) from None
        return UserInfo(id=user_id, username=username, role=role, created_at=created_at)

    def user_named(self, username: str) -> UserInfo | None:
        """The console user called ``username``, if there is one."""
        with self._engine.connect() as conn:
            row = conn.execute(select(User.id, User.username, User.role, User.created_at)
                               .where(User.username == username.strip())).one_or_none()
        return None if row is None else UserInfo(**row._asdict())

    def account(self, user_id: int) -> tuple[str, str] | None:
        """(username, role) of a user who still exists, else None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(User.username, User.role).where(User.id == user_id)
                               ).one_or_none()
        return (row.username, row.role) if row is not None else None

    def set_password(self, username: str, password: str) -> UserInfo:
        """Give a user a new password and end every session they have (LookupError if none)."""
        user = self._existing_user(username)
        secret = _password_bytes(password)
        password_hash = bcrypt.hashpw(secret, bcrypt.gensalt(self._bcrypt_rounds)).decode()
        with self._engine.begin() as conn:
            conn.execute(update(User).where(User.id == user.id)
                         .values(password_hash=password_hash))
            conn.execute(delete(UserSession).where(UserSession.user_id == user.id))
        return user

    def remove_user(self, username: str) -> bool:
        """End the user's sessions and delete them; True if deleted. A user who handled
        conversations stays (the reports name them) but can no longer log in: False."""
        user = self._existing_user(username)
        with self._engine.begin() as conn:
            conn.execute(delete(UserSession).where(UserSession.user_id == user.id))
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(User).where(User.id == user.id))
            return True
        except IntegrityError:
            with self._engine.begin() as conn:
                conn.execute(update(User).where(User.id == user.id)
                             .values(password_hash=DISABLED_PASSWORD))
            return False

    def _existing_user(self, username: str) -> UserInfo:
        user = self.user_named(username)
        if user is None:
            raise LookupError(f"No user named {username!r}; `carebot users add` creates one.")
        return user

    def verify_user(self, username: str, password: str) -> UserInfo | None:
        """The user if the password is right, else None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(
                    User.id, User.username, User.role, User.created_at, User.password_hash
                ).where(User.username == username.strip())
            ).one_or_none()
        try:
            secret = _password_bytes(password)
        except ValueError:
            return None
        usable = row is not None and row.password_hash != DISABLED_PASSWORD
        stored = row.password_hash.encode() if usable else self._dummy_hash
        if not bcrypt.checkpw(secret, stored) or not usable:
            return None
        return UserInfo(id=row.id, username=row.username, role=row.role, created_at=row.created_at)


def _password_bytes(password: str) -> bytes:
    secret = password.encode("utf-8")
    if not secret:
        raise ValueError("A password cannot be empty.")
    if len(secret) > MAX_PASSWORD_BYTES:
        raise ValueError(
            f"Passwords longer than {MAX_PASSWORD_BYTES} bytes are not supported; "
            "choose a shorter one."
        )
    return secret
