"""RabbitMQ restarted mid-conversation loses no event: a RabbitMQ of the test's own (its own
port and node) is killed and started again while a real server keeps talking; the customer's
turns go on meanwhile, the events wait (in memory, and on disk across a server restart) and
arrive once RabbitMQ is back."""

from __future__ import annotations

import time

import pytest
from event_queue import first_occurrences, project_with_broker, read_messages
from live_server import start_server, wait_for
from throwaway_rabbit import RabbitMQUnavailable, ThrowawayRabbitMQ

pytestmark = pytest.mark.slow

QUEUE = "carebot_events"
EXCHANGE = "rasa-exchange"  # Rasa's default


@pytest.fixture
def rabbit():
    try:
        node = ThrowawayRabbitMQ()
        node.start()
    except RabbitMQUnavailable as exc:
        pytest.skip(str(exc))
    yield node
    node.destroy()


def test_rabbitmq_restarted_mid_conversation_loses_no_event(seeded_database_url, tmp_path,
                                                            rabbit):
    project = project_with_broker(tmp_path / "shop", rabbit.port, QUEUE, EXCHANGE)
    spool = tmp_path / "spool"
    env = {"RABBITMQ_TEST_PASSWORD": "guest", "CAREBOT_SPOOL_DIR": str(spool)}
    sender = "broker-restart"
    server = start_server(seeded_database_url, tmp_path, project_dir=project, **env)
    try:
        assert server.say(sender, "hi")
        rabbit.kill()
        # the customer is answered while RabbitMQ is gone, as fast as ever
        started = time.monotonic()
        assert server.say(sender, "where is my order")
        assert server.say(sender, "A10001")
        assert time.monotonic() - started < 30
        assert wait_for(lambda: "is unreachable" in server.log(), 15), server.log()
        rabbit.start()
        assert wait_for(lambda: "is back after" in server.log(), 30), server.log()
        assert server.say(sender, "jane.doe@example.com")
        rabbit.kill()
        assert server.say(sender, "how long does shipping take?")
        # the server stops while RabbitMQ is away: what waits goes to the spool folder...
        assert server.stop() == 0
    finally:
        server.stop()
    assert list((spool / "event-broker").glob("events-*.jsonl")), server.log()
    rabbit.start()
    # ...and the next server on that folder sends it
    server = start_server(seeded_database_url, tmp_path, project_dir=project, **env)
    try:
        assert server.say(sender, "thanks, bye")
        tracker = server.tracker(sender)
        expected = [{"sender_id": sender, **event} for event in tracker["events"]]
        received = first_occurrences(read_messages(rabbit.url, QUEUE, until=len(expected)))
    finally:
        assert server.stop() == 0
    missing = [body for body in expected if body not in received]
    assert missing == []
    assert [body for body in received if body["sender_id"] == sender] == expected
    assert not list((spool / "event-broker").glob("events-*")), "the spool was not emptied"
