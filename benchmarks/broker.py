"""The event broker (endpoints.yml ``event_broker``, type pika) through a real RabbitMQ.

Prints:
- events/s published (confirmed by RabbitMQ; and the CPU each costs) and then consumed,
  through the shared RabbitMQ
  (127.0.0.1:5672 guest/guest; a queue and exchange of this run's own, deleted after);
- events lost across a restart of a throwaway RabbitMQ (its own port and node name) while
  events are being published: must be 0 (duplicates, sent again after a lost confirm, are
  counted apart: delivery is at least once).

    .venv/bin/python benchmarks/broker.py [--events 20000] [--restart kill|stop]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import aio_pika  # noqa: E402

from bot.broker.publisher import EventBroker  # noqa: E402
from bot.broker.settings import PikaSettings  # noqa: E402


def _event(i: int) -> tuple[str, dict]:
    return f"bench-{i % 100}", {"event": "user", "timestamp": time.time(), "text": f"message {i}",
                                "parse_data": {"intent": {"name": "greet", "confidence": 0.9}},
                                "input_channel": "rest", "message_id": str(i)}


class Consumer:
    """Reads the queue in a thread of its own; keeps every message's id."""

    def __init__(self, url: str, queue: str) -> None:
        self.url, self.queue = url, queue
        self.ids: list[str] = []
        self.first = self.last = 0.0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(30)

    async def _run(self) -> None:
        connection = None
        while not self._stop.is_set():
            try:
                connection = await aio_pika.connect(self.url, timeout=5)
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=1000)
                queue = await channel.declare_queue(self.queue, durable=True)
                self._ready.set()
                async with queue.iterator() as messages:
                    async for message in messages:
                        body = json.loads(message.body)
                        now = time.perf_counter()
                        self.first = self.first or now
                        self.last = now
                        self.ids.append(body["message_id"])
                        await message.ack()
                        if self._stop.is_set():
                            break
            except Exception:  # noqa: BLE001 - the broker restarts: connect again
                await asyncio.sleep(0.5)
            finally:
                if connection is not None:
                    try:
                        await connection.close()
                    except Exception:  # noqa: BLE001
                        pass
        self._ready.set()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(set(self.ids)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(set(self.ids)) >= count

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


async def _delete(url: str, queue: str, exchange: str) -> None:
    connection = await aio_pika.connect(url, timeout=5)
    try:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)
    finally:
        await connection.close()


def throughput(events: int) -> None:
    name = f"carebot-bench-{uuid.uuid4().hex[:8]}"
    settings = PikaSettings(host="127.0.0.1", port=5672, queues=(name,), exchange_name=name)
    broker = EventBroker(settings, Path(tempfile.mkdtemp(prefix="carebot-broker-")))
    broker.start()
    consumer = Consumer(settings.url, name)
    try:
        while not broker.stats().connected:
            time.sleep(0.05)
        batch = [_event(i) for i in range(events)]
        cpu = time.process_time()
        started = time.perf_counter()
        for conversation_id, event in batch:  # one call per event: the worst case for a turn
            broker.publish(conversation_id, [event])
        handed = time.perf_counter() - started
        while broker.stats().published < events:
            time.sleep(0.005)
        published = time.perf_counter() - started
        cpu = time.process_time() - cpu
        consumer.start()  # then the queue is read: the consumer's rate on its own
        consumer.wait_for(events, 120)
        consumed = len(set(consumer.ids))
        span = consumer.last - consumer.first
        print(f"shared RabbitMQ 127.0.0.1:5672, {events} events:")
        print(f"  publish() calls      {events / handed:>10,.0f} /s  ({handed * 1e6 / events:.1f} "
              "us each, what a turn pays)")
        print(f"  published, confirmed {events / published:>10,.0f} /s  ({cpu * 1e6 / events:.0f} "
              "us of CPU each, the publishing thread included)")
        print(f"  consumed             {consumed / max(span, 1e-9):>10,.0f} /s  ({consumed} "
              "received)")
    finally:
        consumer.stop()
        broker.close(10)
        asyncio.run(_delete(settings.url, name, name))


def restart(events: int, how: str) -> None:
    from throwaway_rabbit import ThrowawayRabbitMQ

    rabbit = ThrowawayRabbitMQ()
    spool_dir = Path(tempfile.mkdtemp(prefix="carebot-broker-spool-"))
    try:
        rabbit.start()
        settings = PikaSettings(host="127.0.0.1", port=rabbit.port, queues=("events",),
                                retry_delay_in_seconds=1.0)
        broker = EventBroker(settings, spool_dir, max_buffered=events // 10)
        broker.start()
        sent = 0
        interval = 6.0 / events  # spread over ~6 s, the restart in the middle
        started = time.monotonic()
        restarted = False
        while sent < events:
            conversation_id, event = _event(sent)
            broker.publish(conversation_id, [event])
            sent += 1
            if not restarted and sent >= events // 3:
                print(f"  {how} RabbitMQ after {sent} events "
                      f"({broker.stats().published} confirmed)")
                rabbit.kill() if how == "kill" else rabbit.stop()
                down = time.monotonic()
                restarted = True
                restart_thread = threading.Thread(target=rabbit.start)
                restart_thread.start()
            delay = started + sent * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        restart_thread.join()
        print(f"  RabbitMQ back after {time.monotonic() - down:.1f} s; "
              f"{broker.stats().spooled} events went through the disk spool")
        deadline = time.monotonic() + 120
        while broker.stats().published < events and time.monotonic() < deadline:
            time.sleep(0.05)
        broker.close(10)
        consumer = Consumer(rabbit.url, "events")
        consumer.start()
        consumer.wait_for(events, 60)
        time.sleep(0.5)  # duplicates, if any, arrive too
        consumer.stop()
        received = set(consumer.ids)
        lost = sum(1 for i in range(events) if str(i) not in received)
        print(f"throwaway RabbitMQ restarted ({how}) mid-stream, {events} events: "
              f"lost {lost}, duplicates {len(consumer.ids) - len(received)}")
    finally:
        rabbit.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--restart-events", type=int, default=3000)
    parser.add_argument("--restart", choices=("kill", "stop"), default="kill")
    args = parser.parse_args()
    throughput(args.events)
    restart(args.restart_events, args.restart)


if __name__ == "__main__":
    main()
