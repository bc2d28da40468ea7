"""The broker's journal on its own: a process that published and synced events, then died
with SIGKILL before RabbitMQ could take them, leaves them in its journal; the next broker on
the folder sends them first, each with a message_id a consumer can drop copies by. A broker
still running on the same folder (another worker) keeps its own journal: nobody else sends
it. Here the shared RabbitMQ, a queue and exchange of the test's own."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from event_queue import first_occurrences, read_messages
from live_server import REPO, free_port, wait_for
from test_event_broker_spool import SHARED_RABBITMQ, events, queue_name  # noqa: F401

from bot.broker.publisher import EventBroker
from bot.broker.settings import PikaSettings

KILLED_PUBLISHER = """
import json, os, signal, sys
from pathlib import Path
from bot.broker.publisher import EventBroker
from bot.broker.settings import PikaSettings
settings = PikaSettings(host="127.0.0.1", port=int(sys.argv[2]), queues=("q",),
                        exchange_name="q", retry_delay_in_seconds=30)
broker = EventBroker(settings, Path(sys.argv[1]))
broker.start()
broker.publish("killed", json.loads(sys.stdin.read()))
broker.sync(lambda: None)  # as a turn does before it is acknowledged
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_publishers_events_are_sent_by_the_next_and_a_live_ones_are_not(
        tmp_path, queue_name):  # noqa: F811
    nowhere = PikaSettings(host="127.0.0.1", port=free_port(), queues=(queue_name,),
                           exchange_name=queue_name, retry_delay_in_seconds=0.2)
    alive = EventBroker(nowhere, tmp_path)  # another worker on the same folder, still running
    alive.start()
    kept = events("alive", 4)
    alive.publish("alive", kept)
    alive.sync()

    sent = events("killed", 7)
    child = subprocess.run([sys.executable, "-c", KILLED_PUBLISHER, str(tmp_path),
                            str(nowhere.port)], input=json.dumps(sent), text=True,
                           capture_output=True, cwd=REPO, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.returncode == -9, child.stderr
    assert not list(tmp_path.glob("events-*")), "nothing was spooled: it was killed"

    reachable = PikaSettings(host="127.0.0.1", port=5672, queues=(queue_name,),
                             exchange_name=queue_name)
    broker = EventBroker(reachable, tmp_path)
    broker.start()
    broker.publish("later", events("later", 2))
    assert wait_for(lambda: broker.stats().published == 9, 30), broker.stats()
    broker.close()
    ids: list[str | None] = []
    received = read_messages(SHARED_RABBITMQ, queue_name, until=9, timeout=5, message_ids=ids)
    expected = [{"sender_id": "killed", **e} for e in sent]
    assert first_occurrences(received)[:7] == expected  # the dead process's first
    assert [m["sender_id"] for m in first_occurrences(received)[7:]] == ["later", "later"]
    assert not [m for m in received if m["sender_id"] == "alive"], "a live journal was taken"
    # a message's id is the hash of its body: the same for every copy of it
    bodies = [json.dumps({"sender_id": "killed", **e}).encode() for e in sent]
    assert ids[:7] == [hashlib.sha1(b).hexdigest() for b in bodies]

    alive.close(timeout=0.5)  # RabbitMQ unreachable for it: spooled at its clean stop
    assert list(tmp_path.glob("events-*.jsonl"))
    assert not list(tmp_path.glob("journal-*")), list(tmp_path.iterdir())
