"""A second export writes only what is new, rewrites only the days that changed, and leaves a
folder that reads the same as the store whatever happened in between."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from export_store import add_history, parquet, parquet_counts, part_files, store_counts
from sqlalchemy import Engine, delete, func, insert, select, update

from analytics.demo.synthetic import REFERENCE
from analytics.export import ExportError, export_parquet
from analytics.export.manifest import MANIFEST, export_lock
from analytics.store.schema import (
    Conversation,
    ConversationFacts,
    ConversationIntentFacts,
    Escalation,
    Event,
    Message,
)


def _written(summary) -> dict[str, int]:
    return {t.name: t.rows_written for t in summary.tables}


def test_a_second_export_writes_only_the_new_rows(store: Engine, tmp_path: Path):
    export_parquet(store, tmp_path)
    before_counts, before_files = store_counts(store), part_files(tmp_path)

    add_history(store, 40, start=5000, reference=REFERENCE + timedelta(days=10), days=3)
    summary = export_parquet(store, tmp_path)

    after = store_counts(store)
    assert _written(summary) == {t: after[t] - before_counts[t] for t in after}
    assert all(n > 0 for n in _written(summary).values())
    assert all(t.partitions_replaced == 0 for t in summary.tables)
    files = part_files(tmp_path)
    assert {f: files[f] for f in before_files} == before_files  # old files untouched
    assert parquet_counts(tmp_path) == after


def test_nothing_new_writes_nothing(store: Engine, tmp_path: Path):
    export_parquet(store, tmp_path)
    files = part_files(tmp_path)
    summary = export_parquet(store, tmp_path)
    assert summary.rows_written == 0
    assert part_files(tmp_path) == files


def test_a_conversation_resolved_later_rewrites_only_its_day(store: Engine, tmp_path: Path):
    export_parquet(store, tmp_path)
    with store.begin() as conn:
        escalation = conn.execute(select(Escalation.id, Escalation.conversation_id,
                                         Conversation.started_at)
                                  .join(Conversation)
                                  .where(Escalation.status == "claimed")
                                  .order_by(Escalation.id).limit(1)).one()
        conn.execute(update(Conversation).where(Conversation.id == escalation.conversation_id)
                     .values(status="resolved"))
        conn.execute(update(Escalation).where(Escalation.id == escalation.id)
                     .values(status="resolved", resolved_at=escalation.started_at
                             + timedelta(hours=1)))
        same_day = conn.execute(select(func.count()).where(
            func.date(Conversation.started_at) == func.date(escalation.started_at))
        ).scalar_one()
    files = part_files(tmp_path)

    summary = export_parquet(store, tmp_path)

    conversations = summary.table("conversations")
    assert (conversations.partitions_written, conversations.partitions_replaced) == (1, 1)
    assert conversations.rows_written == same_day
    assert summary.table("escalations").partitions_replaced == 1
    assert summary.table("messages").rows_written == 0
    day = f"date={escalation.started_at.date().isoformat()}"
    changed = {f for f in set(files) ^ set(part_files(tmp_path))}
    assert changed and all(f.split("/")[1] == day for f in changed
                           if f.startswith("conversations/"))
    with duckdb.connect() as db:
        status = db.execute(f"SELECT status FROM {parquet(tmp_path, 'conversations')} "
                            "WHERE id = $id", {"id": escalation.conversation_id}).fetchone()
        assert status == ("resolved",)
    assert parquet_counts(tmp_path) == store_counts(store)


def test_a_message_stored_late_with_an_old_time_is_not_missed(store: Engine, tmp_path: Path):
    export_parquet(store, tmp_path)
    with store.begin() as conn:
        old = conn.execute(select(Message.conversation_id, Message.created_at)
                           .order_by(Message.created_at).limit(1)).one()
        conn.execute(insert(Message).values(
            id="late-0001", conversation_id=old.conversation_id, sender="bot",
            text="(replayed from the journal)", entities=[], data={},
            created_at=old.created_at + timedelta(seconds=1)))

    summary = export_parquet(store, tmp_path)

    messages = summary.table("messages")
    assert messages.partitions_replaced == 1
    with duckdb.connect() as db:
        total, distinct = db.sql(f"SELECT count(*), count(DISTINCT id) FROM "
                                 f"{parquet(tmp_path, 'messages')}").fetchone()
    assert total == distinct == store_counts(store)["messages"]


def test_a_killed_run_and_deleted_files_are_mended_on_the_next(store: Engine, tmp_path: Path):
    export_parquet(store, tmp_path)
    listed = sorted(tmp_path.glob("messages/date=*/part-*.parquet"))
    lost = listed[0]
    lost.unlink()  # someone deleted a file
    stray = listed[1].parent / "part-999999-deadbeef-00000.parquet"  # a killed run's file
    stray.write_bytes(listed[1].read_bytes())
    temp = listed[1].parent / ".part-999999-deadbeef-00001.parquet.tmp"
    temp.write_bytes(b"half written")

    summary = export_parquet(store, tmp_path)

    assert not stray.exists() and not temp.exists()
    assert summary.table("messages").partitions_written == 1
    assert parquet_counts(tmp_path) == store_counts(store)


def test_another_databases_export_is_not_mixed_in(store: Engine, tmp_path: Path):
    export_parquet(store, tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["database"] = "sqlite:////somewhere/else.db"
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match="--full"):
        export_parquet(store, tmp_path)
    summary = export_parquet(store, tmp_path, full=True)
    assert summary.rows_written == sum(store_counts(store).values())
    assert parquet_counts(tmp_path) == store_counts(store)


def test_a_day_deleted_from_the_store_leaves_the_export(store: Engine, tmp_path: Path):
    export_parquet(store, tmp_path)
    with store.begin() as conn:
        first = conn.execute(select(func.min(Conversation.started_at))).scalar_one()
        day = func.date(Conversation.started_at) == func.date(first)
        ids = list(conn.execute(select(Conversation.id).where(day)).scalars())
        for model in (Message, Event, Escalation, ConversationFacts, ConversationIntentFacts):
            conn.execute(delete(model).where(model.conversation_id.in_(ids)))
        conn.execute(delete(Conversation).where(Conversation.id.in_(ids)))

    summary = export_parquet(store, tmp_path)

    assert summary.table("conversations").partitions_dropped == 1
    assert not (tmp_path / "conversations" / f"date={first.date().isoformat()}").exists()
    assert parquet_counts(tmp_path) == store_counts(store)


def test_two_exports_into_one_folder_at_once_are_refused(store: Engine, tmp_path: Path):
    with export_lock(tmp_path), pytest.raises(ExportError, match="Another export"):
        export_parquet(store, tmp_path)
