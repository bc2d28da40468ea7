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
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from bot.broker import spool
from bot.broker.settings import PikaSettings

logger = logging.getLogger(__name__)

MAX_BUFFERED = 10_000  # events kept in memory while RabbitMQ is away; the rest go to disk
BATCH = 500  # messages in flight at once (each awaits its confirm)
PUBLISH_TIMEOUT = 30.0


def event_message(conversation_id: str, event: dict) -> bytes:
    """An event as Rasa's tracker store streams it: ``{"sender_id": ..., **event}``."""
    return json.dumps({"sender_id": conversation_id, **event}, default=str).encode()


@dataclass(frozen=True)
class BrokerStats:
    connected: bool
    published: int  # confirmed by RabbitMQ since start
    waiting: int  # in memory, not yet confirmed
    spooled: int  # written to spool files since start


class EventBroker:
    """Publishes conversations' tracker events to RabbitMQ from a background thread."""

    def __init__(self, settings: PikaSettings, spool_dir: Path, *,
                 max_buffered: int = MAX_BUFFERED, batch: int = BATCH) -> None:
        self.settings = settings
        self.spool_dir = spool_dir
        self.max_buffered = max_buffered
        self.batch = batch
        self._lock = threading.Lock()
        self._incoming: deque[tuple[str, dict]] = deque()  # from the turns, not yet encoded
        self._unsent: deque[bytes] = deque()  # the worker's, oldest first
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
        """Queue a conversation's new events; never blocks, never raises for RabbitMQ."""
        if not events:
            return
        with self._lock:
            self._incoming.extend((conversation_id, event) for event in events)
            wake = self._idle
            self._idle = False
        if wake and self._loop is not None and self._wake is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the worker's loop has ended (closing)
                pass

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
        self._thread = None

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
        for cid, event in taken:
            try:
                self._unsent.append(event_message(cid, event))
            except (TypeError, ValueError) as exc:  # not an event dict: say so, go on
                logger.error("event broker: conversation %s: cannot publish %r: %s", cid,
                             event, exc)

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
        return [self._unsent[i] for i in range(min(self.batch, len(self._unsent)))]

    def _confirmed(self, count: int) -> None:
        if self._replay:
            del self._replay[:count]
        else:
            for _ in range(count):
                self._unsent.popleft()
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
                                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
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
        bodies = [self._unsent.popleft() for _ in range(excess)]
        self._write_spool(bodies)

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
            bodies = list(self._unsent)
            self._unsent.clear()
            self._write_spool(bodies)

    def _write_spool(self, bodies: list[bytes]) -> None:
        try:
            path = spool.write_spool(self.spool_dir, bodies)
        except OSError:
            logger.exception("event broker: could not spool %d events to %s; %d events lost",
                             len(bodies), self.spool_dir, len(bodies))
            return
        self._spooled += len(bodies)
        logger.info("event broker: %d events kept in %s until RabbitMQ takes them",
                    len(bodies), path)
