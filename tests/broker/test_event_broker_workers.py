"""`carebot serve --workers 2` with an event broker: each worker keeps its own journal in the
shared spool folder. RabbitMQ (the test's own) is down while customers talk to both workers;
one worker is killed with SIGKILL and the supervisor starts another, which takes over the
dead one's journal (not the live one's); RabbitMQ comes back: every event of every
conversation reaches it, and after a clean stop no journal is left."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest
from event_queue import first_occurrences, project_with_broker, read_messages
from live_server import start_server, wait_for

pytestmark = pytest.mark.slow

QUEUE = "carebot_events"
EXCHANGE = "rasa-exchange"
CONVERSATIONS = 6
SCRIPT = ["hi", "where is my order", "A10001", "thanks, bye"]


def workers(supervisor: int) -> set[int]:
    """The supervisor's worker processes (multiprocessing's spawned children)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    found = set()
    for pid in children:
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(int(pid))
        except FileNotFoundError:
            pass
    return found



def test_a_killed_workers_journal_is_sent_by_its_replacement(seeded_database_url, tmp_path,
                                                             stopped_rabbit):
    rabbit = stopped_rabbit
    project = project_with_broker(tmp_path / "shop", rabbit.port, QUEUE, EXCHANGE)
    spool = tmp_path / "spool"
    server = start_server(seeded_database_url, tmp_path, project_dir=project, workers=2,
                          RABBITMQ_TEST_PASSWORD="guest", CAREBOT_SPOOL_DIR=str(spool))
    senders = [f"workers-kill-{uuid.uuid4().hex[:8]}" for _ in range(CONVERSATIONS)]
    try:
        assert wait_for(lambda: len(workers(server.process.pid)) == 2, 120), server.log()
        for text in SCRIPT:  # new connections each time: both workers take turns
            for sender in senders:
                assert server.say(sender, text)
        journals = {p.name.split("-")[1] for p in (spool / "event-broker").glob("journal-*")}
        assert len(journals) == 2, "each worker has a journal of its own"
        before = workers(server.process.pid)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: len(workers(server.process.pid) - before) == 1, 60), \
            server.log()
        assert wait_for(lambda: "sent again from its journal" in server.log(), 120), \
            server.log()
        rabbit.start()
        trackers = {sender: server.tracker(sender) for sender in senders}
        expected = [{"sender_id": s, **e} for s, t in trackers.items() for e in t["events"]]
        received = first_occurrences(read_messages(rabbit.url, QUEUE, until=len(expected),
                                                   timeout=60))
    finally:
        assert server.stop() == 0
    missing = [body for body in expected if body not in received]
    assert missing == [], f"{len(missing)} of {len(expected)} events never reached RabbitMQ"
    # (order is kept per process only: a conversation's turns went to both workers, and the
    # dead one's events were sent after the live one's)
    assert not list((spool / "event-broker").glob("journal-*")), \
        list((spool / "event-broker").iterdir())
