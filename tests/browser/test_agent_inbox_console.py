"""The agents' inbox in Chromium: a waiting customer told their place and answered while they
wait, readable queue items, views, search, notes, saved replies, transfer, notifications, and
the console at phone width. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from live_server import PASSWORD
from playwright.sync_api import expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from widget_pages import XSS, conversation_id, log_in_to_console, open_widget, send, watch

from analytics.store.records import naive_utc_now
from analytics.store.schema import Customer, Escalation

# Records what the console hands the browser's Notification API (the real one still runs).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  if (!Real) return;
  function Recorded(title, options) { window.__notifications.push(title); return new Real(title, options); }
  Object.defineProperty(Recorded, "permission", {get: () => Real.permission});
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();
"""


def item_of(page, conversation: str):
    return page.locator(f'.queue-item[data-conversation-id="{conversation}"]')


def escalate_over_rest(server, text: str = "/human_agent") -> str:
    conversation = f"inbox-ui-{uuid.uuid4().hex[:10]}"
    server.say(conversation, text)
    return conversation


@pytest.fixture(scope="module")
def customer_email(db) -> tuple[str, str]:
    with Session(db) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id).offset(3).limit(1)).one()
        return customer.name, customer.email


def test_a_waiting_customer_hears_their_place_and_is_answered_while_waiting(
        context, agent_context, shop, server, artifacts):
    agent = watch(agent_context.new_page())
    log_in_to_console(agent.page, server.url, "alice")
    customer = watch(context.new_page())
    widget = customer.page
    open_widget(widget, shop.url + "/")
    send(widget, "I want to talk to a human")
    expect(widget.locator(".cb-bot .cb-msg").last).to_contain_text(
        re.compile(r"number \d+ in the queue"))
    expect(widget.locator(".cb-bot .cb-msg").last).to_contain_text("expected wait")
    before = widget.locator(".cb-bot .cb-msg").count()
    send(widget, "are you still there?")
    expect(widget.locator(".cb-bot .cb-msg")).to_have_count(before + 1)
    expect(widget.locator(".cb-bot .cb-msg").last).to_contain_text("added that to your conversation")
    widget.screenshot(path=artifacts / "widget-waiting-acknowledged.png")
    assert customer.errors == [] and agent.errors == []


def test_queue_items_are_named_explained_and_stale_ones_go_last(
        agent_context, server, db, customer_email, artifacts):
    name, email = customer_email
    stale = escalate_over_rest(server)
    with Session(db) as session:
        session.execute(update(Escalation).where(Escalation.conversation_id == stale)
                        .values(created_at=naive_utc_now() - timedelta(days=30), priority=8))
        session.commit()
    named = f"inbox-ui-{uuid.uuid4().hex[:10]}"
    server.say(named, f"my email is {email}")
    server.say(named, "/human_agent")
    page = watch(agent_context.new_page())
    log_in_to_console(page.page, server.url, "alice")
    console = page.page
    fresh_item = item_of(console, named)
    expect(fresh_item).to_contain_text(name)
    expect(fresh_item).not_to_contain_text("Anonymous visitor")
    expect(fresh_item.locator(".q-urgency")).to_have_attribute("title", re.compile("asked for a person"))
    expect(fresh_item.locator(".q-why")).to_contain_text("waiting")
    stale_item = item_of(console, stale)
    expect(stale_item).to_contain_text("waiting 30 d")
    expect(stale_item.locator(".badge.stale")).to_be_visible()
    ids = console.eval_on_selector_all(".queue-item", "els => els.map(e => e.dataset.conversationId)")
    assert ids.index(named) < ids.index(stale)
    assert not re.search(r"\d{4,} min", console.inner_text("#queue"))
    fresh_item.locator(".queue-open").click()
    expect(console.locator("#chat-title")).to_have_text(name)
    # the address stays on one line in the customer panel
    expect(console.locator("#customer dd.email")).to_have_css("white-space", "nowrap")
    console.screenshot(path=artifacts / "agent-console-inbox.png")
    assert page.errors == []


