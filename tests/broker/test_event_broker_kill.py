"""Acknowledged means streamed, even across ``kill -9``: with RabbitMQ down, a customer's
acknowledged turns wait in the broker's journal (fsynced before each reply), not only in the
server's memory. The server is killed with SIGKILL, RabbitMQ comes back, the server starts
again on the same spool folder, and a consumer receives every event of the conversation, in
Rasa's format, as its tracker holds them."""

from __future__ import annotations

import os
import signal

import pytest
from event_queue import first_occurrences, project_with_broker, read_messages
from live_server import start_server, wait_for
from throwaway_rabbit import RabbitMQUnavailable

pytestmark = pytest.mark.slow

QUEUE = "carebot_events"
EXCHANGE = "rasa-exchange"
SCRIPT = ["hi", "where is my order", "A10001", "jane.doe@example.com",
          "how long does shipping take?", "thanks, bye"]



def test_events_of_acknowledged_turns_survive_a_kill_9_while_rabbitmq_is_down(
        seeded_database_url, tmp_path, stopped_rabbit):
    rabbit = stopped_rabbit
    project = project_with_broker(tmp_path / "shop", rabbit.port, QUEUE, EXCHANGE)
    spool = tmp_path / "spool"
    env = {"RABBITMQ_TEST_PASSWORD": "guest", "CAREBOT_SPOOL_DIR": str(spool)}
    sender = "broker-kill-9"
    server = start_server(seeded_database_url, tmp_path, project_dir=project, **env)
    try:
        for text in SCRIPT:  # RabbitMQ is down: every turn is answered all the same
            assert server.say(sender, text)
        assert wait_for(lambda: "is unreachable" in server.log(), 15), server.log()
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)
    assert not list((spool / "event-broker").glob("events-*.jsonl")), "nothing was spooled"
    try:
        rabbit.start()
    except RabbitMQUnavailable as exc:
        pytest.skip(str(exc))
    server = start_server(seeded_database_url, tmp_path, project_dir=project, **env)
    try:
        tracker = server.tracker(sender)
        expected = [{"sender_id": sender, **event} for event in tracker["events"]]
        assert sum(e["event"] == "user" for e in expected) == len(SCRIPT)
        received = first_occurrences(read_messages(rabbit.url, QUEUE, until=len(expected),
                                                   timeout=30))
    finally:
        assert server.stop() == 0
    missing = [body for body in expected if body not in received]
    assert missing == [], f"{len(missing)} of {len(expected)} events never reached RabbitMQ"
    assert [body for body in received if body["sender_id"] == sender] == expected
    assert "sent again from its journal" in server.log(), server.log()
    # all confirmed: the journal, the dead process's included, is gone after a clean stop
    assert not list((spool / "event-broker").glob("journal-*")), \
        list((spool / "event-broker").iterdir())
