"""The agent console's HTTP API against a real server: roles, the handoff steps, what they log."""

from __future__ import annotations

import uuid

import pytest
import requests
from live_server import PASSWORD, WIDGET_SECRET, wait_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.store.schema import Conversation, Customer, Escalation, Event, Message, User
from bot.channels.identity import sign_customer_id

pytestmark = pytest.mark.slow

ENDPOINTS = [
    ("GET", "/agent/api/queue"),
    ("GET", "/agent/api/conversations/c-1"),
    ("POST", "/agent/api/conversations/c-1/claim"),
    ("POST", "/agent/api/conversations/c-1/reply"),
    ("POST", "/agent/api/conversations/c-1/handback"),
    ("POST", "/agent/api/conversations/c-1/resolve"),
    ("GET", "/agent/ws"),
]


def new_conversation() -> str:
    return f"agent-test-{uuid.uuid4().hex[:12]}"


def escalate(server, text: str = "/human_agent", **metadata) -> str:
    conversation_id = new_conversation()
    server.say(conversation_id, text, **metadata)
    assert server.tracker(conversation_id)["status"] == "escalated"
    return conversation_id


def step(session: requests.Session, server, conversation_id: str, name: str, **kwargs):
    return session.post(f"{server.url}/agent/api/conversations/{conversation_id}/{name}",
                        timeout=30, **kwargs)


def user_id(db, username: str) -> int:
    with Session(db) as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_agent_endpoints_refuse_anonymous_callers(server, method, path):
    response = requests.request(method, server.url + path, json={"text": "hi"}, timeout=10)
    assert response.status_code == 401
    assert "log in" in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_agent_endpoints_refuse_analysts(server, method, path):
    analyst = server.login("ann", PASSWORD)
    response = analyst.request(method, server.url + path, json={"text": "hi"}, timeout=10)
    assert response.status_code == 403
    assert "analyst" in response.json()["error"]


def test_admins_may_use_the_console(server):
    admin = server.login("root", PASSWORD)
    assert admin.get(server.url + "/agent/api/queue", timeout=10).status_code == 200


def test_a_forged_session_cookie_is_anonymous(server):
    response = requests.get(server.url + "/agent/api/queue", timeout=10,
                            cookies={"carebot_session": "eyJpZCI6MSwidSI6ImFsaWNlIn0.0000"})
    assert response.status_code == 401


def test_claim_reply_and_resolve_are_logged_with_the_escalation_times(server, db):
    conversation_id = escalate(server)
    alice = server.login("alice", PASSWORD)
    assert step(alice, server, conversation_id, "claim").status_code == 200
    first = step(alice, server, conversation_id, "reply", json={"text": "Hi, Alice here."})
    assert first.status_code == 200, first.text
    assert first.json()["sender"] == "agent" and first.json()["agent"] == "alice"
    assert step(alice, server, conversation_id, "reply", json={"text": "Sorted!"}).ok
    assert step(alice, server, conversation_id, "resolve").json()["status"] == "resolved"

    def logged():
        with Session(db) as session:
            return session.scalars(select(Event.type).where(
                Event.conversation_id == conversation_id,
                Event.type.in_(("claim", "agent_reply", "resolve"))
            ).order_by(Event.created_at)).all()

    assert wait_for(lambda: len(logged()) == 4)
    assert logged() == ["claim", "agent_reply", "agent_reply", "resolve"]
    with Session(db) as session:
        escalation = session.scalars(
            select(Escalation).where(Escalation.conversation_id == conversation_id)).one()
        conversation = session.get(Conversation, conversation_id)
        agent_texts = session.scalars(select(Message.text).where(
            Message.conversation_id == conversation_id, Message.sender == "agent")
            .order_by(Message.created_at)).all()
    assert escalation.status == "resolved"
    assert escalation.claimed_by == user_id(db, "alice")
    assert (escalation.created_at <= escalation.claimed_at <= escalation.first_response_at
            <= escalation.resolved_at)
    assert agent_texts == ["Hi, Alice here.", "Sorted!"]
    assert wait_for(lambda: Session(db).get(Conversation, conversation_id).status == "resolved")
    with Session(db) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation.assigned_agent_id == user_id(db, "alice")
        assert conversation.ended_at is not None


def test_the_bot_only_acknowledges_messages_while_a_conversation_waits_for_an_agent(server):
    conversation_id = escalate(server)
    replies = server.say(conversation_id, "/greet")
    # the waiting customer hears their message reached the queue (tests/agent/
    # test_waiting_customers.py), not the bot's answer to it
    assert len(replies) == 1
    assert "email" in replies[0]["text"] or "in the queue" in replies[0]["text"]
    assert server.tracker(conversation_id)["status"] == "escalated"


def test_the_bot_is_silent_while_an_agent_holds_the_conversation(server):
    conversation_id = escalate(server)
    alice = server.login("alice", PASSWORD)
    step(alice, server, conversation_id, "claim")
    assert server.say(conversation_id, "/greet") == []
    assert server.say(conversation_id, "/order_status") == []
    assert server.tracker(conversation_id)["status"] == "agent"