def test_views_search_notes_saved_replies_and_transfer(agent_context, server, artifacts):
    waiting = escalate_over_rest(server, "/human_agent")
    page = watch(agent_context.new_page())
    log_in_to_console(page.page, server.url, "alice")
    console = page.page
    expect(item_of(console, waiting)).to_be_visible()
    item_of(console, waiting).locator(".queue-open").click()
    console.click("#claim")
    expect(console.locator("#reply-form")).to_be_visible()

    console.click('.view[data-view="mine"]')
    expect(item_of(console, waiting)).to_be_visible()
    console.click('.view[data-view="unassigned"]')
    expect(item_of(console, waiting)).to_have_count(0)
    console.click('.view[data-view="all"]')
    expect(item_of(console, waiting)).to_be_visible()

    # a private note, written as text
    console.fill("#note-text", XSS)
    console.click("#note-add")
    expect(console.locator("#notes .note-text").last).to_have_text(XSS)
    assert console.locator("#notes img").count() == 0

    # a saved reply, inserted with /shortcut + Tab
    shortcut = f"thanks-{uuid.uuid4().hex[:5]}"
    console.locator("#saved-manage summary").click()
    console.fill("#saved-shortcut", shortcut)
    console.fill("#saved-text", "Thanks for waiting, I'm looking at it now.")
    console.click("#saved-form button[type=submit]")
    expect(console.locator("#saved-list")).to_contain_text("/" + shortcut)
    console.fill("#reply-text", "/" + shortcut)
    console.press("#reply-text", "Tab")
    expect(console.locator("#reply-text")).to_have_value("Thanks for waiting, I'm looking at it now.")

    # search by the words the customer wrote (the REST message is "/human_agent": search
    # the conversation's words of another one instead)
    words = f"walrus{uuid.uuid4().hex[:6]}"
    other = f"inbox-ui-{uuid.uuid4().hex[:10]}"
    server.say(other, f"my lamp arrived with a {words} sticker")
    console.fill("#search-q", words)
    console.press("#search-q", "Enter")
    expect(console.locator("#search-note")).to_contain_text("1 conversation")
    expect(item_of(console, other)).to_be_visible()
    console.click('.view[data-view="all"]')

    # transfer to bob
    item_of(console, waiting).locator(".queue-open").click()
    console.select_option("#transfer-to", "bob")
    console.click("#transfer")
    expect(console.locator("#chat-status")).to_contain_text("bob")
    expect(console.locator("#reply-form")).to_be_hidden()
    console.screenshot(path=artifacts / "agent-console-transfer.png")
    assert page.errors == [] and page.dialogs == []


def test_notifications_after_the_agent_allows_them(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        ctx.add_init_script(RECORD_NOTIFICATIONS)
        page = watch(ctx.new_page())
        log_in_to_console(page.page, server.url, "alice")
        console = page.page
        expect(console.locator("#notify-enable")).to_be_visible()
        ctx.grant_permissions(["notifications"], origin=server.url)
        console.click("#notify-enable")
        expect(console.locator("#notify-enable")).to_be_hidden()
        console.wait_for_timeout(300)  # the first queue frame is the baseline, not "new"
        escalate_over_rest(server)
        console.wait_for_function("() => window.__notifications.length > 0", timeout=15000)
        titles = console.evaluate("() => window.__notifications")
        assert any(t.startswith("New conversation waiting") for t in titles)
        assert re.match(r"^\(\d+\) ", console.title())

        # a customer writes in a conversation alice holds but is not looking at
        held = escalate_over_rest(server)
        alice = server.login("alice", PASSWORD)
        claimed = alice.post(f"{server.url}/agent/api/conversations/{held}/claim", timeout=30)
        assert claimed.status_code == 200
        expect(item_of(console, held)).to_contain_text("claimed by alice")
        server.say(held, "any news on my parcel?")
        console.wait_for_function(
            "() => window.__notifications.some(t => t.startsWith('New message from'))",
            timeout=15000)
        expect(item_of(console, held).locator(".badge.unread")).to_have_text("1 new")
        assert page.errors == []
    finally:
        ctx.close()


def test_the_console_fits_a_phone_screen(browser, server, artifacts):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True)
    try:
        page = ctx.new_page()
        log_in_to_console(page, server.url, "alice")
        escalate_over_rest(server)
        expect(page.locator(".queue-item").first).to_be_visible()
        page.locator(".queue-item .queue-open").first.click()
        expect(page.locator("#chat-status")).to_be_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 391, f"the console is {width}px wide on a 390px screen"
        page.screenshot(path=artifacts / "agent-console-phone.png", full_page=True)
    finally:
        ctx.close()


def test_nothing_customers_write_runs_in_the_console(agent_context, server):
    conversation = f"inbox-ui-{uuid.uuid4().hex[:10]}"
    server.say(conversation, "/human_agent")
    server.say(conversation, XSS)  # written while waiting: the queue's preview and title
    page = watch(agent_context.new_page())
    log_in_to_console(page.page, server.url, "alice")
    console = page.page
    expect(item_of(console, conversation)).to_contain_text(XSS)
    item_of(console, conversation).locator(".queue-open").click()
    expect(console.locator("#transcript .msg.from-user .msg-text").last).to_have_text(XSS)
    assert console.locator("#queue img, #chat-title img, #transcript img").count() == 0
    assert page.dialogs == []


def test_the_agent_shows_by_display_name_in_the_widget(context, agent_context, shop, server, db):
    from analytics.store.inbox import set_display_name

    set_display_name(db, "alice", "Alice Moreau")
    try:
        agent = watch(agent_context.new_page())
        log_in_to_console(agent.page, server.url, "alice")
        customer = watch(context.new_page())
        widget = customer.page
        open_widget(widget, shop.url + "/")
        send(widget, "I want to talk to a human")
        expect(widget.locator(".cb-status")).to_contain_text("Waiting")
        conversation = conversation_id(widget)
        console = agent.page
        item_of(console, conversation).locator(".queue-open").click()
        console.click("#claim")
        expect(widget.locator(".cb-notice-text").last).to_contain_text("Alice Moreau")
        console.fill("#reply-text", "Hello from Alice")
        console.press("#reply-text", "Enter")
        expect(widget.locator(".cb-agent .cb-who").last).to_contain_text("Alice Moreau")
    finally:
        set_display_name(db, "alice", None)
