"""What server processes share: live events (fan-out), per-conversation locks and the latest
conversation state.

One process needs nothing but memory (:class:`Hub`). With ``CAREBOT_REDIS_URL`` set,
:class:`RedisHub` lets several ``carebot serve`` processes behind a load balancer act as one:
an event published by any process reaches the subscribers of every process, a conversation
is locked across processes, and the state a turn leaves behind is what the next turn, in
whichever process, starts from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

logger = logging.getLogger(__name__)

Subscriber = Callable[[str, dict], Awaitable[None]]  # (topic, event) -> None

# Topics the server uses; an event is a JSON-ready dict.
CUSTOMER_TOPIC = "customer"  # {"conversation_id", "event"}: to the customer's sockets
AGENTS_TOPIC = "agents"  # queue changes and transcript lines for agent consoles


# A saved state's revision (a fresh random id per save): a process holding the state of that
# revision need not load it again.
REV = "_rev"
UNCHANGED = object()


class ConversationBusy(RuntimeError):
    """Another process held the conversation's lock for too long."""


class Hub:
    """The single-process hub: subscribers, locks and nothing to share."""

    shared = False  # True when several processes share conversations

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = {}
        self._locks: dict[str, list] = {}  # key -> [asyncio.Lock, users]

    async def start(self) -> None:
        """Connect (nothing to do in one process)."""

    async def close(self) -> None:
        """Disconnect and stop delivering events."""

    def subscribe(self, topic: str, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(topic, event)`` for each event on ``topic``; returns unsubscribe."""
        self._subscribers.setdefault(topic, []).append(subscriber)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.get(topic, []).remove(subscriber)

        return unsubscribe

    async def publish(self, topic: str, event: dict) -> None:
        """Deliver ``event`` to the subscribers of ``topic`` in every process."""
        await self._deliver(topic, event)

    async def _deliver(self, topic: str, event: dict) -> None:
        for subscriber in list(self._subscribers.get(topic, ())):
            try:
                await subscriber(topic, event)
            except Exception:  # one broken subscriber must not silence the others
                logger.exception("subscriber of %s failed on %s", topic, event.get("type"))

    def lock(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation: turns, claims and replies of one conversation never overlap."""
        return self._local_lock(conversation_id)

    @asynccontextmanager
    async def _local_lock(self, key: str) -> AsyncIterator[None]:
        # Counted so the table only holds locks somebody holds or waits for.
        entry = self._locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[key]

    async def load_state(self, conversation_id: str) -> dict | None:
        """The state the last turn left, if this hub keeps one (only when shared)."""
        return None

    async def load_state_unless(self, conversation_id: str, rev: str | None) -> Any:
        """As :meth:`load_state`, or :data:`UNCHANGED` when the state kept is still the one
        saved with ``{REV: rev}`` (the caller's copy is current: no transfer, no parse)."""
        state = await self.load_state(conversation_id)
        if rev is not None and state is not None and state.get(REV) == rev:
            return UNCHANGED
        return state

    async def save_state(self, conversation_id: str, state: dict) -> None:
        """Keep the state for the next turn in any process (only when shared)."""


class RedisHub(Hub):
    """Events over Redis pub/sub, locks and state copies in Redis keys."""

    shared = True

    def __init__(self, url: str, *, prefix: str = "carebot:", lock_timeout: float = 60.0,
                 lock_wait: float = 30.0, state_ttl: int = 7 * 24 * 3600,
                 max_connections: int = 100) -> None:
        super().__init__()
        import redis.asyncio as redis  # optional: only needed with CAREBOT_REDIS_URL

        self.url = url
        self.prefix = prefix
        self.lock_timeout = lock_timeout  # a crashed process's lock expires after this
        self.lock_wait = lock_wait
        self.state_ttl = state_ttl
        # Blocking: a burst of turns waits for a free connection rather than failing with
        # "Too many connections" (redis-py's default pool refuses the 101st).
        self._redis = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=max_connections, timeout=lock_wait))
        self._reader: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        try:
            await self._redis.ping()
        except Exception as exc:
            await self._redis.aclose()
            raise RuntimeError(
                f"cannot reach Redis at {_hide_password(self.url)}: {exc}; start Redis or "
                "unset CAREBOT_REDIS_URL to run a single process") from exc
        self._reader = asyncio.create_task(self._read(), name="carebot-hub-reader")
        # Events published before the subscription is live would be missed.
        await asyncio.wait_for(self._subscribed.wait(), 10)
        logger.info("hub: sharing conversations through Redis at %s", _hide_password(self.url))

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._redis.aclose()

    async def publish(self, topic: str, event: dict) -> None:
        await self._redis.publish(f"{self.prefix}hub:{topic}", json.dumps(event))

    async def _read(self) -> None:
        pattern = f"{self.prefix}hub:*"
        skip = len(self.prefix) + len("hub:")
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self._subscribed.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    try:
                        event = json.loads(message["data"])
                    except ValueError:
                        logger.warning("hub: ignored a malformed event on %s", message["channel"])
                        continue
                    await self._deliver(message["channel"][skip:], event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarted or the network blipped: resubscribe
                logger.warning("hub: lost the Redis subscription (%s); retrying in %.1f s",
                               exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    @asynccontextmanager
    async def _shared_lock(self, conversation_id: str) -> AsyncIterator[None]:
        # Waiters in this process queue on a local lock first, so only one of them polls Redis.
        async with self._local_lock(conversation_id):
            lock = self._redis.lock(f"{self.prefix}lock:{conversation_id}",
                                    timeout=self.lock_timeout, sleep=0.01,
                                    blocking_timeout=self.lock_wait, thread_local=False)
            if not await lock.acquire():
                raise ConversationBusy(
                    f"conversation {conversation_id} stayed locked for {self.lock_wait:.0f} s; "
                    "another server process may be stuck, try again")
            try:
                yield
            finally:
                try:
                    await lock.release()
                except Exception as exc:  # expired: the work took longer than lock_timeout
                    logger.warning("hub: lock of %s was lost before release: %s",
                                   conversation_id, exc)

    def lock(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        return self._shared_lock(conversation_id)

    async def load_state(self, conversation_id: str) -> dict | None:
        raw = await self._redis.get(f"{self.prefix}state:{conversation_id}")
        return None if raw is None else json.loads(raw)

    async def save_state(self, conversation_id: str, state: dict) -> None:
        await self._redis.set(f"{self.prefix}state:{conversation_id}", json.dumps(state),
                              ex=self.state_ttl)


def _hide_password(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, credentials = head.partition("//")
    return f"{scheme}//{credentials.split(':', 1)[0]}:***@{tail}"


async def make_hub(redis_url: str | None = None) -> Hub:
    """A started hub: Redis-backed when ``redis_url`` (CAREBOT_REDIS_URL) is set."""
    hub = RedisHub(redis_url) if redis_url else Hub()
    await hub.start()
    return hub
