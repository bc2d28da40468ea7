"""A customer asks for a person; an agent in another browser takes over, live, in Chromium."""

from __future__ import annotations

import re

import pytest
from live_server import PASSWORD, wait_for
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from widget_pages import XSS, conversation_id, log_in_to_console, open_widget, send, watch

from analytics.store.schema import Conversation, Customer, Escalation, Message

AGENT_REPLY = "Hi, I'm Alice <b>from support</b>. Let me look into it."


@pytest.fixture(scope="module")
def verified_customer(db) -> tuple[str, str]:
    with Session(db) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        return customer.external_id, customer.name


def bot_messages_between(db, conversation: str, start, end) -> int:
    with Session(db) as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation, Message.sender == "bot",
            Message.created_at > start, Message.created_at < end))


def test_an_agent_takes_over_live_the_bot_keeps_quiet_and_the_customer_rates_it(
        context, agent_context, shop, server, db, artifacts, verified_customer):
    external_id, name = verified_customer
    agent = watch(agent_context.new_page())
    log_in_to_console(agent.page, server.url, "alice")
    customer = watch(context.new_page())
    widget = customer.page
    console = agent.page

    open_widget(widget, f"{shop.url}/?customer={external_id}")
    send(widget, "hello")
    expect(widget.locator(".cb-bot .cb-msg").first).to_contain_text("Carebot")
    send(widget, "I want to talk to a human")
    expect(widget.locator(".cb-bot .cb-msg").last).to_contain_text("person")
    expect(widget.locator(".cb-status")).to_contain_text("Waiting")
    conversation = conversation_id(widget)

    # It appears in the console's queue without a reload.
    item = console.locator(f'.queue-item[data-conversation-id="{conversation}"]')
    expect(item).to_be_visible(timeout=10000)
    expect(item).to_contain_text(name)
    item.locator(".queue-open").click()
    expect(console.locator(".msg.from-user .chip.intent").last).to_contain_text("human_agent")
    expect(console.locator(".msg.from-user .chip.sentiment").last).to_have_text(
        re.compile("^(negative|neutral|positive)$"))
    expect(console.locator("#customer .cust-name")).to_have_text(name)
    expect(console.locator("#customer .verified")).to_be_visible()
    expect(console.locator("#customer .orders li").first).to_be_visible()

    console.click("#claim")
    expect(widget.locator(".cb-notice-text").last).to_contain_text("alice")
    expect(widget.locator(".cb-status")).to_contain_text("alice")
    bot_lines_before = widget.locator(".cb-bot").count()

    # While the agent holds it, what the customer writes reaches the agent, not the bot.
    send(widget, XSS)
    expect(console.locator(".msg.from-user .msg-text").last).to_have_text(XSS)
    console.fill("#reply-text", AGENT_REPLY)
    console.press("#reply-text", "Enter")
    expect(widget.locator(".cb-agent .cb-msg").last).to_have_text(AGENT_REPLY)
    expect(widget.locator(".cb-agent .cb-who").last).to_contain_text("alice")
    widget.screenshot(path=artifacts / "widget-with-agent.png")
    console.screenshot(path=artifacts / "agent-console.png")
    assert widget.locator(".cb-bot").count() == bot_lines_before

    console.click("#resolve")
    expect(widget.locator(".cb-csat")).to_be_visible()
    widget.click(".cb-csat-n[aria-label^='4 of 5']")
    widget.fill(".cb-csat-comment", "Alice sorted it out")
    widget.click(".cb-csat-send")
    expect(widget.locator(".cb-csat-thanks")).to_be_visible()
    widget.screenshot(path=artifacts / "widget-rated.png")

    def stored_rating():
        with Session(db) as session:
            row = session.get(Conversation, conversation)
            return row and row.csat_rating == 4 and (row.csat_rating, row.csat_comment)

    assert wait_for(stored_rating) == (4, "Alice sorted it out")
    with Session(db) as session:
        escalation = session.scalars(select(Escalation).where(
            Escalation.conversation_id == conversation)).one()
    assert escalation.status == "resolved"
    assert bot_messages_between(db, conversation, escalation.claimed_at,
                                escalation.resolved_at) == 0
    # Nothing written by anyone ran as HTML, in either browser.
    assert widget.locator(".cb-log img, .cb-log b").count() == 0
    assert console.locator("#transcript img, #transcript b, #queue img").count() == 0
    assert customer.dialogs == [] and agent.dialogs == []
    assert customer.errors == [] and agent.errors == []


def test_the_console_refuses_an_analyst(agent_context, server):
    page = agent_context.new_page()
    page.goto(server.url + "/agent")
    page.fill("#login-username", "ann")
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("analyst")
    expect(page.locator("#console-view")).to_be_hidden()
