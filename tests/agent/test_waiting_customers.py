"""A customer waiting for a person, against a real server: their place in the queue and the
expected wait, an answer to what they write meanwhile, and when nobody is online the email
they leave, kept on the escalation for the agents."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import aiohttp
import pytest
from live_server import PASSWORD, wait_for
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from analytics.store.records import naive_utc_now
from analytics.store.schema import Conversation, Escalation

pytestmark = pytest.mark.slow


def new_conversation() -> str:
    return f"waiting-{uuid.uuid4().hex[:12]}"


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text", "") for r in replies]


async def agent_online(server, username: str = "alice"):
    """An agent with the console's live socket open (as the console page keeps it)."""
    http = aiohttp.ClientSession()
    async with http.post(server.url + "/auth/login",
                         json={"username": username, "password": PASSWORD}) as response:
        assert response.status == 200
        token = response.cookies["carebot_session"].value
    ws = await http.ws_connect(server.url + "/agent/ws",
                               headers={"Authorization": f"Bearer {token}"})
    hello = await ws.receive_json(timeout=15)
    assert hello["type"] == "hello"
    return http, ws


def contact_email_of(db, conversation_id: str) -> str | None:
    with Session(db) as session:
        return session.scalars(select(Escalation.contact_email)
                               .where(Escalation.conversation_id == conversation_id)).first()


def test_nobody_online_asks_for_an_email_and_keeps_it_on_the_escalation(server, db):
    conversation_id = new_conversation()
    said = " ".join(texts(server.say(conversation_id, "/human_agent")))
    assert "nobody is online right now" in said
    assert "email" in said
    assert server.tracker(conversation_id)["status"] == "escalated"

    reply = texts(server.say(conversation_id, "sure, it's yuki.waits@example.com thanks"))
    assert reply and "yuki.waits@example.com" in reply[0]
    assert wait_for(lambda: contact_email_of(db, conversation_id)) == "yuki.waits@example.com"

    alice = server.login("alice", PASSWORD)
    item = next(i for i in alice.get(server.url + "/agent/api/queue", timeout=30).json()["items"]
                if i["conversation_id"] == conversation_id)
    assert item["contact_email"] == "yuki.waits@example.com"
    shown = alice.get(f"{server.url}/agent/api/conversations/{conversation_id}", timeout=30).json()
    assert shown["contact_email"] == "yuki.waits@example.com"


def test_a_message_while_waiting_with_nobody_online_asks_again_for_the_email(server):
    conversation_id = new_conversation()
    server.say(conversation_id, "/human_agent")
    reply = texts(server.say(conversation_id, "hello? is anyone there"))
    assert reply, "a message while waiting must not be met with silence"
    assert "email" in reply[0]


async def test_with_an_agent_online_the_customer_hears_their_place_and_the_wait(server, db):
    # a finished escalation that took an agent 10 minutes gives the expected wait
    with Session(db) as session:
        done = new_conversation()
        now = naive_utc_now()
        session.execute(insert(Conversation).values(id=done, started_at=now,
                                                    last_active_at=now))
        session.execute(insert(Escalation).values(
            conversation_id=done, reason="customer_request", priority=1, status="resolved",
            created_at=now - timedelta(minutes=15), claimed_at=now - timedelta(minutes=12),
            resolved_at=now - timedelta(minutes=2)))
        session.commit()
    http, ws = await agent_online(server)
    try:
        await asyncio.sleep(0.2)
        first, second = new_conversation(), new_conversation()
        said = " ".join(texts(await asyncio.to_thread(server.say, first, "/human_agent")))
        assert "in the queue" in said
        place = int(said.split("number ")[1].split(" ")[0])
        assert place >= 1
        assert "about" in said and ("minute" in said or "hour" in said)

        said = " ".join(texts(await asyncio.to_thread(server.say, second, "/human_agent")))
        assert f"number {place + 1} in the queue" in said

        ack = texts(await asyncio.to_thread(server.say, second, "still there?"))
        assert ack and f"number {place + 1} in the queue" in ack[0]
        assert "added that to your conversation" in ack[0]
    finally:
        await ws.close()
        await http.close()


async def test_once_an_agent_holds_the_conversation_the_bot_stays_silent(server):
    http, ws = await agent_online(server, "bob")
    try:
        conversation_id = new_conversation()
        await asyncio.to_thread(server.say, conversation_id, "/human_agent")
        bob = server.login("bob", PASSWORD)
        claimed = bob.post(f"{server.url}/agent/api/conversations/{conversation_id}/claim",
                           timeout=30)
        assert claimed.status_code == 200
        assert await asyncio.to_thread(server.say, conversation_id, "thanks bob") == []
    finally:
        await ws.close()
        await http.close()
