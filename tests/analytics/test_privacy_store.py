"""Erasing raw text in the store: past the retention, and for one customer on request
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select

from analytics.store.privacy import FORGOTTEN, forget_customer, purge_raw_text
from analytics.store.schema import Conversation, Customer, Message

NOW = datetime(2026, 6, 1, 12, 0)


def tracker(words: str, *slots: tuple[str, str]) -> dict:
    return {"events": [{"event": "user", "text": words, "parse_data": {"text": words}},
                       *({"event": "slot", "name": n, "value": v} for n, v in slots)]}


@pytest.fixture
def shop(engine):
    with engine.begin() as conn:
        conn.execute(insert(Customer), [
            {"id": 1, "external_id": "C1001", "email": "jane@example.com", "name": "Jane",
             "created_at": NOW},
            {"id": 2, "external_id": "C1002", "email": "other@example.com", "name": "Other",
             "created_at": NOW}])
        conn.execute(insert(Conversation), [
            {"id": "linked", "customer_id": 1, "started_at": NOW, "last_active_at": NOW,
             "tracker_state": tracker("hi i'm jane", ("customer_id", "C1001"))},
            {"id": "typed-email", "customer_id": None, "started_at": NOW,
             "last_active_at": NOW - timedelta(days=40),
             "tracker_state": tracker("mail jane@example.com", ("email", "jane@example.com"))},
            {"id": "someone-else", "customer_id": 2, "started_at": NOW, "last_active_at": NOW,
             "tracker_state": tracker("hello", ("customer_id", "C1002"))}])
        conn.execute(insert(Message), [
            {"id": f"m-{c}-{age}", "conversation_id": c, "sender": "user", "text": "[EMAIL]",
             "raw_text": "sealed", "created_at": NOW - timedelta(days=age)}
            for c in ("linked", "typed-email", "someone-else") for age in (1, 40)])
    return engine


def raw_texts(engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Message.id, Message.raw_text)).all())


def trackers(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Conversation.id, Conversation.tracker_state)).all())


def test_purge_erases_raw_text_older_than_the_cutoff_only(shop):
    result = purge_raw_text(shop, NOW - timedelta(days=30))
    assert result.messages == 3
    kept = raw_texts(shop)
    assert all(kept[f"m-{c}-40"] is None and kept[f"m-{c}-1"] == "sealed"
               for c in ("linked", "typed-email", "someone-else"))


def test_purge_erases_the_words_in_trackers_of_idle_conversations(shop):
    assert purge_raw_text(shop, NOW - timedelta(days=30)).conversations == 1
    idle = trackers(shop)["typed-email"]["events"]
    assert idle[0]["text"] == FORGOTTEN and idle[1]["value"] is None  # the typed email too
    assert trackers(shop)["linked"]["events"][0]["text"] == "hi i'm jane"


@pytest.mark.parametrize("who", ["C1001", "jane@example.com"])
def test_forget_unlinks_and_erases_every_conversation_of_the_customer(shop, who):
    result = forget_customer(shop, who)
    assert (result.customer, result.conversations, result.messages) == ("C1001", 2, 4)
    with shop.connect() as conn:
        links = dict(conn.execute(select(Conversation.id, Conversation.customer_id)).all())
    assert links == {"linked": None, "typed-email": None, "someone-else": 2}
    linked = trackers(shop)["linked"]["events"]
    assert linked[0]["text"] == FORGOTTEN and linked[1]["value"] is None


def test_forget_leaves_other_customers_alone(shop):
    forget_customer(shop, "C1001")
    assert raw_texts(shop)["m-someone-else-1"] == "sealed"
    assert trackers(shop)["someone-else"]["events"][0]["text"] == "hello"


def test_forgetting_an_unknown_customer_says_so(shop):
    with pytest.raises(LookupError, match="No customer"):
        forget_customer(shop, "C9999")
