"""Client message ids already handled, kept forever and shared by every server process: the
widget resends a message until it is acknowledged, and a resend must never be answered
twice, whichever process it reaches and however long after. Synchronous: call from a worker
thread."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, exists, or_, select, text
from sqlalchemy.exc import InterfaceError, OperationalError

from analytics.store.db import describe, sqlite_writer
from analytics.store.records import naive_utc_now
from analytics.store.schema import Message, MessageReceipt
from analytics.store.upsert import insert_ignoring_existing

logger = logging.getLogger(__name__)

# After a failure, how long to answer "unavailable" at once instead of waiting for the
# database again: turns go on (see ConversationService) rather than stall on each message.
RETRY_AFTER_SECONDS = 2.0


class ReceiptsUnavailable(RuntimeError):
    """The database cannot be reached to check or record a message id."""


class MessageReceipts:
    """``seen(id)`` before a turn, ``claim(id, conversation)`` when its result is kept."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._down_until = 0.0

    def seen(self, message_id: str) -> bool:
        """True when a process has handled ``message_id`` (or the store has the message)."""
        query = select(or_(
            exists().where(MessageReceipt.message_id == message_id),
            # handled while the database was down: only the conversation log stored it
            exists().where(Message.id == message_id),
        ))
        with self._reachable() as engine, engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def claim(self, message_id: str, conversation_id: str) -> bool:
        """Record ``message_id`` as handled; False when some process already had it."""
        row = {"message_id": message_id, "conversation_id": conversation_id,
               "received_at": naive_utc_now()}
        with self._reachable() as engine, sqlite_writer(engine), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Other processes see the row at once either way; its durability comes from
                # the message itself (the conversation log's journal), so skip the WAL flush.
                conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
            inserted = conn.execute(
                insert_ignoring_existing(MessageReceipt.__table__, conn.dialect.name), [row]
            ).rowcount == 1
            if inserted and conn.execute(select(exists().where(Message.id == message_id))
                                         ).scalar():
                return False
            return inserted

    def _reachable(self) -> _Guard:
        if time.monotonic() < self._down_until:
            raise ReceiptsUnavailable(f"{describe(self._engine)} was unreachable a moment ago")
        return _Guard(self)


class _Guard:
    """Turns an unreachable database into ReceiptsUnavailable and remembers it briefly."""

    def __init__(self, receipts: MessageReceipts) -> None:
        self._receipts = receipts

    def __enter__(self) -> Engine:
        return self._receipts._engine

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, OperationalError | InterfaceError):
            self._receipts._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            detail = (str(exc.orig or exc).strip().splitlines() or [""])[0]
            raise ReceiptsUnavailable(
                f"cannot reach {describe(self._receipts._engine)}: {detail}") from exc
        return False
