"""Full conversations over HTTP against a real server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from live_server import wait_for
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from analytics.store.schema import Customer, Escalation, Message, Order

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["module_sqlite_url", "module_postgres_url"])
def database_backend(request) -> str:
    return request.param


def order_with_status(db, *statuses: str) -> tuple[str, str, str]:
    with Session(db) as session:
        order, email = session.execute(
            select(Order, Customer.email).join(Customer).where(Order.status.in_(statuses))
            .order_by(Order.order_number).limit(1)).one()
        return order.order_number, email, order.status


def texts(messages: list[dict]) -> str:
    return " ".join(m.get("text", "") for m in messages).lower()


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_order_status_asks_for_the_order_number_and_answers_from_the_database(server, db):
    order_number, email, status = order_with_status(db, "shipped")
    sender = new_sender()
    assert "demo shop" in texts(server.say(sender, "hello there"))
    asked = texts(server.say(sender, "where is my order?"))
    assert "order number" in asked
    asked_email = texts(server.say(sender, f"it's {order_number}"))
    assert "email" in asked_email
    answer = texts(server.say(sender, email))
    assert order_number.lower() in answer
    assert status in answer


def test_order_of_another_customer_is_not_revealed(server, db):
    order_number, _, status = order_with_status(db, "delivered")
    sender = new_sender()
    server.say(sender, f"what's the status of order {order_number}")
    answer = texts(server.say(sender, "somebody.else@example.org"))
    assert status not in answer
    assert "couldn't find" in answer or "could not find" in answer


def test_cancelling_a_shipped_order_is_refused_and_the_order_stays_shipped(server, db):
    order_number, email, _ = order_with_status(db, "shipped")
    sender = new_sender()
    server.say(sender, f"I want to cancel order {order_number}")
    assert f"cancel order {order_number.lower()}?" in texts(server.say(sender, email))
    answer = texts(server.say(sender, "yes"))
    assert "shipped" in answer
    with Session(db) as session:
        status = session.scalar(select(Order.status).where(Order.order_number == order_number))
    assert status == "shipped"


def test_cancelling_an_unshipped_order_cancels_it_in_the_database(server, db):
    order_number, email, _ = order_with_status(db, "pending", "processing")
    sender = new_sender()
    server.say(sender, "please cancel my order")
    server.say(sender, order_number)
    asked = server.say(sender, email)
    assert f"cancel order {order_number.lower()}?" in texts(asked)
    with Session(db) as session:
        status = session.scalar(select(Order.status).where(Order.order_number == order_number))
    assert status != "cancelled"  # nothing happens before the customer's yes
    assert [b["payload"] for m in asked for b in m.get("buttons", [])] == ["/affirm", "/deny"]
    answer = texts(server.say(sender, "yes"))
    assert "is cancelled" in answer
    with Session(db) as session:
        status = session.scalar(select(Order.status).where(Order.order_number == order_number))
    assert status == "cancelled"


def test_no_to_the_cancel_confirmation_keeps_the_order(server, db):
    order_number, email, status_before = order_with_status(db, "pending", "processing")
    sender = new_sender()
    server.say(sender, f"cancel order {order_number}")
    server.say(sender, email)
    answer = texts(server.say(sender, "no"))
    assert "stays as it is" in answer
    with Session(db) as session:
        status = session.scalar(select(Order.status).where(Order.order_number == order_number))
    assert status == status_before


def test_a_recommendation_lists_products_from_the_catalogue(server, db):
    messages = server.say(new_sender(), "can you recommend some headphones or electronics?")
    products = [p for m in messages for p in (m.get("custom") or {}).get("products", [])]
    assert products, messages
    with db.connect() as conn:
        skus = {row[0] for row in conn.execute(text("SELECT sku FROM products"))}
    assert {p["sku"] for p in products} <= skus


def test_two_misunderstandings_in_a_row_offer_a_human(server):
    sender = new_sender()
    first = server.say(sender, "blorp zzzt quux fnord")
    assert "rephrase" in texts(first)
    second = server.say(sender, "glarb wibble snorf plonk")
    assert "person" in texts(second)
    assert any(b["payload"] == "/human_agent" for m in second for b in m.get("buttons", []))


def test_asking_for_a_human_creates_an_escalation(server, db):
    sender = new_sender()
    answer = texts(server.say(sender, "I want to talk to a real person"))
    assert "person" in answer
    escalation = wait_for(lambda: _escalation(db, sender))
    assert escalation is not None and escalation.reason == "customer_request"
    # while a person is on the way, the bot only says the message reached the queue (with
    # nobody online: asks for an email to reply to), it does not answer it
    (waiting,) = server.say(sender, "hello?")
    assert "email" in waiting["text"]


def _escalation(db, sender):
    with Session(db) as session:
        return session.scalar(select(Escalation).where(Escalation.conversation_id == sender))


def test_every_message_is_stored_with_intent_and_sentiment(server, db):
    sender = new_sender()
    sent = ["hi", "do you ship to canada?", "thanks a lot, that was helpful"]
    replies = [server.say(sender, message) for message in sent]

    def stored():
        with Session(db) as session:
            rows = session.scalars(select(Message).where(Message.conversation_id == sender)
                                   .order_by(Message.created_at)).all()
            return rows if len(rows) == len(sent) + sum(map(len, replies)) else None

    rows = wait_for(stored)
    assert rows, "messages did not reach the store"
    user_rows = [r for r in rows if r.sender == "user"]
    assert [r.text for r in user_rows] == sent
    assert [r.intent for r in user_rows] == ["greet", "shipping_info", "thank_you"]
    assert all(r.sentiment_label in ("negative", "neutral", "positive") for r in user_rows)
    assert user_rows[-1].sentiment_label == "positive"


@pytest.mark.parametrize("request_text, product_word", [
    ("can you recommend good headphones?", "headphones"),
    ("recommend running shoes", "running shoes"),
])
def test_a_recommendation_honours_the_product_asked_for(server, request_text, product_word):
    messages = server.say(new_sender(), request_text)
    products = [p for m in messages for p in (m.get("custom") or {}).get("products", [])]
    assert products and product_word in products[0]["name"].lower(), messages
