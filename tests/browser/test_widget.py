"""The customer's widget in Chromium, embedded in a shop page on another origin."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from live_server import wait_for
from playwright.sync_api import Page, expect
from widget_pages import XSS, conversation_id, open_widget, outbox, send, user_messages_in_db, watch


def test_a_page_on_another_origin_embeds_the_widget_and_a_reload_continues_the_conversation(
        context, shop, server, db, artifacts):
    watched = watch(context.new_page())
    page = watched.page
    assert urlsplit(shop.url).netloc != urlsplit(server.url).netloc
    open_widget(page, shop.url + "/")
    send(page, "hello")
    expect(page.locator(".cb-bot .cb-msg").first).to_contain_text("Carebot")
    expect(page.locator(".cb-user")).not_to_have_class(re.compile("cb-pending"))
    page.screenshot(path=artifacts / "widget-desktop.png")
    first_id = conversation_id(page)

    page.reload()
    expect(page.locator(".cb-user .cb-msg")).to_have_text(["hello"])
    expect(page.locator(".cb-bot .cb-msg").first).to_contain_text("Carebot")
    send(page, "thank you")
    expect(page.locator(".cb-bot .cb-msg")).to_have_count(2)

    page.goto(shop.url + "/another-page")
    expect(page.locator(".cb-user .cb-msg")).to_have_text(["hello", "thank you"])
    page.screenshot(path=artifacts / "widget-after-reload.png")
    assert conversation_id(page) == first_id
    assert wait_for(lambda: user_messages_in_db(db, first_id, "thank you") == 1)
    assert watched.errors == []


def test_customer_text_that_looks_like_html_is_shown_as_text_and_runs_nothing(context, shop):
    watched = watch(context.new_page())
    page = watched.page
    open_widget(page, shop.url + "/")
    send(page, XSS)
    expect(page.locator(".cb-user .cb-msg")).to_have_text([XSS])
    expect(page.locator(".cb-bot .cb-msg").first).to_be_visible()
    page.reload()  # and again when it comes back from the server as history
    expect(page.locator(".cb-user .cb-msg")).to_have_text([XSS])
    page.wait_for_timeout(300)
    assert page.locator(".cb-log img").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []


def drop_connection_once(page: Page, when) -> dict:
    """Proxy the widget's socket; the first time ``when(direction, message)`` is true the
    connection drops on both sides and that message is lost."""
    state = {"connections": 0, "dropped": False}

    def route(ws) -> None:
        state["connections"] += 1
        server = ws.connect_to_server()

        def relay(direction: str, message, forward) -> None:
            if not state["dropped"] and when(direction, json.loads(message)):
                state["dropped"] = True
                ws.close(code=4000, reason="network dropped")
                server.close()
                return
            forward(message)

        ws.on_message(lambda message: relay("to_server", message, server.send))
        server.on_message(lambda message: relay("to_page", message, ws.send))

    page.route_web_socket(re.compile(r"/ws$"), route)
    return state


def test_a_socket_dropped_mid_reply_loses_no_message(context, shop, db):
    page = context.new_page()
    # The server has the message and is answering when the connection goes.
    state = drop_connection_once(page, lambda direction, m: m.get("type") == "ack")
    open_widget(page, shop.url + "/")
    send(page, "hello")
    expect(page.locator(".cb-bot .cb-msg").first).to_contain_text("Carebot", timeout=15000)
    expect(page.locator(".cb-user .cb-msg")).to_have_text(["hello"])
    assert state["dropped"] and state["connections"] >= 2
    assert outbox(page) == []
    assert wait_for(lambda: user_messages_in_db(db, conversation_id(page), "hello") == 1)


def test_a_message_lost_on_the_way_is_sent_again_after_reconnecting(context, shop, db):
    page = context.new_page()
    state = drop_connection_once(
        page, lambda direction, m: direction == "to_server" and m.get("type") == "message")
    open_widget(page, shop.url + "/")
    send(page, "hello")
    expect(page.locator(".cb-bot .cb-msg").first).to_contain_text("Carebot", timeout=15000)
    expect(page.locator(".cb-user .cb-msg")).to_have_text(["hello"])
    assert state["dropped"] and state["connections"] >= 2
    assert outbox(page) == []
    assert wait_for(lambda: user_messages_in_db(db, conversation_id(page), "hello") == 1)


def test_quick_replies_and_product_cards(context, shop):
    page = context.new_page()
    open_widget(page, shop.url + "/")
    send(page, "hello")
    page.click(".cb-quick-btn:has-text('Recommend something')")
    cards = page.locator(".cb-card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 1
    expect(cards.first.locator(".cb-card-price")).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    link = cards.first.locator(".cb-card-link").get_attribute("href")
    assert link.startswith(shop.url + "/products/")  # the shop's own product page
    # The button's title, not its payload, is what the customer sees they said.
    expect(page.locator(".cb-user .cb-msg").last).to_have_text("Recommend something")


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True, device_scale_factor=2)
    yield ctx
    ctx.close()


def test_the_widget_fills_a_phone_screen_and_works_from_the_keyboard(phone, shop, artifacts):
    page = phone.new_page()
    page.goto(shop.url + "/")
    expect(page.locator(".cb-bubble")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.shadowRoot.activeElement.className") \
        == "cb-bubble"
    page.keyboard.press("Enter")
    expect(page.locator(".cb-panel")).to_be_visible()
    assert page.evaluate("() => document.activeElement.shadowRoot.activeElement.id") \
        == "cb-input"
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    expect(page.locator(".cb-bot .cb-msg").first).to_contain_text("Carebot")
    box = page.locator(".cb-panel").bounding_box()
    assert box["width"] == 390 and abs(box["height"] - 844) < 0.5  # sub-pixel rounding
    page.screenshot(path=artifacts / "widget-phone.png")
    page.keyboard.press("Escape")
    expect(page.locator(".cb-panel")).to_be_hidden()
    assert page.evaluate("() => document.activeElement.shadowRoot.activeElement.className") \
        == "cb-bubble"


def test_the_panel_opens_with_a_welcome_and_a_reply_time_until_the_conversation_starts(
        context, shop):
    watched = watch(context.new_page())
    page = watched.page
    open_widget(page, shop.url + "/")
    expect(page.locator(".cb-welcome-text")).to_be_visible()
    expect(page.locator(".cb-reply-time")).to_contain_text("replies within")
    send(page, "hello")
    expect(page.locator(".cb-bot .cb-msg").first).to_be_visible()
    expect(page.locator(".cb-welcome")).to_be_hidden()
    assert watched.errors == []
