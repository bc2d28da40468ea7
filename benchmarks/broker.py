"""The event broker (endpoints.yml ``event_broker``, type pika) through a real RabbitMQ.

Prints:
- events/s published (confirmed by RabbitMQ; and the CPU each costs) and then consumed,
  through the shared RabbitMQ
  (127.0.0.1:5672 guest/guest; a queue and exchange of this run's own, deleted after);
- events lost across a restart of a throwaway RabbitMQ (its own port and node name) while
  events are being published: must be 0 (duplicates, sent again after a lost confirm, are
  counted apart: delivery is at least once);
- what the broker's journal (delivery that survives kill -9) adds to a turn: a turn's durable
  write as ConversationService._keep_turn does it (benchmarks/durable_ack.py's records, the
  conversation log's fsync) with --turn-events events published, the journal off and on, by
  1 and 10 threads at once (concurrent fsyncs are shared).

    .venv/bin/python benchmarks/broker.py [--events 20000] [--restart kill|stop]
        [--turns 500] [--threads 1 10] [--only throughput|restart|turn]
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
sys.path.insert(0, str(REPO / "benchmarks"))

import aio_pika  # noqa: E402
from durable_ack import percentile, turn_records  # noqa: E402

from analytics.store.db import make_engine, migrate  # noqa: E402
from analytics.store.writer import ConversationLog  # noqa: E402
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


def _turn_events(conversation_id: str, n: int) -> list[dict]:
    """A demo-shop turn's events: the user's (with its parse), then actions, a bot reply, a
    slot..."""
    now = time.time()
    user = {"event": "user", "timestamp": now, "text": "where is my order A10002",
            "parse_data": {"intent": {"name": "order_status", "confidence": 0.97},
                           "entities": [{"entity": "order_id", "value": "A10002", "start": 18,
                                         "end": 24, "extractor": "RegexEntityExtractor"}],
                           "intent_ranking": [{"name": f"intent_{i}", "confidence": 0.01}
                                              for i in range(10)],
                           "text": "where is my order A10002"},
            "input_channel": "rest", "message_id": uuid.uuid4().hex}
    others = [{"event": "action", "timestamp": now, "name": "order_status_form",
               "policy": "RulePolicy", "confidence": 1.0},
              {"event": "bot", "timestamp": now, "text": "Your order A10002 has shipped.",
               "data": {"buttons": None}, "metadata": {"utter_action": "utter_order_status"}},
              {"event": "slot", "timestamp": now, "name": "order_id", "value": "A10002"},
              {"event": "action", "timestamp": now, "name": "action_listen"}]
    return [user, *(others[i % len(others)] for i in range(n - 1))]


def turn_cost(turns: int, thread_counts: list[int], events: int) -> None:
    """A turn's durable write with the event broker's journal off and on."""
    name = f"carebot-bench-{uuid.uuid4().hex[:8]}"
    settings = PikaSettings(host="127.0.0.1", port=5672, queues=(name,), exchange_name=name)
    print(f"a turn's durable write (log records + {events} events published, fsyncs), "
          f"{turns} turns; the shared RabbitMQ confirming meanwhile:")
    print(f"{'journal':>8}{'threads':>8}{'turn p50 ms':>13}{'p99 ms':>9}"
          f"{'publish() p50 ms':>18}{'p99 ms':>9}")
    try:
        for threads in thread_counts:
            for journal in (False, True):
                with tempfile.TemporaryDirectory(prefix="carebot-turn-") as tmp:
                    url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                    migrate(url)
                    engine = make_engine(url)
                    broker = EventBroker(settings, Path(tmp) / "spool" / "event-broker",
                                         journal=journal)
                    broker.start()
                    with ConversationLog(engine, spool_dir=Path(tmp) / "spool") as log:
                        totals, parts = _turns(log, broker, threads, turns, events)
                    broker.close(10)
                    engine.dispose()
                print(f"{'on' if journal else 'off':>8}{threads:>8}"
                      f"{percentile(totals, 50) * 1e3:>13.2f}{percentile(totals, 99) * 1e3:>9.2f}"
                      f"{percentile(parts, 50) * 1e3:>18.3f}{percentile(parts, 99) * 1e3:>9.2f}",
                      flush=True)
    finally:
        asyncio.run(_delete(settings.url, name, name))


def _turns(log: ConversationLog, broker: EventBroker, threads: int, turns: int,
           events: int) -> tuple[list[float], list[float]]:
    totals: list[float] = []
    parts: list[float] = []  # publish(): the broker's part before the fsyncs
    lock = threading.Lock()

    def customer(n: int) -> None:
        conversation_id = f"bench-{n}-{uuid.uuid4().hex[:6]}"
        for _ in range(turns // threads):
            new_events = _turn_events(conversation_id, events)
            records = turn_records(conversation_id, 40)
            started = time.perf_counter()
            broker.publish(conversation_id, new_events)  # save_state: events, then records
            published = time.perf_counter()
            for record in records:
                log.write(record)
            broker.sync(log.sync)  # as _keep_turn: both fsyncs at once
            done = time.perf_counter()
            with lock:
                totals.append(done - started)
                parts.append(published - started)

    workers = [threading.Thread(target=customer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return totals, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--restart-events", type=int, default=3000)
    parser.add_argument("--restart", choices=("kill", "stop"), default="kill")
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--turn-events", type=int, default=5, help="events a turn publishes")
    parser.add_argument("--only", choices=("throughput", "restart", "turn"))
    args = parser.parse_args()
    if args.only in (None, "throughput"):
        throughput(args.events)
    if args.only in (None, "restart"):
        restart(args.restart_events, args.restart)
    if args.only in (None, "turn"):
        turn_cost(args.turns, args.threads, args.turn_events)


if __name__ == "__main__":
    main()
