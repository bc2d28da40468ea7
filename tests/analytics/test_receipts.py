"""Message receipts: an id is claimed once, ever, whoever asks; an id the log stored while
the receipts were unreachable counts as handled; an unreachable database says so."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from analytics.store.db import make_engine, sqlite_writer
from analytics.store.receipts import MessageReceipts, ReceiptsUnavailable
from analytics.store.records import MessageRecord
from analytics.store.writer import ConversationLog


def test_an_id_is_claimed_once_and_seen_afterwards(engine):
    receipts = MessageReceipts(engine)
    message_id = str(uuid.uuid4())
    assert not receipts.seen(message_id)
    assert receipts.claim(message_id, "web-1")
    assert not receipts.claim(message_id, "web-1")
    assert not receipts.claim(message_id, "web-2")  # another conversation: still a resend
    assert receipts.seen(message_id)


def test_of_many_concurrent_claims_of_one_id_exactly_one_wins(engine):
    receipts = [MessageReceipts(engine) for _ in range(8)]  # as if eight processes
    message_id = str(uuid.uuid4())
    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(lambda r: r[1].claim(message_id, f"web-{r[0]}"),
                             enumerate(receipts)))
    assert wins.count(True) == 1


def test_a_message_stored_without_a_receipt_counts_as_handled(engine):
    message_id = str(uuid.uuid4())
    with ConversationLog(engine) as log:  # handled while the receipts were unreachable
        log.write(MessageRecord(id=message_id, conversation_id="web-3", sender="user",
                                text="hello"))
        assert log.flush(10)
    receipts = MessageReceipts(engine)
    assert receipts.seen(message_id)
    assert not receipts.claim(message_id, "web-4")


def test_an_unreachable_database_raises_receipts_unavailable(tmp_path):
    down = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    try:
        with pytest.raises(ReceiptsUnavailable, match="cannot reach"):
            MessageReceipts(down).seen(str(uuid.uuid4()))
    finally:
        down.dispose()


def test_on_sqlite_a_claim_queues_behind_this_processes_writer_and_goes_on_when_it_is_done(
        engine, tmp_path):
    """The claim waits on the process's writer lock (woken when the writer finishes), not in
    SQLite's busy handler, whose sleeps grow to 100 ms."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the writer lock is SQLite's")
    receipts = MessageReceipts(engine)
    claimed = threading.Event()
    with sqlite_writer(engine):  # the conversation log's batch, say
        worker = threading.Thread(target=lambda: claimed.set() if receipts.claim(
            str(uuid.uuid4()), "web-1") else None)
        worker.start()
        assert not claimed.wait(0.3)  # it waits for the writer
        other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        with sqlite_writer(other):  # another database's writers do not wait for this one
            pass
    worker.join(10)
    assert claimed.is_set()  # and claims as soon as the writer is done
