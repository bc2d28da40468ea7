"""escalation.auto_close_after: escalations left too long are resolved, the customer is told
(live, and in the history), it is logged, and the queue drops them; once, with two workers.
Real `carebot serve --workers 2` on SQLite (the supervisor is the workers' hub), a customer's
WebSocket, an agent over HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import aiohttp
import pytest
from live_server import PASSWORD, start_server, wait_for
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session

from analytics.store.db import migrate
from analytics.store.records import naive_utc_now
from analytics.store.schema import Conversation, Escalation, Event, Message
from bot.config import EscalationPolicy
from bot.console.auto_close import close_if_overdue, overdue_escalations
from bot.dialogue.builtin_actions import DEFAULT_RESPONSES

pytestmark = pytest.mark.slow

AFTER_SECONDS = 4
CLOSED_TEXT = DEFAULT_RESPONSES["utter_handoff_closed"]["text"]


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory):
    running = start_server(seeded_database_url, tmp_path_factory.mktemp("auto-close"),
                           workers=2,
                           CAREBOT_ESCALATION_AUTO_CLOSE_AFTER=f"{AFTER_SECONDS} seconds")
    yield running
    running.stop()


def queue(server) -> list[dict]:
    alice = server.login("alice", PASSWORD)
    response = alice.get(server.url + "/agent/api/queue", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def escalation_of(db, conversation_id: str) -> tuple[str, object]:
    with Session(db) as session:
        return session.execute(select(Escalation.status, Escalation.resolved_at)
                               .where(Escalation.conversation_id == conversation_id)
                               .order_by(Escalation.id.desc())).first()


def counts(db, conversation_id: str) -> tuple[int, int]:
    """(the customer-facing closing messages, the auto_close events) of a conversation."""
    with Session(db) as session:
        told = session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id, Message.text == CLOSED_TEXT))
        logged = session.scalar(select(func.count()).select_from(Event).where(
            Event.conversation_id == conversation_id, Event.type == "auto_close"))
    return told, logged


async def frames_until(ws, predicate, timeout: float) -> list[dict]:
    seen: list[dict] = []
    async with asyncio.timeout(timeout):
        while not any(predicate(f) for f in seen):
            seen.append(await ws.receive_json())
    return seen


def test_stale_items_of_long_ago_leave_the_queue(server, db):
    # as the demo shop's simulated escalations: opened or claimed weeks ago, never resolved
    now = naive_utc_now()
    ids = [f"stale-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with Session(db) as session:
        for conversation_id, status, days in zip(ids, ("open", "claimed"), (9, 30), strict=True):
            when = now - timedelta(days=days)
            session.execute(insert(Conversation).values(
                id=conversation_id, started_at=when, last_active_at=when, status="escalated"))
            session.execute(insert(Escalation).values(
                conversation_id=conversation_id, reason="customer_request", priority=1,
                status=status, created_at=when, claimed_at=when if status == "claimed" else None))
        session.commit()
    assert wait_for(lambda: all(escalation_of(db, c)[0] == "resolved" for c in ids), timeout=30)
    assert not [i for i in queue(server) if i["stale"] or i["conversation_id"] in ids]
    assert [counts(db, c)[1] for c in ids] == [1, 1]
    with Session(db) as session:  # the demo shop's own stale items went at start-up
        assert session.scalar(select(func.count()).select_from(Escalation).where(
            Escalation.status.in_(("open", "claimed")),
            Escalation.created_at < now - timedelta(days=1))) == 0
    assert "Traceback" not in server.log()


async def test_an_escalation_nobody_takes_is_closed_once_and_the_customer_told(server, db):
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.ws_url)
        await ws.send_json({"type": "hello", "conversation_id": None})
        welcome = await ws.receive_json(timeout=30)
        assert welcome["type"] == "welcome"
        conversation_id = welcome["conversation_id"]
        await ws.send_json({"type": "message", "id": str(uuid.uuid4()), "text": "/human_agent"})
        asked = time.monotonic()
        await frames_until(ws, lambda f: f.get("type") == "bot", timeout=30)  # the handoff
        assert wait_for(lambda: escalation_of(db, conversation_id), timeout=10)[0] == "open"
        assert conversation_id in [i["conversation_id"] for i in queue(server)]

        frames = await frames_until(ws, lambda f: f.get("type") == "ended", timeout=40)
        assert time.monotonic() - asked >= AFTER_SECONDS - 0.5  # not before its time
        told = [f for f in frames if f.get("type") == "bot" and f.get("text") == CLOSED_TEXT]
        assert len(told) == 1, frames
        assert escalation_of(db, conversation_id)[0] == "resolved"
        assert escalation_of(db, conversation_id)[1] is not None
        assert conversation_id not in [i["conversation_id"] for i in queue(server)]
        assert server.tracker(conversation_id)["status"] == "resolved"

        await asyncio.sleep(3 * AFTER_SECONDS)  # more rounds of both workers: nothing again
        assert counts(db, conversation_id) == (1, 1)
        with pytest.raises(TimeoutError):
            await frames_until(ws, lambda f: f.get("text") == CLOSED_TEXT, timeout=1)
        await ws.close()

    # the history keeps it, and writing again reopens the conversation with the bot
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.ws_url)
        await ws.send_json({"type": "hello", "conversation_id": conversation_id,
                            "token": welcome.get("token")})
        again = await ws.receive_json(timeout=30)
        assert again["conversation_id"] == conversation_id
        assert CLOSED_TEXT in [h.get("text") for h in again["history"]]
        await ws.send_json({"type": "message", "id": str(uuid.uuid4()), "text": "hello"})
        await frames_until(ws, lambda f: f.get("type") == "bot", timeout=30)
        await ws.close()
    assert server.tracker(conversation_id)["status"] == "bot"


def test_a_claimed_conversation_closes_only_once_it_went_quiet(server, db):
    conversation_id = f"quiet-{uuid.uuid4().hex[:12]}"
    server.say(conversation_id, "/human_agent")
    bob = server.login("bob", PASSWORD)
    base = f"{server.url}/agent/api/conversations/{conversation_id}"
    assert bob.post(base + "/claim", timeout=30).status_code == 200
    for _ in range(3):  # the agent keeps writing: never quiet for AFTER_SECONDS
        time.sleep(AFTER_SECONDS / 2)
        assert bob.post(base + "/reply", json={"text": "still on it"}, timeout=30
                        ).status_code == 200
    assert escalation_of(db, conversation_id)[0] == "claimed"
    assert wait_for(lambda: escalation_of(db, conversation_id)[0] == "resolved",
                    timeout=30), "a quiet claimed conversation stays open"
    assert wait_for(lambda: counts(db, conversation_id) == (1, 1), timeout=10)
    assert server.tracker(conversation_id)["status"] == "resolved"


def test_the_closing_update_moves_a_row_once(database_url):
    """On SQLite and PostgreSQL: the overdue ones are found, and only one caller closes each."""
    migrate(database_url)
    engine = create_engine(database_url)
    now = naive_utc_now()
    rows = {"open-old": ("open", 5, 5), "claimed-quiet": ("claimed", 5, 3),
            "claimed-busy": ("claimed", 5, 0), "open-new": ("open", 0, 0)}
    with Session(engine) as session:
        for conversation_id, (status, opened, quiet) in rows.items():
            session.execute(insert(Conversation).values(
                id=conversation_id, started_at=now - timedelta(hours=opened),
                last_active_at=now - timedelta(hours=quiet)))
            session.execute(insert(Escalation).values(
                conversation_id=conversation_id, reason="complaint", priority=2, status=status,
                created_at=now - timedelta(hours=opened),
                claimed_at=now - timedelta(hours=opened) if status == "claimed" else None))
        session.commit()
    cutoff = now - timedelta(hours=1)
    assert overdue_escalations(engine, now - timedelta(hours=6)) == []
    found = overdue_escalations(engine, cutoff)
    assert sorted(c for _, c in found) == ["claimed-quiet", "open-old"]
    for escalation_id, _ in found:
        assert close_if_overdue(engine, escalation_id, cutoff, now) is True
        assert close_if_overdue(engine, escalation_id, cutoff, now) is False  # the other worker
    assert overdue_escalations(engine, cutoff) == []
    with Session(engine) as session:
        assert dict(session.execute(select(Escalation.conversation_id, Escalation.status)
                                    ).all()) == {"open-old": "resolved",
                                                 "claimed-quiet": "resolved",
                                                 "claimed-busy": "claimed", "open-new": "open"}
    engine.dispose()


def test_the_setting_reads_durations_and_names_a_bad_one():
    assert EscalationPolicy().auto_close_seconds is None
    policy = EscalationPolicy.from_mapping({"auto_close_after": "3 days"}, "carebot.yml")
    assert policy.auto_close_seconds == 3 * 86400
    assert EscalationPolicy.from_mapping({"auto_close_after": "90 minutes"}, "x"
                                         ).auto_close_seconds == 5400
    assert EscalationPolicy.from_mapping({"auto_close_after": "off"}, "x"
                                         ).auto_close_seconds is None
    with pytest.raises(ValueError, match=r"escalation\.auto_close_after .*'soonish'"):
        EscalationPolicy.from_mapping({"auto_close_after": "soonish"}, "carebot.yml")
