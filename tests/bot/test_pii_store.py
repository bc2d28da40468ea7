"""Personal data that customers type never reaches the messages table in clear."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.store.schema import Message

pytestmark = pytest.mark.slow

SECRETS = {
    "EMAIL": "jane.sample@example.com",
    "CARD": "4111 1111 1111 1111",
    "PHONE": "+1 (555) 123-4567",
    "ADDRESS": "42 Elm Street",
    "PERSON": "Margaret Thornbury",
}
MESSAGES = [
    "Hi, my name is Margaret Thornbury",
    "my card 4111 1111 1111 1111 was charged twice",
    "call me on +1 (555) 123-4567 please",
    "please ship it to 42 Elm Street instead",
    "my email is jane.sample@example.com",
]


@pytest.fixture(scope="module")
def conversation(server) -> str:
    sender = f"pii-{uuid.uuid4().hex[:12]}"
    for message in MESSAGES:
        server.say(sender, message)
    return sender


def stored_user_rows(db) -> list[Message]:
    """The user rows, once the message log (written in the background) has them all."""
    deadline = time.monotonic() + 30
    while True:
        with Session(db) as session:
            rows = session.scalars(select(Message).where(Message.sender == "user")).all()
        if len(rows) >= len(MESSAGES) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_user_messages_are_stored_with_placeholders_not_personal_data(db, conversation):
    rows = stored_user_rows(db)
    assert len(rows) >= len(MESSAGES)
    stored = " | ".join(r.text for r in rows)
    for kind, secret in SECRETS.items():
        assert secret not in stored, f"{kind} stored in clear"
        assert f"[{kind}]" in stored


def test_no_row_of_the_messages_table_holds_personal_data(db, conversation):
    # The email is also an entity (the bot needs it as a slot): its logged value is redacted.
    stored_user_rows(db)
    with Session(db) as session:
        rows = session.scalars(select(Message)).all()
    dumped = " ".join(f"{r.text} {json.dumps(r.entities)} {json.dumps(r.data)}" for r in rows)
    for kind in ("EMAIL", "CARD", "PHONE", "ADDRESS", "PERSON"):
        assert SECRETS[kind] not in dumped, f"{kind} stored in clear"
