"""The conversation log: writes conversations, messages and events in the background so a
reply never waits for the database, and loses nothing when the database goes away or the
process is killed (every record is journaled first: analytics/store/journal.py)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import threading
import time
from collections import deque
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from analytics.store import fastjson
from analytics.store.batches import write_batch
from analytics.store.db import describe, sqlite_writer
from analytics.store.journal import Journal
from analytics.store.record_files import (
    SPOOL_GLOB,
    append_rejected,
    read_records,
    to_line,
    write_spool,
)
from analytics.store.records import (
    ConversationRecord,
    Record,
    from_json_dict,
    kind_of,
    to_json_dict,
)
from analytics.store.rollups import refresh_facts
from analytics.store.schema import Message
from analytics.store.upsert import insert_ignoring_existing

logger = logging.getLogger(__name__)

_JSON_FIELDS = ("tracker_state", "entities", "data")
_FIRST_RETRY_DELAY = 0.1


class ConversationLog:
    """Asynchronous, ordered, idempotent writer of conversation records.

    ``write()`` only queues; a background thread writes batches, each in one transaction,
    retrying with exponential backoff while the database is unreachable. Records still
    queued at ``close()`` are spooled to ``spool_dir`` and replayed by the next ``start()``.
    Writing a ConversationRecord again replaces the stored state (the latest write wins).

    With a ``spool_dir`` (and ``durable``) every record is also appended to a journal there;
    ``sync()`` returns once everything written so far would survive ``kill -9`` or a power
    cut, and the next ``start()`` replays what a killed process had not yet stored.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        spool_dir: Path | None = None,
        batch_size: int = 200,
        flush_interval: float = 0.05,
        max_backoff: float = 5.0,
        durable: bool = True,
    ) -> None:
        # Fail now, not in the background thread, if the dialect is not supported.
        insert_ignoring_existing(Message.__table__, engine.dialect.name)
        self._engine = engine
        self._spool_dir = Path(spool_dir) if spool_dir is not None else None
        self._batch_size = max(1, batch_size)
        self._flush_interval = flush_interval
        self._max_backoff = max_backoff
        self._cond = threading.Condition()
        self._queue: deque[Record] = deque()
        self._enqueued = 0  # records ever accepted
        self._done = 0  # records written (or refused by the database and set aside)
        self._flush_waiters = 0
        self._stopping = False
        self._abandoned = False  # close() gave up waiting; the queue went to the spool
        self._closed = False
        self._thread: threading.Thread | None = None
        self._replaying: list[Path] = []
        self._replay_done_at = 0
        self._journal = Journal(self._spool_dir) if self._spool_dir and durable else None
        self._journal_error: OSError | None = None  # an append failed since the last sync

    # -- public API ----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        with self._cond:
            return len(self._queue)

    def start(self) -> None:
        """Replay any spooled records, then start the background writer thread."""
        with self._cond:
            if self._closed:
                raise RuntimeError("This ConversationLog is closed; create a new one.")
            if self._thread is not None:
                return
            self._load_spool()
            if self._journal is not None:
                replayed = self._journal.open(first_seq=self._enqueued)
                self._queue.extend(replayed)  # after the spool: the journal is newer
                self._enqueued += len(replayed)
            self._thread = threading.Thread(
                target=self._run, name="carebot-conversation-log", daemon=True
            )
            self._thread.start()
        logger.info("Conversation log writing to %s", describe(self._engine))

    def write(self, record: Record) -> None:
        """Queue a record; returns at once. Safe to call from any thread or the event loop."""
        kind_of(record)  # TypeError for anything that is not a record
        line = None
        if self._journal is None:
            snapshot = _snapshot(record)
        else:
            # One serialisation gives both the journal line and the snapshot.
            try:
                line = to_line(record)
            except (TypeError, ValueError):
                _snapshot(record)  # raises the error that names the field
                raise
            snapshot = from_json_dict(fastjson.loads(line))
        with self._cond:
            if self._closed:
                raise RuntimeError(
                    "This ConversationLog is closed; records can no longer be written."
                )
            self._queue.append(snapshot)
            self._enqueued += 1
            if line is not None:
                try:
                    self._journal.append(line, self._enqueued)
                except OSError as exc:  # still queued in memory; sync() reports it
                    self._journal_error = exc
            # The writer waits for a first record, then for a full batch (or its flush
            # interval): waking it for any other record only costs it the lock and the GIL.
            if len(self._queue) == 1 or len(self._queue) >= self._batch_size:
                self._cond.notify_all()

    def sync(self) -> None:
        """Block until every record written before this call survives a crash of the process
        or the machine (an fsync of the journal; concurrent callers share one). Without a
        journal (no ``spool_dir``) it returns at once. Raises OSError when the journal could
        not be written; the records are still queued for the database.
        """
        if self._journal is None:
            return
        with self._cond:
            failed, self._journal_error = self._journal_error, None
        if failed is not None:
            raise OSError(
                f"Could not write the conversation journal in {self._spool_dir}: {failed}; "
                "free disk space there or point CAREBOT_SPOOL_DIR at a writable directory"
            ) from failed
        self._journal.sync()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every record queued before this call is written; False on timeout.

        Blocks the calling thread: from a coroutine use ``loop.run_in_executor``.
        """
        with self._cond:
            target = self._enqueued
            if self._thread is None or not self._thread.is_alive():
                return self._done >= target
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                # close() wakes every waiter: a server stopping must not wait out their timeouts
                self._cond.wait_for(lambda: self._done >= target or self._closed, timeout)
                return self._done >= target
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float = 10.0) -> bool:
        """Flush, stop the writer thread and spool whatever could not be written.

        Returns True when everything reached the database.
        """
        deadline = time.monotonic() + timeout
        flushed = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.05, min(1.0, deadline - time.monotonic())))
        with self._cond:
            self._abandoned = True
            left = list(self._queue)
            self._queue.clear()
            replayed_files, self._replaying = self._replaying, []
        if not left:
            self._remove(replayed_files)
            self._close_journal(keep=False)
            logger.info("Conversation log closed; everything is written")
            return True
        try:
            self._spool(left)
        except BaseException:
            self._close_journal(keep=True)  # the journal still has them: the next start
            raise
        # The files being replayed are now either written or part of the new spool file.
        if self._spool_dir is not None:
            self._remove(replayed_files)
        self._close_journal(keep=False)
        return flushed and not left

    def _close_journal(self, *, keep: bool) -> None:
        if self._journal is not None:
            self._journal.close(keep=keep)

    def __enter__(self) -> ConversationLog:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- background thread ---------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue or self._abandoned:
                    return
                if not (self._stopping or self._flush_waiters):
                    # Give a burst of writes a moment to coalesce into one transaction.
                    self._cond.wait_for(
                        lambda: (
                            len(self._queue) >= self._batch_size
                            or self._stopping
                            or self._flush_waiters > 0
                        ),
                        self._flush_interval,
                    )
                batch = list(itertools.islice(self._queue, self._batch_size))
            try:
                self._write_isolating_bad_records(batch)
            except Exception as exc:  # noqa: BLE001 - every failure means: keep and retry
                failures += 1
                delay = min(_FIRST_RETRY_DELAY * 2 ** (failures - 1), self._max_backoff)
                logger.warning(
                    "Could not write %d conversation records to %s (attempt %d): %s; "
                    "retrying in %.1f s, nothing is lost",
                    len(batch),
                    describe(self._engine),
                    failures,
                    _one_line(exc),
                    delay,
                )
                with self._cond:
                    if self._cond.wait_for(lambda: self._stopping, delay):
                        return  # close() spools what is left
                continue
            if failures:
                logger.info("Database reachable again after %d failed attempts", failures)
                failures = 0
            with self._cond:
                if self._abandoned:
                    return
                for _ in batch:
                    self._queue.popleft()
                self._done += len(batch)
                finished: list[Path] = []
                if self._replaying and self._done >= self._replay_done_at:
                    finished, self._replaying = self._replaying, []
                done = self._done
                self._cond.notify_all()
            if self._journal is not None:
                try:
                    self._journal.written_up_to(done)
                except OSError as exc:  # harmless: replaying written records changes nothing
                    logger.warning("Could not delete written journal files: %s", exc)
            if finished:
                self._remove(finished)
                logger.info("Replayed spooled records from %s", ", ".join(p.name for p in finished))

    def _write_isolating_bad_records(self, batch: list[Record]) -> None:
        try:
            self._write_batch(batch)
        except Exception as exc:
            if not _is_bad_record(exc):
                raise
            if len(batch) == 1:
                self._set_aside(batch[0], exc)
                return
            logger.warning(
                "The database refused a batch of %d records (%s); writing them one by one",
                len(batch),
                _one_line(exc),
            )
            for record in batch:
                try:
                    self._write_batch([record])
                except Exception as single_exc:
                    if not _is_bad_record(single_exc):
                        raise
                    self._set_aside(record, single_exc)

    def _write_batch(self, batch: list[Record]) -> None:
        changed = write_batch(self._engine, batch)
        if changed:
            # the batch's latest state of each conversation is what the database now holds
            states = {r.id: r.tracker_state for r in batch if isinstance(r, ConversationRecord)}
            self._refresh_facts(changed, states)

    def _refresh_facts(self, conversation_ids: set[str],
                       known_states: dict[str, dict | None] | None = None) -> None:
        """Bring the report rollups of these conversations up to date (analytics/store/rollups.py)."""
        # Its own transaction, after the records are safe: a failure here must never hold
        # up or reject conversation records. Stale rollups are found and rebuilt later.
        try:
            with sqlite_writer(self._engine), self._engine.begin() as conn:
                refresh_facts(conn, conversation_ids, known_states)
        except Exception as exc:  # noqa: BLE001
            logger.error(
                "Could not update the report rollups of %d conversations (%s); "
                "`carebot analytics rebuild-facts` repairs them",
                len(conversation_ids),
                _one_line(exc),
            )

    # -- spool ---------------------------------------------------------------------------

    def _load_spool(self) -> None:
        if self._spool_dir is None or not self._spool_dir.is_dir():
            return
        files = sorted(self._spool_dir.glob(SPOOL_GLOB))
        records = [record for path in files for record in read_records(path)]
        if not files:
            return
        self._queue.extendleft(reversed(records))  # spooled records are older: write first
        self._enqueued += len(records)
        self._replaying = files
        self._replay_done_at = self._done + len(records)
        logger.info("Replaying %d spooled records from %s", len(records), self._spool_dir)
        if not records:
            self._remove(files)
            self._replaying = []

    def _spool(self, records: list[Record]) -> None:
        if self._spool_dir is None:
            logger.error(
                "Database %s unreachable at shutdown and no spool directory is configured: "
                "%d conversation records are lost. Configure a spool directory to keep them.",
                describe(self._engine),
                len(records),
            )
            return
        path = write_spool(self._spool_dir, records)
        logger.warning(
            "Database %s unreachable at shutdown: spooled %d conversation records to %s; "
            "they are written when the conversation log next starts",
            describe(self._engine),
            len(records),
            path,
        )

    def _set_aside(self, record: Record, exc: Exception) -> None:
        """Keep a record the database refuses outright, so it cannot block the log forever."""
        where = "the log above"
        if self._spool_dir is not None:
            where = str(append_rejected(self._spool_dir, record))
        logger.error(
            "The database refused %s record %s: %s. It was set aside in %s; fix it and "
            "write it again. Record: %s",
            kind_of(record),
            record.id,
            _one_line(exc),
            where,
            json.dumps(to_json_dict(record))[:2000],
        )

    @staticmethod
    def _remove(paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)


def _snapshot(record: Record) -> Record:
    """Copy the record's JSON fields (the caller may keep mutating them) and check them."""
    changes = {}
    for name in _JSON_FIELDS:
        if hasattr(record, name):
            try:
                changes[name] = json.loads(json.dumps(getattr(record, name)))
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"{type(record).__name__}.{name} must be JSON-serialisable "
                    f"(dicts, lists, strings, numbers, booleans, None): {exc}"
                ) from None
    return dataclasses.replace(record, **changes)


def _is_bad_record(exc: Exception) -> bool:
    """True when the database refuses the data itself, not when it is unreachable."""
    if isinstance(exc, IntegrityError | DataError | UnicodeError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


def _one_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
