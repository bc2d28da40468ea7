"""A real server whose endpoints.yml names a RabbitMQ (the shared one, a queue and exchange of
this test's own): a consumer receives every tracker event of a scripted conversation, in
order, in Rasa's event-broker format (the tracker's event dict plus sender_id)."""

from __future__ import annotations

import json
import uuid

import pytest
from event_queue import (
    delete,
    first_occurrences,
    project_with_broker,
    read_messages,
    unreachable_reason,
)
from live_server import PASSWORD, start_server

pytestmark = pytest.mark.slow

SHARED_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
SCRIPT = ("hi", "where is my order", "A10001", "jane.doe@example.com", "thanks, bye")


@pytest.fixture
def queue_name():
    reason = unreachable_reason(SHARED_RABBITMQ)
    if reason:
        pytest.skip(reason)
    name = f"carebot-test-events-{uuid.uuid4().hex[:8]}"
    yield name
    delete(SHARED_RABBITMQ, name, name)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_consumer_receives_every_event_of_a_conversation_in_rasa_format(
        seeded_database_url, tmp_path, queue_name, workers):
    project = project_with_broker(tmp_path / "shop", 5672, queue_name, queue_name)
    server = start_server(seeded_database_url, tmp_path, project_dir=project, workers=workers,
                          RABBITMQ_TEST_PASSWORD="guest")
    sender = f"broker-{uuid.uuid4().hex[:8]}"
    try:
        for text in SCRIPT:
            assert server.say(sender, text), text
        # an event appended through Rasa's HTTP API is streamed too
        agent = server.login("alice", PASSWORD)
        response = agent.post(f"{server.url}/conversations/{sender}/tracker/events",
                              json={"event": "slot", "name": "order_id", "value": "A10002"},
                              timeout=30)
        assert response.status_code == 200, response.text
        tracker = server.tracker(sender)
    finally:
        assert server.stop() == 0
    # one publisher, with its own connection, in each worker
    assert server.log().count("event broker: connected to RabbitMQ 127.0.0.1:5672") == workers

    expected = [{"sender_id": sender, **event} for event in tracker["events"]]
    received = [body for body in first_occurrences(
        read_messages(SHARED_RABBITMQ, queue_name, until=len(expected)))
        if body.get("sender_id") == sender]
    if workers > 1:
        # each worker publishes the turns it ran: every event once, in each worker's order
        def key(body: dict) -> str:
            return json.dumps(body, sort_keys=True)

        assert sorted(map(key, received)) == sorted(map(key, expected))
        received.sort(key=expected.index)
    assert received == expected
    kinds = [body["event"] for body in received]
    assert {"user", "bot", "action", "slot"} <= set(kinds), kinds
    assert [b for b in received if not isinstance(b.get("timestamp"), float)] == []
    user = [body for body in received if body["event"] == "user"]
    assert [body["text"] for body in user] == list(SCRIPT)
    assert user[0]["parse_data"]["intent"]["name"] and user[0]["input_channel"] == "rest"
    bot = next(body for body in received if body["event"] == "bot")
    assert bot["text"] and "data" in bot
    assert received[-1] == {"sender_id": sender, "event": "slot", "name": "order_id",
                            "value": "A10002", "timestamp": received[-1]["timestamp"]}
