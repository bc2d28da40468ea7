"""The conversation log writes everything, in order, exactly once, whatever the database does."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from analytics.store.db import make_engine, migrate
from analytics.store.reads import ConversationStore
from analytics.store.records import ConversationRecord, EventRecord, MessageRecord, naive_utc_now
from analytics.store.schema import Conversation, Event, Message
from analytics.store.writer import ConversationLog


def conversation_turns(conversation_id: str, turns: int) -> list:
    """A conversation's state and its messages and events, as the bot would write them."""
    started = naive_utc_now()
    records: list = [ConversationRecord(id=conversation_id, started_at=started)]
    for turn in range(turns):
        records.append(
            MessageRecord(conversation_id=conversation_id, sender="user", text=f"q{turn}")
        )
        records.append(EventRecord(conversation_id=conversation_id, type="action", actor="bot"))
        records.append(
            MessageRecord(conversation_id=conversation_id, sender="bot", text=f"a{turn}")
        )
        records.append(
            ConversationRecord(
                id=conversation_id,
                started_at=started,
                last_active_at=naive_utc_now(),
                turns=turn + 1,
                tracker_state={"slots": {"turn": turn + 1}},
            )
        )
    return records


def count(engine, model, conversation_id: str | None = None) -> int:
    query = select(func.count()).select_from(model)
    if conversation_id is not None:
        query = query.where(model.conversation_id == conversation_id)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def wait_for_failed_attempt(caplog, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not any("Could not write" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the writer never hit the database failure"
        time.sleep(0.02)


def test_log_writes_every_conversation_message_and_event(engine, tmp_path):
    log = ConversationLog(engine, spool_dir=tmp_path / "spool", batch_size=7)
    log.start()
    for n in range(5):
        for record in conversation_turns(f"web-{n}", turns=10):
            log.write(record)
    assert log.flush(timeout=20)
    log.close()
    assert (count(engine, Conversation), count(engine, Message), count(engine, Event)) == (
        5,
        100,
        50,
    )


def test_messages_come_back_in_the_order_they_were_written(engine):
    with ConversationLog(engine, batch_size=3) as log:
        for record in conversation_turns("web-order", turns=20):
            log.write(record)
    texts = [m.text for m in ConversationStore(engine, bcrypt_rounds=4).messages("web-order")]
    assert texts == [t for turn in range(20) for t in (f"q{turn}", f"a{turn}")]


def test_latest_conversation_state_wins_including_tracker_state(engine):
    store = ConversationStore(engine, bcrypt_rounds=4)
    with ConversationLog(engine) as log:
        for record in conversation_turns("web-state", turns=3):
            log.write(record)
        assert log.flush(timeout=10)
        log.write(
            ConversationRecord(
                id="web-state", status="escalated", escalated=True, tracker_state={"slots": {}}
            )
        )
    state = store.load_conversation("web-state")
    assert (state.status, state.escalated, state.tracker_state) == (
        "escalated",
        True,
        {"slots": {}},
    )


def test_a_message_written_before_its_conversation_is_kept(engine):
    with ConversationLog(engine) as log:
        log.write(MessageRecord(conversation_id="web-early", sender="user", text="hello?"))
        assert log.flush(timeout=10)
        log.write(ConversationRecord(id="web-early", channel="socketio", turns=1))
    state = ConversationStore(engine, bcrypt_rounds=4).load_conversation("web-early")
    assert (state.channel, state.turns, count(engine, Message, "web-early")) == ("socketio", 1, 1)


def test_writing_the_same_records_again_stores_them_once(engine):
    records = conversation_turns("web-retry", turns=5)
    with ConversationLog(engine) as log:
        for record in records:
            log.write(record)
        assert log.flush(timeout=10)
        for record in records[:13]:  # a batch retried after its commit was not acknowledged
            log.write(record)
    assert (count(engine, Message, "web-retry"), count(engine, Event, "web-retry")) == (10, 5)
    assert ConversationStore(engine, bcrypt_rounds=4).load_conversation("web-retry").turns == 3


def test_caller_changing_a_record_after_writing_it_does_not_change_what_is_stored(engine):
    state = {"slots": {"email": "a@example.com"}}
    with ConversationLog(engine) as log:
        log.write(ConversationRecord(id="web-mutate", tracker_state=state))
        state["slots"]["email"] = "changed@example.com"
    stored = ConversationStore(engine, bcrypt_rounds=4).load_conversation("web-mutate")
    assert stored.tracker_state == {"slots": {"email": "a@example.com"}}


def test_data_that_is_not_json_is_refused_at_write_time(engine):
    log = ConversationLog(engine)
    with pytest.raises(TypeError, match="must be JSON-serialisable"):
        log.write(
            MessageRecord(conversation_id="x", sender="bot", text="hi", data={"when": object()})
        )


def test_writing_to_a_closed_log_raises(engine):
    log = ConversationLog(engine)
    log.start()
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        log.write(ConversationRecord(id="late"))


def test_a_record_the_database_refuses_is_set_aside_and_the_rest_is_written(engine, tmp_path):
    spool = tmp_path / "spool"
    with ConversationLog(engine, spool_dir=spool) as log:
        log.write(ConversationRecord(id="web-bad", customer_id=424242))  # no such customer
        log.write(MessageRecord(conversation_id="web-ok", sender="user", text="hi"))
        assert log.flush(timeout=10)
    rejected = [json.loads(line) for line in (spool / "rejected.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rejected] == ["web-bad"]
    assert count(engine, Message, "web-ok") == 1


def test_log_waits_out_a_locked_sqlite_database_and_loses_nothing(sqlite_url, caplog):
    migrate(sqlite_url)
    engine = make_engine(sqlite_url, busy_timeout=0.05)
    locker = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # e.g. a backup or a long migration holding the file
    log = ConversationLog(engine, max_backoff=0.2)
    log.start()
    try:
        for record in conversation_turns("web-locked", turns=10):
            log.write(record)
        with caplog.at_level(logging.WARNING, logger="analytics.store.writer"):
            wait_for_failed_attempt(caplog)
        assert log.pending > 0
        locker.execute("ROLLBACK")
        assert log.flush(timeout=10)
        assert count(engine, Message, "web-locked") == 20
    finally:
        locker.close()
        log.close(timeout=1)
        engine.dispose()


def test_log_reconnects_after_postgres_drops_its_connections(postgres_url, caplog):
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    name = make_url(postgres_url).database
    admin = create_engine(
        make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    log = ConversationLog(engine, max_backoff=0.2)
    log.start()
    try:
        log.write(ConversationRecord(id="pg-outage"))
        assert log.flush(timeout=10)  # the pool now holds a live connection
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        for record in conversation_turns("pg-outage", turns=10):
            log.write(record)
        with caplog.at_level(logging.WARNING, logger="analytics.store.writer"):
            wait_for_failed_attempt(caplog)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert log.flush(timeout=15)
        assert (count(engine, Message, "pg-outage"), count(engine, Event, "pg-outage")) == (20, 10)
    finally:
        log.close(timeout=1)
        engine.dispose()
        admin.dispose()


def test_records_left_at_close_are_spooled_and_written_by_the_next_start(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'not-yet' / 'carebot.db'}"  # its directory does not exist
    spool = tmp_path / "spool"
    records = conversation_turns("web-spool", turns=5)
    down = make_engine(url, busy_timeout=0.05)
    log = ConversationLog(down, spool_dir=spool, max_backoff=0.1)
    log.start()
    for record in records:
        log.write(record)
    assert log.close(timeout=0.3) is False
    down.dispose()
    assert len(list(spool.glob("spool-*.jsonl"))) == 1

    (tmp_path / "not-yet").mkdir()
    migrate(url)
    engine = make_engine(url)
    with ConversationLog(engine, spool_dir=spool) as log:
        log.write(MessageRecord(conversation_id="web-spool", sender="agent", text="back again"))
        assert log.flush(timeout=10)
    texts = [m.text for m in ConversationStore(engine, bcrypt_rounds=4).messages("web-spool")]
    assert texts[-1] == "back again" and len(texts) == 11
    assert list(spool.glob("spool-*.jsonl")) == []
    engine.dispose()


def test_a_spool_that_cannot_be_written_yet_is_kept_for_the_start_after(tmp_path):
    url = f"sqlite:///{tmp_path / 'never' / 'carebot.db'}"
    spool = tmp_path / "spool"
    down = make_engine(url, busy_timeout=0.05)
    for attempt in range(2):
        log = ConversationLog(down, spool_dir=spool, max_backoff=0.1)
        log.start()
        log.write(MessageRecord(conversation_id="web-down", sender="user", text=f"try {attempt}"))
        log.close(timeout=0.2)
    down.dispose()
    lines = [
        json.loads(line)["text"]
        for path in spool.glob("spool-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert sorted(lines) == ["try 0", "try 1"]


def test_naive_and_aware_timestamps_are_stored_as_utc(engine):
    from datetime import UTC, datetime, timezone

    aware = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with ConversationLog(engine) as log:
        log.write(
            MessageRecord(conversation_id="web-tz", sender="user", text="hi", created_at=aware)
        )
    stored = ConversationStore(engine, bcrypt_rounds=4).messages("web-tz")[0].created_at
    assert stored == aware.astimezone(UTC).replace(tzinfo=None)


def test_close_wakes_a_flush_waiting_in_another_thread(tmp_path):
    import threading

    down = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", busy_timeout=0.05)
    log = ConversationLog(down, spool_dir=tmp_path / "spool", max_backoff=0.1)
    log.start()
    log.write(MessageRecord(conversation_id="never", sender="user", text="waiting"))
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(log.flush(timeout=60)))
    waiter.start()
    started = time.monotonic()
    log.close(timeout=0.2)
    waiter.join(timeout=10)
    down.dispose()
    assert results == [False] and time.monotonic() - started < 5
