"""Rasa's reminders: a ReminderScheduled event fires its intent into the conversation at its
time, and survives a restart, because every pending reminder is a row of the ``reminders``
table in the analytics database.

Several server processes may share one database: each fires what it holds in memory (what it
scheduled, plus every row it loads at start and at each ``poll_interval``), and a reminder
fires in the one process whose ``DELETE`` of its row succeeds, so it fires once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from analytics.store.schema import Reminder
from bot.dialogue.background import BackgroundTask

logger = logging.getLogger(__name__)

# fire(conversation_id, intent, entities): the runtime handles the intent as Rasa's
# trigger_external_user_uttered does.
FireCallback = Callable[[str, str, Any], Awaitable[None]]


class ReminderError(ValueError):
    """A reminder event that cannot be scheduled (no intent, a date that is not ISO 8601)."""


@dataclass(frozen=True)
class PendingReminder:
    id: int
    conversation_id: str
    name: str
    intent: str
    entities: Any  # as the event gave them: a list of entity dicts, a dict, or None
    fire_at: datetime  # timezone-aware, UTC
    kill_on_user_msg: bool


class ReminderScheduler:
    """Persists and fires reminders; ``schedule``/``cancel`` work before ``start`` too."""

    def __init__(self, engine: Engine, *, poll_interval: float = 60.0,
                 close_grace: float = 5.0) -> None:
        self.engine = engine
        self.poll_interval = poll_interval
        self.close_grace = close_grace
        self._pending: dict[int, PendingReminder] = {}
        self._fire: FireCallback | None = None
        self._loop_task = BackgroundTask("reminders")
        self._firing: set[asyncio.Task] = set()
        self._wake = asyncio.Event()

    # -- events from the conversation ------------------------------------------------------

    async def schedule(self, conversation_id: str, event: dict) -> PendingReminder:
        """Store a ReminderScheduled event (``{"event": "reminder", "intent", "entities",
        "date_time", "name", "kill_on_user_msg"}``); one with the same name in the same
        conversation replaces it. A naive ``date_time`` is local time, as in Rasa."""
        intent = event.get("intent")
        if not intent or not isinstance(intent, str):
            raise ReminderError(f"a reminder needs the intent it triggers, not {intent!r}")
        fire_at = _fire_time(event.get("date_time"))
        name = str(event.get("name") or uuid.uuid1())
        kill = bool(event.get("kill_on_user_msg", True))
        stored = {**event, "name": name}
        if not isinstance(stored.get("date_time"), str):
            stored["date_time"] = fire_at.isoformat()
        row_id = await asyncio.to_thread(self._store, conversation_id, name, intent, fire_at,
                                         kill, stored)
        reminder = PendingReminder(row_id, conversation_id, name, intent, event.get("entities"),
                                   fire_at, kill)
        self._forget(lambda r: r.conversation_id == conversation_id and r.name == name)
        self._pending[row_id] = reminder
        self._wake.set()
        return reminder

    async def cancel(self, conversation_id: str, event: dict) -> int:
        """Apply a ReminderCancelled event: every reminder of the conversation whose name,
        intent and entities match those the event gives (none given: all of them). Returns
        how many were cancelled."""
        name, intent, entities = event.get("name"), event.get("intent"), event.get("entities")

        def matches(r: PendingReminder) -> bool:
            return ((not name or r.name == name) and (not intent or r.intent == intent)
                    and (not entities or r.entities == entities))

        return await self._remove(conversation_id, matches)

    async def cancel_on_user_message(self, conversation_id: str) -> int:
        """The customer wrote: cancel the conversation's ``kill_on_user_msg`` reminders."""
        return await self._remove(conversation_id, lambda r: r.kill_on_user_msg)

    async def pending(self, conversation_id: str | None = None) -> list[PendingReminder]:
        """The reminders stored (for every conversation when none is named), soonest first."""
        rows = await asyncio.to_thread(self._load_rows, conversation_id)
        return sorted(rows, key=lambda r: (r.fire_at, r.id))

    # -- running -----------------------------------------------------------------------------

    async def start(self, fire: FireCallback) -> None:
        """Load the stored reminders and fire each at its time (those whose time passed while
        Carebot was down fire at once)."""
        if self._loop_task.running:
            raise RuntimeError("the reminder scheduler is already started")
        self._fire = fire
        await self._reload()
        self._loop_task.start(self._run())

    async def close(self) -> None:
        """Stop firing; reminders not yet due stay stored for the next start."""
        await self._loop_task.stop()
        if self._firing:
            _, late = await asyncio.wait(self._firing, timeout=self.close_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _run(self) -> None:
        next_reload = _now().timestamp() + self.poll_interval
        while True:
            self._wake.clear()
            now = _now()
            for reminder in sorted(self._pending.values(), key=lambda r: (r.fire_at, r.id)):
                if reminder.fire_at <= now:
                    del self._pending[reminder.id]
                    task = asyncio.create_task(self._fire_one(reminder))
                    self._firing.add(task)
                    task.add_done_callback(self._firing.discard)
            if now.timestamp() >= next_reload:
                await self._reload()
                next_reload = now.timestamp() + self.poll_interval
                continue
            delay = next_reload - now.timestamp()
            if self._pending:
                soonest = min(r.fire_at for r in self._pending.values())
                delay = min(delay, (soonest - now).total_seconds())
            # Sleeping on the wall clock in short steps would be wasteful; a wake-up on every
            # schedule() and a cap of poll_interval keep the timing right.
            # asyncio.timeout, not wait_for: wait_for can swallow close()'s cancellation
            # when the wake-up and the cancel arrive together (Python 3.11).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):
                    await self._wake.wait()

    async def _fire_one(self, reminder: PendingReminder) -> None:
        try:
            claimed = await asyncio.to_thread(self._claim, reminder.id)
        except Exception:
            logger.exception("cannot claim reminder %r; it stays stored", reminder.name)
            return
        if not claimed:
            return  # cancelled, replaced, or fired by another process meanwhile
        logger.info("reminder %r fires intent %r in conversation %s",
                    reminder.name, reminder.intent, reminder.conversation_id)
        try:
            assert self._fire is not None
            await self._fire(reminder.conversation_id, reminder.intent, reminder.entities)
        except Exception:
            logger.exception("reminder %r (intent %r) failed in conversation %s",
                             reminder.name, reminder.intent, reminder.conversation_id)

    async def _reload(self) -> None:
        try:
            rows = await asyncio.to_thread(self._load_rows, None)
        except Exception:
            logger.exception("cannot load the stored reminders; retrying in %g s",
                             self.poll_interval)
            return
        self._pending = {r.id: r for r in rows}
        self._wake.set()

    async def _remove(self, conversation_id: str, matches: Callable[[PendingReminder], bool]
                      ) -> int:
        removed = await asyncio.to_thread(self._delete_matching, conversation_id, matches)
        self._forget(lambda r: r.id in removed)
        return len(removed)

    def _forget(self, matches: Callable[[PendingReminder], bool]) -> None:
        for reminder in [r for r in self._pending.values() if matches(r)]:
            del self._pending[reminder.id]

    # -- the table (called on worker threads) -------------------------------------------------

    def _store(self, conversation_id: str, name: str, intent: str, fire_at: datetime,
               kill: bool, event: dict) -> int:
        values = {"conversation_id": conversation_id, "name": name, "intent": intent,
                  "fire_at": fire_at.replace(tzinfo=None), "kill_on_user_msg": kill,
                  "event": dict(event), "created_at": _now().replace(tzinfo=None)}
        with self.engine.begin() as conn:
            conn.execute(delete(Reminder).where(Reminder.conversation_id == conversation_id,
                                                Reminder.name == name))
            result = conn.execute(Reminder.__table__.insert().values(**values))
            return int(result.inserted_primary_key[0])

    def _load_rows(self, conversation_id: str | None) -> list[PendingReminder]:
        query = select(Reminder)
        if conversation_id is not None:
            query = query.where(Reminder.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            return [_pending_of(row) for row in conn.execute(query).mappings()]

    def _delete_matching(self, conversation_id: str,
                         matches: Callable[[PendingReminder], bool]) -> set[int]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(Reminder).where(
                Reminder.conversation_id == conversation_id)).mappings()
            ids = {r.id for r in map(_pending_of, rows) if matches(r)}
            if ids:
                conn.execute(delete(Reminder).where(Reminder.id.in_(ids)))
        return ids

    def _claim(self, row_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(Reminder).where(Reminder.id == row_id)).rowcount == 1


def _pending_of(row: Any) -> PendingReminder:
    return PendingReminder(
        id=row["id"], conversation_id=row["conversation_id"], name=row["name"],
        intent=row["intent"], entities=(row["event"] or {}).get("entities"),
        fire_at=row["fire_at"].replace(tzinfo=UTC), kill_on_user_msg=row["kill_on_user_msg"],
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _fire_time(value: Any) -> datetime:
    """``date_time`` of a ReminderScheduled event as an aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ReminderError(f"a reminder's date_time must be an ISO 8601 date and time "
                                f"(datetime.isoformat()), not {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.astimezone()  # naive: local time, as APScheduler reads it in Rasa
    return moment.astimezone(UTC)
