"""The publisher on its own: while RabbitMQ cannot be reached the events are kept, at most
``max_buffered`` in memory and the rest on disk, and all of them, in order, reach RabbitMQ
once one can be reached (here: the shared RabbitMQ, a queue and exchange of the test's own)."""

from __future__ import annotations

import time
import uuid

import pytest
from event_queue import delete, first_occurrences, read_messages, unreachable_reason
from live_server import free_port, wait_for

from bot.broker.publisher import EventBroker
from bot.broker.settings import PikaSettings

SHARED_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def queue_name():
    reason = unreachable_reason(SHARED_RABBITMQ)
    if reason:
        pytest.skip(reason)
    name = f"carebot-test-spool-{uuid.uuid4().hex[:8]}"
    yield name
    delete(SHARED_RABBITMQ, name, name)


def events(conversation: str, count: int) -> list[dict]:
    return [{"event": "user", "timestamp": time.time(), "text": f"{conversation} {i}",
             "parse_data": {"intent": {"name": "greet", "confidence": 0.9}}}
            for i in range(count)]


def test_events_wait_in_memory_and_on_disk_until_rabbitmq_can_be_reached(tmp_path, queue_name):
    nowhere = PikaSettings(host="127.0.0.1", port=free_port(), queues=(queue_name,),
                           exchange_name=queue_name, retry_delay_in_seconds=0.2)
    broker = EventBroker(nowhere, tmp_path, max_buffered=20)
    broker.start()
    first, second = events("c1", 30), events("c2", 25)
    started = time.perf_counter()
    broker.publish("c1", first)
    broker.publish("c2", second)
    assert time.perf_counter() - started < 0.05  # publish never waits for RabbitMQ
    assert wait_for(lambda: broker.stats().spooled >= 35, 10), broker.stats()
    assert broker.stats().waiting <= 20 and not broker.stats().connected
    broker.close(timeout=1)
    assert broker.stats().spooled == 55 and list(tmp_path.glob("events-*.jsonl"))

    reachable = PikaSettings(host="127.0.0.1", port=5672, queues=(queue_name,),
                             exchange_name=queue_name)
    broker = EventBroker(reachable, tmp_path)
    broker.start()
    broker.publish("c1", events("c1-later", 3))
    assert wait_for(lambda: broker.stats().published == 58, 30), broker.stats()
    broker.close()
    assert not list(tmp_path.glob("events-*"))
    received = first_occurrences(read_messages(SHARED_RABBITMQ, queue_name, until=58))
    expected = ([{"sender_id": "c1", **e} for e in first]
                + [{"sender_id": "c2", **e} for e in second])
    assert received[:55] == expected
    assert [m["text"] for m in received[55:]] == ["c1-later 0", "c1-later 1", "c1-later 2"]


def test_an_event_that_is_not_json_is_logged_and_the_rest_go_on(tmp_path, queue_name, caplog):
    settings = PikaSettings(host="127.0.0.1", port=5672, queues=(queue_name,),
                            exchange_name=queue_name)
    broker = EventBroker(settings, tmp_path)
    broker.start()
    broker.publish("c1", ["not an event", {"event": "slot", "name": "a", "value": {1, 2},
                                           "timestamp": 1.0}, {"event": "restart",
                                                               "timestamp": 2.0}])
    assert wait_for(lambda: broker.stats().published == 2, 20), broker.stats()
    broker.close()
    assert "cannot publish 'not an event'" in caplog.text
    received = read_messages(SHARED_RABBITMQ, queue_name, until=2)
    assert [m["event"] for m in received] == ["slot", "restart"]