def test_handing_back_lets_the_bot_answer_again(server, db):
    conversation_id = escalate(server)
    alice = server.login("alice", PASSWORD)
    step(alice, server, conversation_id, "claim")
    assert step(alice, server, conversation_id, "handback").json()["status"] == "bot"
    assert server.say(conversation_id, "/greet") != []
    with Session(db) as session:
        escalation = session.scalars(
            select(Escalation).where(Escalation.conversation_id == conversation_id)).one()
    assert escalation.status == "returned" and escalation.resolved_at is not None


def test_a_resolved_conversation_reopens_with_the_bot_when_the_customer_writes(server):
    conversation_id = escalate(server)
    alice = server.login("alice", PASSWORD)
    step(alice, server, conversation_id, "claim")
    step(alice, server, conversation_id, "resolve")
    assert server.say(conversation_id, "/greet") != []
    assert server.tracker(conversation_id)["status"] == "bot"


def test_a_claimed_conversation_cannot_be_claimed_by_another_agent(server):
    conversation_id = escalate(server)
    step(server.login("alice", PASSWORD), server, conversation_id, "claim")
    response = step(server.login("bob", PASSWORD), server, conversation_id, "claim")
    assert response.status_code == 409
    assert "alice" in response.json()["error"]


def test_only_the_agent_holding_a_conversation_may_reply_or_resolve_it(server):
    conversation_id = escalate(server)
    step(server.login("alice", PASSWORD), server, conversation_id, "claim")
    bob = server.login("bob", PASSWORD)
    assert step(bob, server, conversation_id, "reply", json={"text": "hi"}).status_code == 409
    assert step(bob, server, conversation_id, "resolve").status_code == 409


def test_replying_before_claiming_says_to_claim_first(server):
    conversation_id = escalate(server)
    response = step(server.login("alice", PASSWORD), server, conversation_id, "reply",
                    json={"text": "hi"})
    assert response.status_code == 409
    assert "claim" in response.json()["error"]


def test_an_empty_reply_is_refused(server):
    conversation_id = escalate(server)
    alice = server.login("alice", PASSWORD)
    step(alice, server, conversation_id, "claim")
    assert step(alice, server, conversation_id, "reply", json={"text": "  "}).status_code == 400


def test_claiming_a_conversation_nobody_waits_on_is_not_found(server):
    conversation_id = new_conversation()
    server.say(conversation_id, "/greet")
    response = step(server.login("alice", PASSWORD), server, conversation_id, "claim")
    assert response.status_code == 404


def test_agent_actions_from_another_origin_are_refused(server):
    conversation_id = escalate(server)
    response = step(server.login("alice", PASSWORD), server, conversation_id, "claim",
                    headers={"Origin": "http://127.0.0.1:1"})
    assert response.status_code == 403
    assert server.tracker(conversation_id)["status"] == "escalated"


def vip_customer(db) -> str:
    with Session(db) as session:
        return session.scalars(select(Customer.external_id).where(Customer.vip)
                               .order_by(Customer.id).limit(1)).one()


def test_the_queue_lists_the_most_urgent_conversation_first(server, db):
    plain = escalate(server, "/human_agent")
    complaint = escalate(server, "/complaint")
    vip = vip_customer(db)
    vip_request = escalate(server, "/human_agent", customer_id=vip,
                           signature=sign_customer_id(vip, WIDGET_SECRET))
    items = server.login("alice", PASSWORD).get(server.url + "/agent/api/queue", timeout=10)
    ours = [i for i in items.json()["items"]
            if i["conversation_id"] in (plain, complaint, vip_request)]
    assert [i["conversation_id"] for i in ours] == [vip_request, complaint, plain]
    assert [i["reason"] for i in ours] == ["customer_request", "complaint", "customer_request"]
    assert ours[0]["vip"] is True and ours[0]["customer_id"] == vip
    urgencies = [i["urgency"] for i in ours]
    assert urgencies == sorted(urgencies, reverse=True)


def test_the_transcript_shows_intent_and_sentiment_and_the_verified_customer(server, db):
    vip = vip_customer(db)
    conversation_id = escalate(server, "/human_agent", customer_id=vip,
                               signature=sign_customer_id(vip, WIDGET_SECRET))
    details = server.login("alice", PASSWORD).get(
        f"{server.url}/agent/api/conversations/{conversation_id}", timeout=30).json()
    customer_lines = [m for m in details["messages"] if m["sender"] == "user"]
    assert customer_lines[0]["intent"] == "human_agent"
    assert customer_lines[0]["sentiment"] in ("negative", "neutral", "positive")
    assert any(m["sender"] == "bot" for m in details["messages"])
    assert details["status"] == "escalated"
    assert details["escalation"]["reason"] == "customer_request"
    profile = details["customer"]["profile"]
    assert details["customer"]["verified"] is True
    assert profile["customer_id"] == vip and profile["vip"] is True
    assert profile["segment"] and profile["order_count"] >= len(profile["recent_orders"]) > 0


def test_a_badly_signed_customer_id_is_an_anonymous_visitor(server, db):
    vip = vip_customer(db)
    conversation_id = escalate(server, "/human_agent", customer_id=vip, signature="0" * 64)
    details = server.login("alice", PASSWORD).get(
        f"{server.url}/agent/api/conversations/{conversation_id}", timeout=30).json()
    assert details["customer"]["verified"] is False
    assert details["customer"]["profile"] is None
