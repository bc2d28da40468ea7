"""Widget polish in Chromium: timestamps, product cards without the same list as text, and
the header following the conversation once the bot answers after an agent ended it; the
agent's initials beside their messages; product cards that say there are more to the side
(fading edge, arrow buttons) and a drawn placeholder for a product without a picture."""

from __future__ import annotations

import re

import pytest
from live_server import PASSWORD, carebot, carebot_env
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from widget_pages import XSS, conversation_id, open_widget, send, watch

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


def test_agent_messages_show_the_agents_initials(context, shop, server, artifacts):
    carebot("users", "add", "zoe", "--role", "agent", "--display-name", "Zoë van der Berg",
            env=carebot_env(server.database_url, CAREBOT_PASSWORD=PASSWORD))
    watched = watch(context.new_page())
    page = watched.page
    open_widget(page, shop.url + "/")
    send(page, "I want to talk to a human")
    expect(page.locator(".cb-status")).to_contain_text("Waiting")
    conversation = conversation_id(page)
    zoe = server.login("zoe", PASSWORD)
    base = f"{server.url}/agent/api/conversations/{conversation}"
    assert zoe.post(base + "/claim", timeout=30).status_code == 200
    for text in ("Hello, I'm Zoë and I'll sort this out.", XSS):
        assert zoe.post(base + "/reply", json={"text": text}, timeout=30).status_code == 200
    rows = page.locator(".cb-agent")
    expect(rows).to_have_count(2)
    for i in range(2):
        avatar = rows.nth(i).locator(".cb-avatar")
        expect(avatar).to_be_visible()
        expect(avatar).to_have_text("ZB")
        box, bubble = avatar.bounding_box(), rows.nth(i).locator(".cb-msg").bounding_box()
        assert box["x"] + box["width"] <= bubble["x"], "the initials sit beside the message"
        assert box["width"] == pytest.approx(box["height"], abs=1)
    expect(rows.first.locator(".cb-who")).to_contain_text("Zoë van der Berg")
    expect(rows.last.locator(".cb-msg")).to_have_text(XSS)  # the agent's words, as text
    assert rows.last.locator("img").count() == 0
    page.screenshot(path=artifacts / "widget-agent-initials.png")
    page.reload()
    page.click(".cb-bubble")
    expect(page.locator(".cb-agent .cb-avatar").first).to_have_text("ZB")  # history too
    expect(page.locator(".cb-status")).to_contain_text("Zoë van der Berg")
    assert not watched.dialogs and not watched.errors, (watched.dialogs, watched.errors)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800},
                                      {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_product_cards_show_there_are_more_and_draw_a_missing_picture(browser, shop, artifacts,
                                                                      viewport):
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        open_widget(page, shop.url + "/")
        send(page, "hello")
        page.click(".cb-quick-btn:has-text('Recommend something')")
        box = page.locator(".cb-cards-box").last
        cards = box.locator(".cb-card")
        expect(cards.first).to_be_visible()
        assert cards.count() >= 3
        scroller = box.locator(".cb-cards")
        assert scroller.evaluate("e => e.scrollWidth > e.clientWidth"), "the cards overflow"
        following, previous = box.locator(".cb-cards-next"), box.locator(".cb-cards-prev")
        expect(following).to_be_visible()
        expect(following).to_have_attribute("aria-label", "More products")
        expect(previous).to_be_hidden()
        expect(box).to_have_class(re.compile(r"\bcb-more-after\b"))
        page.wait_for_function(  # the fading edge on the side with more cards
            "e => getComputedStyle(e, '::after').opacity === '1'", arg=box.element_handle())
        assert box.evaluate("e => getComputedStyle(e, '::before').opacity") == "0"
        page.screenshot(path=artifacts / f"widget-product-cards-more-{viewport['width']}.png")

        following.click()
        expect(previous).to_be_visible()
        assert scroller.evaluate("e => e.scrollLeft") > 0
        expect(box).to_have_class(re.compile(r"\bcb-more-before\b"))
        scroller.evaluate("e => e.scrollTo({left: e.scrollWidth})")  # at the end, no arrow on
        expect(following).to_be_hidden()                               # that side
        expect(box).not_to_have_class(re.compile(r"\bcb-more-after\b"))

        picture = cards.first.locator(".cb-card-img")
        expect(picture.locator("svg")).to_be_visible()
        shown = picture.inner_text().strip()
        assert len(shown) != 1, f"a lone letter for a picture: {shown!r}"
        assert shown, "the placeholder names the product's category"
        assert picture.get_attribute("aria-hidden") == "true"
        page.screenshot(path=artifacts / f"widget-product-cards-end-{viewport['width']}.png")
    finally:
        context.close()
