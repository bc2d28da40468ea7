"""Rate limits by name (login failures, messages, order lookups), per account, conversation
or client address; counted in Redis when the deployment has one (every process sees the same
counts), else in this process. Built on the ``limits`` library's moving windows.

Every limit comes from ``Config.limits`` (carebot.yml ``limits:`` / CAREBOT_LIMIT_*); the
limits in force are logged at start-up and each time one is reached.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from dataclasses import dataclass, fields

import limits
from aiohttp import web
from limits.aio import storage, strategies

from bot.config import RateLimits
from bot.web.errors import http_error

logger = logging.getLogger(__name__)

# The client address of the request or socket whose turn is running: set by the channels,
# read by the order-lookup guard deep inside the turn (which is handed only the tracker).
current_address: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "carebot_client_address", default=None)

REDIS_RETRY_SECONDS = 5.0  # after a Redis error, count in this process for this long
_REDIS_TIMEOUT = 0.5  # a limit check must never hold a turn for long


@dataclass(frozen=True)
class Retry:
    """A limit was reached: ``seconds`` until another attempt may succeed."""

    name: str
    limit: str
    seconds: int


class RateLimiter:
    """Named moving-window limits; a limit set to "off" never refuses."""

    def __init__(self, settings: RateLimits, redis_url: str | None = None,
                 hub: object | None = None) -> None:
        """``hub``: the workers' hub of `carebot serve --workers N` without Redis (its
        ``limit``), which counts for every worker; Redis, when given, counts instead."""
        self.settings = settings
        self._items: dict[str, limits.RateLimitItem | None] = {
            f.name: _parse(f.name, getattr(settings, f.name))
            for f in fields(RateLimits) if isinstance(getattr(settings, f.name), str)}
        self._local = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._shared = None
        if redis_url:
            url = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            self._shared = strategies.MovingWindowRateLimiter(storage.RedisStorage(
                url, implementation="redispy", key_prefix="carebot-limits",
                socket_timeout=_REDIS_TIMEOUT, socket_connect_timeout=_REDIS_TIMEOUT))
        self._redis_down_until = 0.0
        self._hub = getattr(hub, "limit", None) if not redis_url else None

    def describe(self) -> str:
        shown = [f"{name}={item or 'off'}" for name, item in self._items.items()]
        where = ("Redis (shared by every process)" if self._shared
                 else "the workers' hub (shared by every worker)" if self._hub
                 else "this process")
        return f"rate limits, counted in {where}: " + ", ".join(shown)

    def enabled(self, name: str) -> bool:
        return self._items[name] is not None

    async def hit(self, name: str, key: str) -> Retry | None:
        """Count one event against ``name`` for ``key``; a Retry when it is over the limit."""
        item = self._items[name]
        if item is None:
            return None
        allowed = await self._call("hit", item, name, key)
        return None if allowed else await self._refused(name, item, key)

    async def check(self, name: str, key: str) -> Retry | None:
        """Whether ``key`` is already over ``name``'s limit, without counting anything."""
        item = self._items[name]
        if item is None:
            return None
        allowed = await self._call("test", item, name, key)
        return None if allowed else await self._refused(name, item, key)

    async def clear(self, name: str, key: str) -> None:
        item = self._items[name]
        if item is not None:
            await self._call("clear", item, name, key)

    async def _refused(self, name: str, item: limits.RateLimitItem, key: str) -> Retry:
        stats = await self._call("get_window_stats", item, name, key)
        seconds = max(1, math.ceil(stats.reset_time - time.time()))
        logger.warning("rate limit %s (%s) reached for %s; refused for %d s", name, item, key,
                       seconds)
        return Retry(name, str(item), seconds)

    async def _call(self, method: str, item: limits.RateLimitItem, name: str, key: str):
        if self._hub is not None:
            try:
                return await self._call_hub(method, item, name, key)
            except ConnectionError as exc:  # the supervisor is gone: this worker stops soon
                logger.warning("rate limits: the workers' hub is unreachable (%s); counting "
                               "in this process", exc)
        if self._shared is not None and time.monotonic() >= self._redis_down_until:
            try:
                return await getattr(self._shared, method)(item, name, key)
            except Exception as exc:  # Redis down: limits must not stop the chat
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                logger.warning("rate limits: Redis unreachable (%s); counting in this process "
                               "for %.0f s", exc, REDIS_RETRY_SECONDS)
        return await getattr(self._local, method)(item, name, key)


    async def _call_hub(self, method: str, item: limits.RateLimitItem, name: str, key: str):
        what = {"hit": "hit", "test": "test", "clear": "clear",
                "get_window_stats": "test"}[method]
        allowed, reset = await self._hub(what, f"{name}/{key}", item.amount, item.get_expiry())
        if method == "get_window_stats":
            return limits.WindowStats(reset, int(allowed))
        return allowed


def _parse(name: str, value: str) -> limits.RateLimitItem | None:
    if value.strip().lower() in ("", "off", "none", "0"):
        return None
    return limits.parse(value)


def client_address(request: web.Request) -> str:
    """The peer's address (behind a proxy, the proxy's: aiohttp's forwarded handling decides)."""
    return request.remote or "unknown"


def too_many_requests(retry: Retry, what: str) -> web.HTTPException:
    """A 429 in the one error shape, with ``Retry-After``."""
    return http_error(web.HTTPTooManyRequests,
                      f"{what}; try again in {retry.seconds} seconds",
                      headers={"Retry-After": str(retry.seconds)})
