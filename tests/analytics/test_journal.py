"""The conversation log's journal: what sync() returned for survives kill -9; files go away
once the database has their records; a live process's journal is never taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from sqlalchemy import func, select

from analytics.store.db import make_engine, migrate
from analytics.store.journal import Journal
from analytics.store.records import MessageRecord
from analytics.store.schema import Message
from analytics.store.writer import ConversationLog

CHILD = textwrap.dedent("""
    import sys
    from analytics.store.db import make_engine
    from analytics.store.records import MessageRecord
    from analytics.store.writer import ConversationLog

    url, spool, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # a flush interval far longer than the test: nothing reaches the database before the kill
    log = ConversationLog(make_engine(url), spool_dir=spool, flush_interval=600, batch_size=10**6)
    log.start()
    for i in range(n):
        log.write(MessageRecord(id=f"00000000-0000-4000-8000-{i:012d}",
                                conversation_id="killed", sender="user", text=f"m{i}"))
    log.sync()
    print("synced", flush=True)
    sys.stdin.read()  # wait to be killed
""")


def stored(engine, conversation_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Message)
                            .where(Message.conversation_id == conversation_id)).scalar_one()


def journal_files(directory) -> list[str]:
    return sorted(p.name for p in directory.glob("journal-*"))


def test_records_synced_before_a_kill_9_are_stored_by_the_next_start(sqlite_url, tmp_path):
    migrate(sqlite_url)
    spool = tmp_path / "spool"
    child = subprocess.Popen([sys.executable, "-c", CHILD, sqlite_url, str(spool), "300"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "synced"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    engine = make_engine(sqlite_url)
    assert stored(engine, "killed") == 0  # the kill came before any write to the database
    with ConversationLog(engine, spool_dir=spool) as log:
        assert log.flush(timeout=10)
        assert stored(engine, "killed") == 300
    assert journal_files(spool) == []
    engine.dispose()


def test_a_closed_log_leaves_no_journal_behind(engine, tmp_path):
    spool = tmp_path / "spool"
    with ConversationLog(engine, spool_dir=spool) as log:
        log.write(MessageRecord(conversation_id="tidy", sender="user", text="hello"))
        log.sync()
        assert journal_files(spool) != []
    assert journal_files(spool) == []
    assert stored(engine, "tidy") == 1


def test_journal_segments_are_deleted_once_the_database_has_their_records(engine, tmp_path):
    spool = tmp_path / "spool"
    log = ConversationLog(engine, spool_dir=spool)
    log._journal = Journal(spool, segment_bytes=2_000)  # tiny segments, many rotations
    log.start()
    try:
        for i in range(200):
            log.write(MessageRecord(conversation_id="rotating", sender="user", text=f"m{i}"))
        log.sync()
        assert log.flush(timeout=10)
        log.write(MessageRecord(conversation_id="rotating", sender="user", text="last"))
        assert log.flush(timeout=10)
        segments = [name for name in journal_files(spool) if name.endswith(".jsonl")]
        assert len(segments) <= 1  # only the current one: 200 records made ~15 segments
    finally:
        log.close()


def test_a_second_process_never_replays_the_journal_of_a_live_one(engine, tmp_path):
    spool = tmp_path / "spool"
    down = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", busy_timeout=0.05)
    live = ConversationLog(down, spool_dir=spool, max_backoff=0.1)
    live.start()
    try:
        live.write(MessageRecord(conversation_id="owned", sender="user", text="mine"))
        live.sync()
        with ConversationLog(engine, spool_dir=spool) as other:
            assert other.flush(timeout=10)
            time.sleep(0.2)
        assert stored(engine, "owned") == 0
        assert any(name.endswith(".jsonl") for name in journal_files(spool))
    finally:
        live.close(timeout=0.2)  # unwritten: spooled for the next start
        down.dispose()


def test_a_torn_last_line_of_a_killed_process_is_skipped(engine, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "journal-dead-1.lock").write_text("")
    good = ('{"kind": "message", "id": "00000000-0000-4000-8000-000000000001", '
            '"conversation_id": "torn", "sender": "user", "text": "whole", "intent": null, '
            '"confidence": null, "entities": [], "sentiment_label": null, '
            '"sentiment_score": null, "data": {}, "created_at": "2026-01-01T00:00:00"}')
    (spool / "journal-dead-1-000001.jsonl").write_text(good + "\n" + good[:40])
    with ConversationLog(engine, spool_dir=spool) as log:
        assert log.flush(timeout=10)
    assert stored(engine, "torn") == 1
    assert journal_files(spool) == []
