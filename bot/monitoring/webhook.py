"""Alert notices to a webhook: JSON POSTs, signed with HMAC-SHA256, retried with backoff, in
order (a clearing never overtakes its raising).

The receiver checks ``X-Carebot-Signature: sha256=<hex>``, the HMAC of
``<X-Carebot-Timestamp>.<body>`` under the shared secret (:func:`verify`), and may drop
notices whose timestamp is old (replays). ``X-Carebot-Delivery`` is the same for every retry
of one notice, so a receiver can ignore duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp

from bot.monitoring.settings import WebhookSettings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Carebot-Signature"
TIMESTAMP_HEADER = "X-Carebot-Timestamp"
DELIVERY_HEADER = "X-Carebot-Delivery"
_RETRY_STATUSES = {408, 425, 429}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *,
           max_age_seconds: float = 300.0, now: float | None = None) -> bool:
    """True when the notice was signed with ``secret`` and is not older than max_age."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    try:
        age = (time.time() if now is None else now) - float(timestamp)
    except ValueError:
        return False
    if abs(age) > max_age_seconds:
        return False
    return hmac.compare_digest(headers.get(SIGNATURE_HEADER, ""), sign(secret, timestamp, body))


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    payload: dict
    attempts: int = 0
    status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Outcome = Callable[[Delivery], None]  # called (on a worker thread's behalf) after each notice


class AlertWebhook:
    """Sends notices one after another from a queue; ``send`` never waits for the network."""

    def __init__(self, settings: WebhookSettings, *, on_outcome: Outcome | None = None) -> None:
        if settings.url and not settings.secret:
            raise ValueError("monitoring.webhook.url is set but CAREBOT_ALERT_WEBHOOK_SECRET "
                             "is not; set the secret the receiver checks signatures with")
        self.settings = settings
        self.on_outcome = on_outcome
        self._queue: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.url)

    def start(self) -> None:
        if self.enabled and self._worker is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds))
            self._worker = asyncio.create_task(self._run(), name="alert-webhook")

    async def close(self, drain_seconds: float = 5.0) -> None:
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_seconds)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._session is not None:
            await self._session.close()

    def send(self, delivery_id: str, payload: dict) -> None:
        if self.enabled:
            self._queue.put_nowait((delivery_id, payload))

    async def _run(self) -> None:
        while True:
            delivery_id, payload = await self._queue.get()
            try:
                outcome = await self.deliver(delivery_id, payload)
                if self.on_outcome:
                    try:
                        self.on_outcome(outcome)
                    except Exception:
                        logger.exception("could not record the webhook delivery %s", delivery_id)
            finally:
                self._queue.task_done()

    async def deliver(self, delivery_id: str, payload: dict) -> Delivery:
        """POST one notice, retrying network errors, 5xx, 408 and 429 with backoff."""
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        delay = self.settings.first_retry_seconds
        status: int | None = None
        error: str | None = None
        attempt = 0
        for attempt in range(1, self.settings.attempts + 1):
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                       DELIVERY_HEADER: delivery_id,
                       SIGNATURE_HEADER: sign(self.settings.secret or "", timestamp, body)}
            try:
                async with self._session.post(self.settings.url, data=body,
                                              headers=headers) as response:
                    status, error = response.status, None
                    if 200 <= status < 300:
                        return Delivery(delivery_id, payload, attempt, status)
                    error = f"HTTP {status}"
                    if status < 500 and status not in _RETRY_STATUSES:
                        break  # the receiver refuses it; sending again will not help
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if attempt < self.settings.attempts:
                logger.warning("alert webhook: attempt %d for %s failed (%s); retrying in "
                               "%.1f s", attempt, delivery_id, error, delay)
                await asyncio.sleep(delay)
                delay *= 2
        logger.error("alert webhook: gave up on %s after %d attempts (%s)", delivery_id,
                     attempt, error)
        return Delivery(delivery_id, payload, attempt, status, error)
