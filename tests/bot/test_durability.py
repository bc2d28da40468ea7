"""Nothing is lost when the server stops right after a reply; state survives a restart."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.store.schema import Message

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["module_sqlite_url", "module_postgres_url"])
def database_backend(request) -> str:
    return request.param


def count_messages(db, sender: str) -> int:
    with Session(db) as session:
        return session.scalar(select(func.count()).select_from(Message)
                              .where(Message.conversation_id == sender))


def test_stopping_right_after_a_reply_loses_no_message(seeded_database_url, db, server_factory):
    server = server_factory(seeded_database_url)
    sender = "durable-1"
    replies = [server.say(sender, text) for text in ("hi", "how long does shipping take?")]
    assert server.stop() == 0
    assert count_messages(db, sender) == 2 + sum(len(r) for r in replies)


def test_a_half_filled_form_survives_a_restart(seeded_database_url, server_factory):
    server = server_factory(seeded_database_url)
    sender = "durable-2"
    assert "order number" in server.say(sender, "where is my order")[0]["text"].lower()
    server.stop()
    server = server_factory(seeded_database_url)
    # the restarted server still knows it asked for the order number
    assert "email" in server.say(sender, "A10001")[0]["text"].lower()
