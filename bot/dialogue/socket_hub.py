"""The hub of ``carebot serve --workers N`` without Redis: the supervising process keeps the
locks, the latest conversation states and the fan-out in its memory (:class:`HubServer`), and
each worker reaches it over a Unix socket (:class:`SocketHub`).

So the embedded default (SQLite, no Redis) uses every core and still behaves as one process:
one conversation's turns never overlap and are served in the order they asked for the lock,
whichever worker holds them; the state a turn leaves is where the next one starts; an agent's
reply reaches the customer's socket at any worker.

The protocol is one JSON object per line. Worker to server: ``lock`` / ``get`` (answered,
by ``id``), ``unlock``, ``set`` and ``pub`` (not answered: a connection's lines are handled in
order, so a ``set`` sent before an ``unlock`` is seen by the next holder's ``get``). Server to
worker: answers ``{"id", ...}`` and events ``{"topic", "event"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from analytics.store import fastjson
from bot.dialogue.hub import REV, UNCHANGED, ConversationBusy, Hub, make_hub

logger = logging.getLogger(__name__)

MAX_STATES = 50_000  # least recently used states beyond this are read from the store again
LINE_LIMIT = 64 * 1024 * 1024  # one conversation's state, as JSON


@dataclass
class _Client:
    writer: asyncio.StreamWriter
    name: str
    held: set[str] = field(default_factory=set)  # lock keys this worker holds


@dataclass
class _Lock:
    holder: tuple[_Client, int] | None = None
    waiting: deque[tuple[_Client, int]] = field(default_factory=deque)
    lease: asyncio.TimerHandle | None = None


class HubServer:
    """Locks (FIFO per conversation, leased), states (LRU) and fan-out for the workers."""

    def __init__(self, path: Path, *, lease_seconds: float = 60.0,
                 max_states: int = MAX_STATES) -> None:
        self.path = Path(path)
        self.lease_seconds = lease_seconds  # a lock held longer (a hung worker) is taken back
        self.max_states = max_states
        self._clients: list[_Client] = []
        self._locks: dict[str, _Lock] = {}
        # kept as JSON text, with the revision it was saved with
        self._states: OrderedDict[str, tuple[str, str | None]] = OrderedDict()
        self._server: asyncio.AbstractServer | None = None
        self._names = itertools.count(1)
        self._windows: dict[str, tuple[float, deque[float]]] = {}  # rate limits: (seconds, hits)
        self._limit_ops = 0

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                       limit=LINE_LIMIT)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for client in list(self._clients):
                client.writer.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer, f"worker connection {next(self._names)}")
        self._clients.append(client)
        try:
            while line := await reader.readline():
                try:
                    self._handle(client, fastjson.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    logger.warning("hub: bad request from %s: %s", client.name, exc)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._clients.remove(client)
            self._drop(client)
            writer.close()

    def _handle(self, client: _Client, request: dict) -> None:
        op = request["op"]
        if op == "pub":
            line = _line({"topic": request["topic"], "event": request["event"]})
            for other in self._clients:
                _send(other, line)
        elif op == "lock":
            self._acquire(request["key"], (client, request["id"]))
        elif op == "unlock":
            self._release(request["key"], (client, request["id"]))
        elif op == "get":
            kept = self._states.get(request["key"])
            if kept is not None:
                self._states.move_to_end(request["key"])
                if request.get("rev") is not None and kept[1] == request["rev"]:
                    _send(client, b'{"id": %d, "same": true}\n' % int(request["id"]))
                    return
            # the state is passed on as the text it was stored as: no second parse and dump
            _send(client, b'{"id": %d, "value": %s}\n' % (
                int(request["id"]), (kept[0] if kept else "null").encode()))
        elif op == "set":
            value = request["value"]
            rev = value.get(REV) if isinstance(value, dict) else None
            self._states[request["key"]] = (fastjson.dumps(value), rev)
            self._states.move_to_end(request["key"])
            while len(self._states) > self.max_states:
                self._states.popitem(last=False)
        elif op == "limit":
            allowed, reset = self._limit(request["key"], int(request["amount"]),
                                         float(request["seconds"]), request["what"])
            _send(client, _line({"id": request["id"], "allowed": allowed, "reset": reset}))
        else:
            raise ValueError(f"unknown op {op!r}")

    def _limit(self, key: str, amount: int, seconds: float, what: str) -> tuple[bool, float]:
        """A moving window of ``amount`` per ``seconds`` (the ``limits`` library's): ``hit``
        counts one if there is room, ``test`` only looks, ``clear`` forgets the key. Returns
        whether there was room, and when the oldest hit leaves the window."""
        now = time.time()
        self._limit_ops += 1
        if self._limit_ops % 10_000 == 0:  # forget the keys whose hits all left their window
            for k in [k for k, (s, hits) in self._windows.items() if not hits or hits[-1] <= now - s]:
                del self._windows[k]
        if what == "clear":
            self._windows.pop(key, None)
            return True, now
        _, hits = self._windows.setdefault(key, (seconds, deque()))
        while hits and hits[0] <= now - seconds:
            hits.popleft()
        allowed = len(hits) < amount
        if allowed and what == "hit":
            hits.append(now)
        return allowed, (hits[0] + seconds) if hits else now

    def _acquire(self, key: str, who: tuple[_Client, int]) -> None:
        lock = self._locks.setdefault(key, _Lock())
        if lock.holder is None:
            self._grant(key, lock, who)
        else:
            lock.waiting.append(who)

    def _grant(self, key: str, lock: _Lock, who: tuple[_Client, int]) -> None:
        lock.holder = who
        who[0].held.add(key)
        loop = asyncio.get_running_loop()
        lock.lease = loop.call_later(self.lease_seconds, self._expire, key, who)
        _send(who[0], _line({"id": who[1], "ok": True}))

    def _release(self, key: str, who: tuple[_Client, int]) -> None:
        lock = self._locks.get(key)
        if lock is None:
            return
        if lock.holder != who:  # a waiter that gave up
            with contextlib.suppress(ValueError):
                lock.waiting.remove(who)
            return
        if lock.lease is not None:
            lock.lease.cancel()
        who[0].held.discard(key)
        lock.holder = None
        while lock.waiting:
            following = lock.waiting.popleft()
            if following[0] in self._clients:
                self._grant(key, lock, following)
                return
        del self._locks[key]

    def _expire(self, key: str, who: tuple[_Client, int]) -> None:
        logger.warning("hub: %s held the lock of conversation %s for %.0f s; taken back",
                       who[0].name, key, self.lease_seconds)
        self._release(key, who)

    def _drop(self, client: _Client) -> None:
        """A worker went away: its locks pass on, its requests are forgotten."""
        for lock in self._locks.values():
            lock.waiting = deque(w for w in lock.waiting if w[0] is not client)
        for key in list(client.held):
            lock = self._locks.get(key)
            if lock is not None and lock.holder is not None:
                self._release(key, lock.holder)


def _line(message: dict) -> bytes:
    return fastjson.dumps_bytes(message) + b"\n"


def _send(client: _Client, line: bytes) -> None:
    if not client.writer.is_closing():
        client.writer.write(line)


class SocketHub(Hub):
    """A worker's side of :class:`HubServer`: the hub API over the supervisor's Unix socket."""

    shared = True

    def __init__(self, path: str | Path, *, lock_wait: float = 30.0,
                 on_lost: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.path = str(path)
        self.lock_wait = lock_wait
        self.on_lost = on_lost  # the supervisor is gone: this worker should stop
        self._reader_task: asyncio.Task | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future] = {}
        self._closing = False

    async def start(self) -> None:
        try:
            reader, self._writer = await asyncio.open_unix_connection(self.path,
                                                                      limit=LINE_LIMIT)
        except OSError as exc:
            raise RuntimeError(f"cannot reach the workers' hub at {self.path}: {exc}; "
                               "workers are started by `carebot serve --workers N`") from exc
        self._reader_task = asyncio.create_task(self._read(reader), name="carebot-hub-socket")
        logger.info("hub: sharing conversations with the other workers through %s", self.path)

    async def close(self) -> None:
        self._closing = True
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                message = fastjson.loads(line)
                if "topic" in message:
                    await self._deliver(message["topic"], message["event"])
                else:
                    future = self._answers.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        lost = ConnectionError("the workers' hub closed the connection")
        for future in self._answers.values():
            if not future.done():
                future.set_exception(lost)
        self._answers.clear()
        if not self._closing:
            logger.error("hub: lost the supervisor's hub at %s; this worker stops", self.path)
            if self.on_lost is not None:
                self.on_lost()

    def _send(self, message: dict) -> None:
        if self._writer is None or self._writer.is_closing():
            raise ConnectionError("the workers' hub is not connected")
        self._writer.write(_line(message))

    def _ask(self, message: dict) -> tuple[int, asyncio.Future]:
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._answers[request_id] = future
        self._send({**message, "id": request_id})
        return request_id, future

    async def publish(self, topic: str, event: dict) -> None:
        self._send({"op": "pub", "topic": topic, "event": event})

    def lock(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        return self._shared_lock(conversation_id)

    @asynccontextmanager
    async def _shared_lock(self, conversation_id: str) -> AsyncIterator[None]:
        request_id, granted = self._ask({"op": "lock", "key": conversation_id})
        try:
            await asyncio.wait_for(asyncio.shield(granted), self.lock_wait)
        except BaseException as exc:
            # given up (timeout, cancelled, hub lost): the server forgets the request, or
            # frees the lock if it was granted at the last moment
            self._answers.pop(request_id, None)
            with contextlib.suppress(ConnectionError):
                self._send({"op": "unlock", "key": conversation_id, "id": request_id})
            if isinstance(exc, TimeoutError):
                raise ConversationBusy(
                    f"conversation {conversation_id} stayed locked for {self.lock_wait:.0f} s; "
                    "another worker may be stuck, try again") from None
            raise
        try:
            yield
        finally:
            with contextlib.suppress(ConnectionError):  # a lost hub has dropped our locks
                self._send({"op": "unlock", "key": conversation_id, "id": request_id})

    async def load_state(self, conversation_id: str) -> dict | None:
        _, answer = self._ask({"op": "get", "key": conversation_id})
        return (await answer)["value"]

    async def limit(self, what: str, key: str, amount: int, seconds: float) -> tuple[bool, float]:
        """A rate limit counted by the supervisor, for every worker (bot/web/ratelimit.py):
        ``what`` is hit, test or clear; (room left, when the window frees a hit)."""
        _, answer = self._ask({"op": "limit", "what": what, "key": key, "amount": amount,
                               "seconds": seconds})
        reply = await answer
        return bool(reply["allowed"]), float(reply["reset"])

    async def load_state_unless(self, conversation_id: str, rev: str | None):
        _, answer = self._ask({"op": "get", "key": conversation_id, "rev": rev})
        reply = await answer
        return UNCHANGED if reply.get("same") else reply["value"]

    async def save_state(self, conversation_id: str, state: dict) -> None:
        self._send({"op": "set", "key": conversation_id, "value": state})


async def connect_hub(redis_url: str | None = None, *, socket_path: str | None = None,
                      on_lost: Callable[[], None] | None = None) -> Hub:
    """A started hub: Redis-backed when ``redis_url`` (CAREBOT_REDIS_URL) is set, else the
    supervisor's at ``socket_path`` (a worker of ``carebot serve --workers N``), else this
    process's own."""
    if redis_url or not socket_path:
        return await make_hub(redis_url)
    hub = SocketHub(socket_path, on_lost=on_lost)
    await hub.start()
    return hub
