"""Every tracker event to RabbitMQ in Rasa's event-broker format, off the turn's path.

A turn hands its new events to :meth:`EventBroker.publish`, which only appends them to an
in-memory queue. A thread of its own, with its own event loop and one persistent connection,
publishes them as Rasa's PikaEventBroker does (a fanout exchange, ``rasa-exchange`` unless
``exchange_name`` says otherwise, bound to durable queues; persistent messages whose body is
the event's JSON with ``sender_id``), with publisher confirms: an event is forgotten only once
RabbitMQ has confirmed it. While RabbitMQ is away the events wait, up to ``max_buffered`` in
memory and the rest in spool files on disk; at shutdown whatever is unconfirmed is spooled.
They are sent, oldest first, when it is back. Delivery is at least once: a message whose
confirm was lost with the connection is sent again.

Across ``kill -9`` too: ``publish`` also appends each message to the broker's journal (the
conversation log's :class:`analytics.store.journal.Journal`, in the spool folder) and hands
it to the OS before the turn's state reaches the conversation log; :meth:`EventBroker.sync`,
which the turn calls with the conversation log's fsync before it is acknowledged, fsyncs it
at the same time (group commit: concurrent turns share fsyncs). The journal is
trimmed as RabbitMQ confirms (or the spool takes) its messages; the journal of a process that
died is replayed by the next one to start, before anything new. Each message carries an AMQP
``message_id``, a hash of its body, so a consumer can drop the copies at-least-once delivery
may bring.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from analytics.store.journal import Journal
from bot.broker import spool
from bot.broker.settings import PikaSettings

logger = logging.getLogger(__name__)

MAX_BUFFERED = 10_000  # events kept in memory while RabbitMQ is away; the rest go to disk
BATCH = 500  # messages in flight at once (each awaits its confirm)
PUBLISH_TIMEOUT = 30.0
# The journal's segments: a full one is deleted once RabbitMQ confirmed all of it; the current
# one is replayed whole after a kill -9, so its size bounds the events sent twice then.
JOURNAL_SEGMENT_BYTES = 256 * 1024
JOURNAL_SYNC_EVERY = 1.0  # s: the thread fsyncs what was published outside a turn's sync


def event_line(conversation_id: str, event: dict) -> str:
    """An event as Rasa's tracker store streams it: ``{"sender_id": ..., **event}``, as JSON
    (ASCII, one line)."""
    return json.dumps({"sender_id": conversation_id, **event}, default=str)


def event_message(conversation_id: str, event: dict) -> bytes:
    return event_line(conversation_id, event).encode()


def message_id(body: bytes) -> str:
    """The AMQP message_id of a message: the same for every copy of it, so a consumer can
    drop duplicates (an event's body holds its sender_id and timestamp)."""
    return hashlib.sha1(body, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class BrokerStats:
    connected: bool
    published: int  # confirmed by RabbitMQ since start
    waiting: int  # in memory, not yet confirmed
    spooled: int  # written to spool files since start


class EventBroker:
    """Publishes conversations' tracker events to RabbitMQ from a background thread."""

    def __init__(self, settings: PikaSettings, spool_dir: Path, *,
                 max_buffered: int = MAX_BUFFERED, batch: int = BATCH,
                 journal: bool = True) -> None:
        self.settings = settings
        self.spool_dir = spool_dir
        self.max_buffered = max_buffered
        self.batch = batch
        self._lock = threading.Lock()
        # survives kill -9 (None: only memory and the spool, for benchmarks)
        self._journal = (Journal(spool_dir, segment_bytes=JOURNAL_SEGMENT_BYTES) if journal
                         else None)
        self._journal_open = False
        self._seq = 0  # the journal number of the last message published
        self._trimmed = 0  # every message numbered up to this one is confirmed or spooled
        self._last_sync = 0.0
        self._fsyncs = ThreadPoolExecutor(2, thread_name_prefix="event-broker-fsync")
        self._incoming: deque[tuple[int, str]] = deque()  # from the turns: number, JSON
        self._unsent: deque[tuple[int, bytes]] = deque()  # the worker's, oldest first
        self._replay: list[bytes] = []  # a claimed spool file's messages not yet confirmed
        self._replay_path: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._idle = False
        self._closing = False
        self._deadline = 0.0
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._connection: AbstractConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._connected = False
        self._outage_since: float | None = None
        self._published = 0
        self._spooled = 0
        self._spooled_before_outage = 0

    # -- the turn's side ---------------------------------------------------------------------

    def publish(self, conversation_id: str, events: list[dict]) -> None:
        """Queue a conversation's new events and append them to the journal (not yet
        fsynced: :meth:`sync`); never waits for RabbitMQ, never raises for it."""
        if not events:
            return
        lines = []
        for event in events:
            try:
                lines.append(event_line(conversation_id, event))
            except (TypeError, ValueError) as exc:  # not an event dict: say so, go on
                logger.error("event broker: conversation %s: cannot publish %r: %s",
                             conversation_id, event, exc)
        with self._lock:
            for line in lines:
                self._seq += 1
                if self._journal_open:
                    try:
                        self._journal.append(line, self._seq)  # type: ignore[union-attr]
                    except OSError:
                        logger.exception("event broker: could not journal an event of %s; "
                                         "it is kept in memory only", conversation_id)
                self._incoming.append((self._seq, line))
            if self._journal_open and lines:
                # in the OS before the turn's state reaches the conversation log: a kill -9
                # can never keep a tracker whose events the broker lost
                try:
                    self._journal.flush()  # type: ignore[union-attr]
                except OSError:
                    logger.exception("event broker: could not write the journal")
            wake = self._idle
            self._idle = False
        if wake and self._loop is not None and self._wake is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the worker's loop has ended (closing)
                pass

    def sync(self, also: Callable[[], None] | None = None) -> None:
        """Return once every event published before this call survives a power cut (fsynced
        in the journal; calls from many threads share fsyncs), and ``also`` has run.

        The turn calls it on its worker thread with the conversation log's fsync as ``also``,
        before it is acknowledged: the two fsyncs run at once (the journal's on a helper
        thread), so a turn waits for about one fsync, not two. An error of ``also`` is
        raised; the journal's own is logged (the customer is answered all the same)."""
        if also is None:
            self._sync_journal()
            return
        if not self._journal_open:
            also()
            return
        try:
            journaled = self._fsyncs.submit(self._sync_journal)
        except RuntimeError:  # closing: the helper threads are gone
            also()
            self._sync_journal()
            return
        try:
            also()
        finally:
            journaled.result()

    def _sync_journal(self) -> None:
        if self._journal_open:
            try:
                self._journal.sync()  # type: ignore[union-attr]
            except OSError:  # the events stay queued in memory
                logger.exception("event broker: could not fsync the journal in %s",
                                 self.spool_dir)

    def stats(self) -> BrokerStats:
        with self._lock:
            waiting = len(self._incoming) + len(self._unsent) + len(self._replay)
        return BrokerStats(self._connected, self._published, waiting, self._spooled)

    # -- lifetime ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the publishing thread (it connects, and keeps trying while RabbitMQ is away)."""
        logger.info("event broker: publishing tracker events to %s", self.settings.describe())
        # aiormq logs each lost connection with a traceback; ours says once that RabbitMQ went
        # away and once that it is back
        for name in ("aiormq", "aio_pika"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        if self._journal is not None:
            # a killed process's journal: its messages go first, numbered 1..n
            replayed = self._journal.open(0, read=spool.read_journal)
            if replayed:
                logger.warning("event broker: %d events of a server process that stopped "
                               "without closing are sent again from its journal (%s)",
                               len(replayed), self.spool_dir)
            with self._lock:
                self._unsent.extend(enumerate(replayed, 1))
                self._seq = len(replayed)
                self._journal_open = True
        self._thread = threading.Thread(target=self._run, name="event-broker", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def close(self, timeout: float = 10.0) -> None:
        """Send what is waiting for up to ``timeout`` seconds, spool the rest, stop."""
        if self._thread is None:
            return
        self._deadline = time.monotonic() + timeout
        self._closing = True
        if self._loop is not None and self._wake is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:
                pass
        self._thread.join(timeout + 15)
        if self._thread.is_alive():
            logger.error("event broker: the publishing thread did not stop")
        elif self._journal_open:  # all spooled or sent: the journal is no longer needed
            self._close_journal(keep=self._trimmed < self._seq)
        self._fsyncs.shutdown(wait=True)
        self._thread = None

    def _close_journal(self, *, keep: bool) -> None:
        with self._lock:
            self._journal_open = False
        self._journal.close(keep=keep)  # type: ignore[union-attr]

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._started.set()
        try:
            while True:
                try:
                    await self._connect()
                except Exception as exc:  # noqa: BLE001 - any failure means: not there yet
                    self._went_away(exc)
                    if self._closing or not await self._wait_to_retry():
                        break
                    continue
                try:
                    await self._send_all()
                    break
                except Exception as exc:  # noqa: BLE001 - lost mid-way: reconnect
                    self._went_away(exc)
                    await self._disconnect()
                    if self._closing or not await self._wait_to_retry():
                        break
        finally:
            await self._disconnect()
            self._spool_everything()

    # -- connection --------------------------------------------------------------------------

    async def _connect(self) -> None:
        s = self.settings
        connection = await aio_pika.connect(s.url, timeout=10)
        try:
            channel: AbstractChannel = await connection.channel(publisher_confirms=True,
                                                                on_return_raises=True)
            # as Rasa declares them: a (non-durable) fanout exchange, durable queues bound to it
            exchange = await channel.declare_exchange(s.exchange_name,
                                                      aio_pika.ExchangeType.FANOUT)
            for name in s.queues:
                queue = await channel.declare_queue(name, durable=True)
                await queue.bind(exchange, "")
        except BaseException:
            await connection.close()
            raise
        self._connection, self._exchange = connection, exchange
        self._connected = True
        if self._outage_since is not None:
            logger.warning("event broker: RabbitMQ at %s:%d is back after %.0f s; sending "
                           "the events kept meanwhile (%d in memory, %d spooled)", s.host,
                           s.port, time.monotonic() - self._outage_since, self.stats().waiting,
                           self._spooled - self._spooled_before_outage)
            self._outage_since = None
        else:
            logger.info("event broker: connected to %s", s.describe())

    async def _disconnect(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        self._connected = False
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), 5)
            except Exception:  # noqa: BLE001 - it is gone either way
                pass

    def _went_away(self, exc: BaseException) -> None:
        self._connected = False
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            self._spooled_before_outage = self._spooled
            logger.warning("event broker: RabbitMQ at %s:%d is unreachable (%s); keeping "
                           "events (up to %d in memory, the rest in %s) and retrying every "
                           "%g s", self.settings.host, self.settings.port,
                           str(exc) or type(exc).__name__, self.max_buffered, self.spool_dir,
                           self.settings.retry_delay_in_seconds)

    async def _wait_to_retry(self) -> bool:
        """Wait the retry delay, spooling what overflows meanwhile; False when closing."""
        until = time.monotonic() + self.settings.retry_delay_in_seconds
        while not self._closing:
            self._take_incoming()
            self._spool_overflow()
            left = until - time.monotonic()
            if left <= 0:
                return True
            await self._sleep(min(left, 1.0))
        return False

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        with self._lock:
            self._idle = True
        self._wake.clear()
        if self._incoming or self._closing:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    # -- sending -----------------------------------------------------------------------------

    def _take_incoming(self) -> None:
        with self._lock:
            taken = list(self._incoming)
            self._incoming.clear()
        self._unsent.extend((seq, line.encode()) for seq, line in taken)
        now = time.monotonic()
        if self._journal_open and now - self._last_sync >= JOURNAL_SYNC_EVERY:
            # events published outside a turn (an agent's message, Rasa's HTTP API) are
            # fsynced within a second
            self._last_sync = now
            self._sync_journal()

    def _trim_journal(self, seq: int) -> None:
        """Every message up to ``seq`` is confirmed or spooled: the journal may forget it."""
        if seq <= self._trimmed:
            return
        self._trimmed = seq
        if self._journal_open:
            try:
                self._journal.written_up_to(seq)  # type: ignore[union-attr]
            except OSError:
                logger.exception("event broker: could not trim the journal")

    def _next_batch(self) -> list[bytes]:
        """Oldest first: a claimed spool file, then the memory queue."""
        if not self._replay and self._replay_path is not None:
            spool.release(self._replay_path, [])
            self._replay_path = None
        if not self._replay:
            path = spool.claim_next(self.spool_dir)
            if path is not None:
                self._replay_path, self._replay = path, spool.read_spool(path)
        if self._replay:
            return self._replay[:self.batch]
        self._take_incoming()
        return [self._unsent[i][1] for i in range(min(self.batch, len(self._unsent)))]

    def _confirmed(self, count: int) -> None:
        if self._replay:
            del self._replay[:count]
        elif count:
            for _ in range(count - 1):
                self._unsent.popleft()
            self._trim_journal(self._unsent.popleft()[0])
        self._published += count

    async def _send_all(self) -> None:
        while True:
            if self._closing and time.monotonic() >= self._deadline:
                return
            batch = self._next_batch()
            if not batch:
                if self._closing:
                    return
                await self._sleep(1.0)
                continue
            await self._send(batch)
            self._take_incoming()
            self._spool_overflow()  # RabbitMQ slower than the turns: memory stays bounded

    async def _send(self, bodies: list[bytes]) -> None:
        assert self._exchange is not None
        exchange = self._exchange
        timeout = PUBLISH_TIMEOUT
        if self._closing:
            timeout = max(0.5, min(timeout, self._deadline - time.monotonic()))
        results = await asyncio.gather(
            *(exchange.publish(aio_pika.Message(body, content_type="application/json",
                                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                message_id=message_id(body)),
                               routing_key="", timeout=timeout) for body in bodies),
            return_exceptions=True)
        done = next((i for i, r in enumerate(results) if isinstance(r, BaseException)),
                    len(results))
        self._confirmed(done)  # the first unconfirmed one and all after it are sent again
        if done < len(results):
            raise results[done]

    # -- the disk ----------------------------------------------------------------------------

    def _spool_overflow(self) -> None:
        """Memory holds at most ``max_buffered`` events: the oldest beyond go to disk."""
        excess = len(self._unsent) - self.max_buffered
        if excess <= 0:
            return
        taken = [self._unsent.popleft() for _ in range(excess)]
        if self._write_spool([body for _, body in taken]):
            self._trim_journal(taken[-1][0])

    def _spool_everything(self) -> None:
        self._take_incoming()
        if self._replay_path is not None:
            try:
                spool.release(self._replay_path, self._replay)
            except OSError:
                logger.exception("event broker: could not keep the rest of %s",
                                 self._replay_path)
            self._replay, self._replay_path = [], None
        if self._unsent:
            taken = list(self._unsent)
            self._unsent.clear()
            if self._write_spool([body for _, body in taken]):
                self._trim_journal(taken[-1][0])

    def _write_spool(self, bodies: list[bytes]) -> bool:
        try:
            path = spool.write_spool(self.spool_dir, bodies)
        except OSError:
            kept = "kept in the journal" if self._journal_open else "lost"
            logger.exception("event broker: could not spool %d events to %s; they are %s",
                             len(bodies), self.spool_dir, kept)
            return False
        self._spooled += len(bodies)
        logger.info("event broker: %d events kept in %s until RabbitMQ takes them",
                    len(bodies), path)
        return True
