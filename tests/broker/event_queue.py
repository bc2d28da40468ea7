"""What a consumer of Carebot's event broker sees: the demo shop served from a copy whose
endpoints.yml names a RabbitMQ, and a reader of the queue it publishes to."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import aio_pika
from live_server import REPO

PROJECT_FILES = ("config.yml", "domain.yml", "credentials.yml", "carebot.yml", "data", "actions")


def project_with_broker(directory: Path, port: int, queue: str, exchange: str) -> Path:
    """The demo shop's Rasa project with an endpoints.yml streaming its events to RabbitMQ."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, directory / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, directory / name)
    # as a Rasa user writes it (rasa docs: event brokers, pika); the password comes from the
    # environment as Rasa allows
    (directory / "endpoints.yml").write_text(
        "event_broker:\n"
        "  type: pika\n"
        "  url: 127.0.0.1\n"
        f"  port: {port}\n"
        "  username: guest\n"
        "  password: ${RABBITMQ_TEST_PASSWORD}\n"
        f"  queues:\n    - {queue}\n"
        f"  exchange_name: {exchange}\n"
        "  retry_delay_in_seconds: 1\n")
    return directory


def read_messages(url: str, queue: str, *, until: int, timeout: float = 60,
                  message_ids: list[str | None] | None = None) -> list[dict]:
    """Every message in ``queue`` (acknowledged, so taken), waiting until ``until`` distinct
    ones arrived or ``timeout`` passed; their AMQP message_ids added to ``message_ids``."""

    async def read() -> list[dict]:
        connection = await aio_pika.connect(url, timeout=10)
        try:
            channel = await connection.channel()
            q = await channel.declare_queue(queue, durable=True)
            bodies: list[dict] = []
            seen: set[bytes] = set()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = await q.get(no_ack=False, fail=False)
                if message is None:
                    if len(seen) >= until:
                        break
                    await asyncio.sleep(0.1)
                    continue
                await message.ack()
                seen.add(message.body)
                if message_ids is not None:
                    message_ids.append(message.message_id)
                bodies.append(json.loads(message.body))
            return bodies
        finally:
            await connection.close()

    return asyncio.run(read())


def unreachable_reason(url: str) -> str | None:
    """Why RabbitMQ at ``url`` cannot be used (None when it can)."""

    async def connect() -> None:
        connection = await aio_pika.connect(url, timeout=5)
        await connection.close()

    try:
        asyncio.run(connect())
        return None
    except Exception as exc:  # noqa: BLE001 - any failure: say which
        return (f"RabbitMQ is not reachable at {url.rpartition('@')[2]} ({exc}); start it "
                "(.ci/run does: rabbitmq-server -detached)")


def delete(url: str, queue: str, exchange: str) -> None:
    async def remove() -> None:
        connection = await aio_pika.connect(url, timeout=10)
        try:
            channel = await connection.channel()
            await channel.queue_delete(queue)
            await channel.exchange_delete(exchange)
        finally:
            await connection.close()

    asyncio.run(remove())


def first_occurrences(bodies: list[dict]) -> list[dict]:
    """The messages in order, a message sent again (delivery is at least once) counted once."""
    seen: set[str] = set()
    kept = []
    for body in bodies:
        key = json.dumps(body, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(body)
    return kept
