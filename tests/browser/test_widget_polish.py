"""Widget polish in Chromium: timestamps, product cards without the same list as text, and
the header following the conversation once the bot answers after an agent ended it."""

from __future__ import annotations

import re

from live_server import PASSWORD
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from widget_pages import conversation_id, open_widget, send

from analytics.store.schema import Customer, Order


def test_product_cards_are_not_listed_again_as_text(context, shop, artifacts):
    page = context.new_page()
    open_widget(page, shop.url + "/")
    send(page, "hello")
    page.click(".cb-quick-btn:has-text('Recommend something')")
    cards = page.locator(".cb-card")
    expect(cards.first).to_be_visible()
    names = cards.locator(".cb-card-name").all_inner_texts()
    message = page.locator(".cb-bot").last.locator(".cb-msg")
    expect(message).to_be_visible()
    shown = message.inner_text()
    assert shown.strip(), "the intro line stays"
    assert not any(name in shown for name in names), shown
    page.screenshot(path=artifacts / "widget-product-cards.png")


def test_every_message_shows_when_it_was_written(context, shop):
    page = context.new_page()
    open_widget(page, shop.url + "/")
    send(page, "hello")
    expect(page.locator(".cb-bot .cb-msg").first).to_be_visible()
    for row in (page.locator(".cb-user").first, page.locator(".cb-bot").first):
        expect(row.locator(".cb-time")).to_have_text(re.compile(r"^\d{1,2}:\d\d"))
    page.reload()
    page.click(".cb-bubble")
    expect(page.locator(".cb-user .cb-time").first).to_have_text(re.compile(r"^\d{1,2}:\d\d"))


def test_conversation_ended_goes_away_once_the_bot_answers_again(context, shop, server):
    page = context.new_page()
    open_widget(page, shop.url + "/")
    send(page, "I want to talk to a human")
    expect(page.locator(".cb-status")).to_contain_text("Waiting")
    conversation = conversation_id(page)
    agent = server.login("bob", PASSWORD)
    for step in ("claim", "resolve"):
        response = agent.post(f"{server.url}/agent/api/conversations/{conversation}/{step}",
                              timeout=30)
        assert response.status_code == 200, response.text
    expect(page.locator(".cb-status")).to_contain_text("Conversation ended")
    send(page, "hello")
    expect(page.locator(".cb-status")).to_have_text("Carebot, our assistant")


def test_a_shipped_order_links_to_the_carriers_tracking_page(context, shop, db):
    with Session(db) as session:
        number, external_id, carrier, tracking = session.execute(
            select(Order.order_number, Customer.external_id, Order.carrier,
                   Order.tracking_number)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Order.status == "shipped", Order.carrier.is_not(None),
                   Order.tracking_number.is_not(None))
            .order_by(Order.id).limit(1)).one()
    page = context.new_page()
    open_widget(page, f"{shop.url}/?customer={external_id}")
    send(page, f"where is my order {number}?")
    link = page.locator(".cb-bot .cb-track").last
    expect(link).to_contain_text(tracking)
    href = link.get_attribute("href")
    assert href.startswith("https://") and tracking in href
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert carrier in link.inner_text()
