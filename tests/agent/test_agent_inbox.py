"""The agents' inbox over a real server: readable queue items, private notes, saved replies,
transfer, search, the resolved view, a customer's past conversations, display names."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from live_server import PASSWORD, WIDGET_SECRET, wait_for
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analytics.store.inbox import set_display_name
from analytics.store.records import naive_utc_now
from analytics.store.schema import Customer, Escalation, Event, Order
from bot.channels.identity import sign_customer_id

pytestmark = pytest.mark.slow


def transfer_logged(db, conversation_id: str) -> str | None:
    with Session(db) as session:
        event = session.scalars(select(Event).where(Event.conversation_id == conversation_id,
                                                    Event.type == "transfer")).first()
        return event.data.get("to_agent") if event else None


def new_conversation() -> str:
    return f"inbox-{uuid.uuid4().hex[:12]}"


def api(session, server, method: str, path: str, **kwargs):
    return session.request(method, f"{server.url}/agent/api{path}", timeout=30, **kwargs)


def queue_item(session, server, conversation_id: str) -> dict:
    items = api(session, server, "GET", "/queue").json()["items"]
    return next(i for i in items if i["conversation_id"] == conversation_id)


@pytest.fixture(scope="module")
def a_customer(db) -> tuple[str, str, str]:
    with Session(db) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id.desc()).limit(1)).one()
        return customer.external_id, customer.name, customer.email


def test_the_queue_names_a_visitor_by_the_profile_their_email_matches(server, a_customer):
    _, name, email = a_customer
    conversation_id = new_conversation()
    server.say(conversation_id, f"my email is {email}")
    server.say(conversation_id, "/human_agent")
    alice = server.login("alice", PASSWORD)
    item = queue_item(alice, server, conversation_id)
    assert item["customer_name"] == name
    assert item["title"] == name
    assert item["customer_verified"] is False
    assert conversation_id not in item["title"]
    assert any("asked for a person" in reason for reason in item["urgency_reasons"])
    assert any(reason.startswith("waiting ") for reason in item["urgency_reasons"])


def test_an_anonymous_visitor_is_titled_by_their_words_not_the_id(server):
    conversation_id = new_conversation()
    server.say(conversation_id, "/human_agent")
    alice = server.login("alice", PASSWORD)
    item = queue_item(alice, server, conversation_id)
    assert item["title"].startswith("Visitor")
    assert conversation_id not in item["title"]
    shown = api(alice, server, "GET", f"/conversations/{conversation_id}").json()
    assert shown["title"].startswith("Visitor")


def test_stale_escalations_go_after_fresh_ones_and_say_so(server, db):
    old, fresh = new_conversation(), new_conversation()
    server.say(old, "/human_agent")
    server.say(fresh, "/human_agent")
    with Session(db) as session:
        session.execute(update(Escalation).where(Escalation.conversation_id == old)
                        .values(created_at=naive_utc_now() - timedelta(days=25), priority=9))
        session.commit()
    alice = server.login("alice", PASSWORD)
    items = api(alice, server, "GET", "/queue").json()["items"]
    order = [i["conversation_id"] for i in items]
    assert order.index(fresh) < order.index(old)
    stale = items[order.index(old)]
    assert stale["stale"] is True
    assert any("waiting 25 d" in reason for reason in stale["urgency_reasons"])


def test_private_notes_are_kept_for_agents_and_never_reach_the_customer(server):
    conversation_id = new_conversation()
    server.say(conversation_id, "/human_agent")
    alice = server.login("alice", PASSWORD)
    written = api(alice, server, "POST", f"/conversations/{conversation_id}/notes",
                  json={"text": "Customer is <b>travelling</b> until Friday"})
    assert written.status_code == 200
    shown = api(alice, server, "GET", f"/conversations/{conversation_id}").json()
    assert [n["text"] for n in shown["notes"]] == ["Customer is <b>travelling</b> until Friday"]
    assert shown["notes"][0]["author"] == "alice"
    tracker = server.tracker(conversation_id)
    assert "travelling" not in str(tracker["events"])
    empty = api(alice, server, "POST", f"/conversations/{conversation_id}/notes",
                json={"text": "  "})
    assert empty.status_code == 400


def test_saved_replies_are_listed_refuse_a_taken_shortcut_and_can_be_deleted(server):
    alice = server.login("alice", PASSWORD)
    shortcut = f"refund-{uuid.uuid4().hex[:6]}"
    made = api(alice, server, "POST", "/saved-replies",
               json={"shortcut": f"/{shortcut}", "text": "Refunds take 5-7 working days."})
    assert made.status_code == 201, made.text
    assert made.json()["shortcut"] == shortcut
    listed = api(alice, server, "GET", "/saved-replies").json()["items"]
    assert any(r["shortcut"] == shortcut for r in listed)
    again = api(alice, server, "POST", "/saved-replies",
                json={"shortcut": shortcut, "text": "other"})
    assert again.status_code == 400 and "already" in again.json()["error"]
    bad = api(alice, server, "POST", "/saved-replies", json={"shortcut": "no spaces", "text": "x"})
    assert bad.status_code == 400
    assert api(alice, server, "DELETE", f"/saved-replies/{made.json()['id']}").status_code == 200
    listed = api(alice, server, "GET", "/saved-replies").json()["items"]
    assert not any(r["shortcut"] == shortcut for r in listed)


def test_a_transfer_gives_the_conversation_to_another_agent(server, db):
    set_display_name(db, "bob", "Bob Baker")
    conversation_id = new_conversation()
    server.say(conversation_id, "/human_agent")
    alice = server.login("alice", PASSWORD)
    assert api(alice, server, "POST", f"/conversations/{conversation_id}/claim").status_code == 200
    moved = api(alice, server, "POST", f"/conversations/{conversation_id}/transfer",
                json={"to": "bob"})
    assert moved.status_code == 200, moved.text
    assert wait_for(lambda: transfer_logged(db, conversation_id)) == "bob"
    # alice no longer holds it; bob does, and bob's reply goes out under his display name
    refused = api(alice, server, "POST", f"/conversations/{conversation_id}/reply",
                  json={"text": "still me"})
    assert refused.status_code == 409
    bob = server.login("bob", PASSWORD)
    reply = api(bob, server, "POST", f"/conversations/{conversation_id}/reply",
                json={"text": "Bob here."})
    assert reply.status_code == 200 and reply.json()["agent"] == "Bob Baker"
    shown = api(bob, server, "GET", f"/conversations/{conversation_id}").json()
    assert shown["assigned_to"] == "bob"
    unknown = api(bob, server, "POST", f"/conversations/{conversation_id}/transfer",
                  json={"to": "nobody-here"})
    assert unknown.status_code == 404


def test_search_finds_conversations_by_name_order_number_and_words(server, db, a_customer):
    external_id, name, _ = a_customer
    conversation_id = new_conversation()
    words = f"zebra{uuid.uuid4().hex[:6]}"
    signed = {"customer_id": external_id,
              "signature": sign_customer_id(external_id, WIDGET_SECRET)}
    server.say(conversation_id, f"my parcel smells of {words}", **signed)
    alice = server.login("alice", PASSWORD)
    with Session(db) as session:
        order_number = session.scalars(
            select(Order.order_number).join(Customer, Customer.id == Order.customer_id)
            .where(Customer.external_id == external_id).limit(1)).first()

    def found(term: str) -> list[str]:
        response = api(alice, server, "GET", "/search", params={"q": term})
        assert response.status_code == 200, response.text
        return [c["conversation_id"] for c in response.json()["items"]]

    assert conversation_id in found(words)
    assert conversation_id in found(name.split()[0].lower())
    if order_number:
        assert conversation_id in found(order_number)
    assert found("%") is not None  # a LIKE wildcard is searched for, not a match-all
    assert api(alice, server, "GET", "/search", params={"q": ""}).status_code == 400


def test_resolved_conversations_and_the_customers_past_ones_are_listed(server, a_customer):
    external_id, _, _ = a_customer
    signed = {"customer_id": external_id,
              "signature": sign_customer_id(external_id, WIDGET_SECRET)}
    earlier, later = new_conversation(), new_conversation()
    server.say(earlier, "hello", **signed)
    server.say(later, "/human_agent", **signed)
    alice = server.login("alice", PASSWORD)
    api(alice, server, "POST", f"/conversations/{later}/claim")
    shown = api(alice, server, "GET", f"/conversations/{later}").json()
    assert earlier in [c["conversation_id"] for c in shown["past_conversations"]]
    assert later not in [c["conversation_id"] for c in shown["past_conversations"]]
    assert api(alice, server, "POST", f"/conversations/{later}/resolve").status_code == 200
    resolved = api(alice, server, "GET", "/resolved").json()["items"]
    assert later in [c["conversation_id"] for c in resolved]


@pytest.mark.parametrize("path", ["/search?q=x", "/resolved", "/agents", "/saved-replies"])
def test_the_inbox_endpoints_refuse_analysts(server, path):
    analyst = server.login("ann", PASSWORD)
    assert analyst.get(f"{server.url}/agent/api{path}", timeout=10).status_code == 403

