from __future__ import annotations

from pathlib import Path

from rasa_sdk.events import SlotSet
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions.settings import Shop
from analytics.store.schema import Order
from analytics.store.shop import ShopRepository


def _texts(result) -> list[str]:
    return [message["text"] for message in result.responses]


def _status_of(engine, number: str) -> tuple[str, object]:
    with Session(engine) as session:
        order = session.scalars(select(Order).where(Order.order_number == number)).one()
        return order.status, order.cancelled_at


async def test_order_status_tells_the_owner_the_carrier_and_tracking_number(run_action):
    result = await run_action("action_order_status", order_id="A10003", email="ana@example.com")

    (text,) = _texts(result)
    assert "A10003 shipped on 12 May 2026 with UPS" in text
    assert "1Z999AA10123456784" in text
    assert "1 × Trail Running Shoes, 1 × USB-C Cable" in text
    assert result.events == [SlotSet("order_id", "A10003")]
    card = result.responses[0]["custom"]
    assert card["type"] == "order" and card["tracking_number"] == "1Z999AA10123456784"
    assert card["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"


async def test_order_numbers_and_emails_match_whatever_their_case(run_action):
    result = await run_action("action_order_status", order_id="a10001", email="ANA@Example.com ")

    assert "Order A10001 was placed on 14 May 2026" in _texts(result)[0]


async def test_a_verified_customer_needs_no_email_to_see_their_order(run_action):
    result = await run_action("action_order_status", order_id="A10004", customer_id="C1001")

    assert "A10004 was delivered on 10 May 2026" in _texts(result)[0]


async def test_another_customers_order_is_refused_exactly_like_a_missing_one(run_action):
    someone_elses = await run_action(
        "action_order_status", order_id="A10010", email="ana@example.com"
    )
    missing = await run_action("action_order_status", order_id="A99999", email="ana@example.com")

    text = _texts(someone_elses)[0]
    assert text == _texts(missing)[0].replace("A99999", "A10010")
    assert "couldn't find an order A10010 for the email ana@example.com" in text
    for leak in ("shipped", "DHL", "Mouse", "Ben"):
        assert leak not in text
    assert someone_elses.events == [SlotSet("order_id", None)]


async def test_a_verified_customer_cannot_see_another_customers_order(run_action):
    result = await run_action("action_order_status", order_id="A10010", customer_id="C1001")

    assert "couldn't find an order A10010 for your account" in _texts(result)[0]


async def test_order_status_asks_for_the_email_when_the_customer_is_unknown(run_action):
    result = await run_action("action_order_status", order_id="A10003")

    assert "email address" in _texts(result)[0]
    assert "shipped" not in _texts(result)[0]


async def test_order_status_asks_for_the_order_number_when_none_was_given(run_action):
    result = await run_action("action_order_status", email="ana@example.com")

    assert "What's your order number?" in _texts(result)[0]


async def test_cancelling_an_unshipped_order_cancels_it_in_the_database(run_action, engine, now):
    result = await run_action(
        "action_cancel_order", order_id="A10002", email="ana@example.com", cancel_confirmed=True
    )

    assert "order A10002 is cancelled" in _texts(result)[0]
    assert _status_of(engine, "A10002") == ("cancelled", now)


async def test_without_the_customers_yes_nothing_is_cancelled(run_action, engine):
    result = await run_action("action_cancel_order", order_id="A10002", email="ana@example.com")

    assert [m.get("response") for m in result.responses] == ["utter_ask_cancel_confirmed"]
    assert _status_of(engine, "A10002")[0] != "cancelled"


async def test_a_no_to_the_confirmation_keeps_the_order(run_action, engine):
    result = await run_action(
        "action_cancel_order", order_id="A10002", email="ana@example.com", cancel_confirmed=False
    )

    assert [m.get("response") for m in result.responses] == ["utter_cancel_kept"]
    assert _status_of(engine, "A10002")[0] != "cancelled"


async def test_cancelling_a_shipped_order_is_refused_and_offers_a_return(run_action, engine):
    result = await run_action(
        "action_cancel_order", order_id="A10003", customer_id="C1001", cancel_confirmed=True
    )

    (message,) = result.responses
    assert "already shipped on 12 May 2026, so it can't be cancelled" in message["text"]
    assert message["buttons"] == [{"title": "Start a return", "payload": "/return_item"}]
    assert _status_of(engine, "A10003") == ("shipped", None)


async def test_cancelling_a_delivered_order_is_refused(run_action, engine):
    result = await run_action(
        "action_cancel_order", order_id="A10004", customer_id="C1001", cancel_confirmed=True
    )

    assert "was delivered on 10 May 2026, so it can't be cancelled" in _texts(result)[0]
    assert _status_of(engine, "A10004") == ("delivered", None)


async def test_cancelling_an_already_cancelled_order_says_so(run_action):
    result = await run_action(
        "action_cancel_order", order_id="A10006", customer_id="C1001", cancel_confirmed=True
    )

    assert "already cancelled (since 26 April 2026)" in _texts(result)[0]


async def test_cancelling_another_customers_order_changes_nothing(run_action, engine):
    result = await run_action(
        "action_cancel_order", order_id="A10010", email="ana@example.com", cancel_confirmed=True
    )

    assert "couldn't find an order A10010" in _texts(result)[0]
    assert _status_of(engine, "A10010") == ("shipped", None)


async def test_a_return_is_offered_within_30_days_of_delivery(run_action):
    result = await run_action("action_return_item", order_id="A10004", customer_id="C1001")

    text = _texts(result)[0]
    assert "A10004 can be returned until 9 June 2026" in text
    assert "ana@example.com" in text


async def test_the_return_window_closes_30_days_after_delivery(run_action):
    result = await run_action("action_return_item", order_id="A10005", customer_id="C1001")

    (message,) = result.responses
    assert "return window closed on 30 April 2026" in message["text"]
    assert message["buttons"] == [{"title": "Talk to a person", "payload": "/human_agent"}]


async def test_an_unshipped_order_cannot_be_returned_but_can_be_cancelled(run_action):
    result = await run_action("action_return_item", order_id="A10001", customer_id="C1001")

    (message,) = result.responses
    assert "hasn't shipped yet" in message["text"]
    assert message["buttons"] == [{"title": "Cancel the order", "payload": "/cancel_order"}]


async def test_refund_status_reports_a_completed_refund(run_action):
    result = await run_action("action_refund_status", order_id="A10007", email="ana@example.com")

    assert "A10007 has been refunded: $55.00" in _texts(result)[0]


async def test_a_verified_customer_gets_their_profile(run_action):
    result = await run_action("action_customer_profile", customer_id="C1001")

    text = _texts(result)[0]
    assert "Ana Lima" in text
    assert "VIP member (loyal)" in text
    # 7 orders; the cancelled and the returned one are not part of the lifetime value
    assert "Orders: 7, worth $358.98 in total" in text
    assert "A10001 (pending, 14 May 2026)" in text


async def test_an_anonymous_visitor_is_asked_to_sign_in_for_their_profile(run_action):
    result = await run_action("action_customer_profile", email="ana@example.com")

    text = _texts(result)[0]
    assert "signed in" in text
    assert "Ana" not in text


async def test_a_database_without_the_shop_tables_gets_an_apology(
    executor, make_call, use_shop, tmp_path: Path
):
    use_shop(Shop(ShopRepository(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))))
    result = await executor.run(
        make_call("action_order_status", order_id="A10003", email="ana@example.com")
    )

    assert "can't reach our order system" in _texts(result)[0]
