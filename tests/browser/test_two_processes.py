"""Two `carebot serve` processes over one PostgreSQL and one Redis act as one deployment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from live_server import (
    PASSWORD,
    REDIS_URL,
    WIDGET_SECRET,
    RunningServer,
    postgres_database,
    redis_unreachable_reason,
    seed_shop,
    start_server,
    wait_for,
)
from playwright.sync_api import expect
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session
from widget_pages import ShopSite, conversation_id, log_in_to_console, open_widget, send, watch

from analytics.store.schema import Conversation, Message

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_shop_url() -> Iterator[str]:
    with postgres_database() as url:
        yield seed_shop(url)


@pytest.fixture(scope="module")
def servers(postgres_shop_url, tmp_path_factory) -> Iterator[tuple[RunningServer, RunningServer]]:
    reason = redis_unreachable_reason()
    if reason:
        pytest.skip(reason)
    started: list[RunningServer] = []
    try:
        for _ in range(2):
            started.append(start_server(postgres_shop_url, tmp_path_factory.mktemp("server"),
                                        CAREBOT_REDIS_URL=REDIS_URL,
                                        CAREBOT_WIDGET_SECRET=WIDGET_SECRET))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def pg(postgres_shop_url) -> Iterator[Engine]:
    engine = create_engine(postgres_shop_url)
    yield engine
    engine.dispose()


def user_messages(pg, conversation: str) -> int:
    with Session(pg) as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation, Message.sender == "user"))


def test_messages_of_one_conversation_at_both_processes_are_handled_one_at_a_time(servers, pg):
    first, second = servers
    conversation = f"two-{uuid.uuid4().hex[:10]}"
    turns = 16
    # Each turn counts itself in the shared state; two turns on stale or overlapping state
    # would count as one.
    with ThreadPoolExecutor(max_workers=turns) as pool:
        replies = list(pool.map(lambda i: (first, second)[i % 2].say(conversation, "/greet"),
                                range(turns)))
    assert all(replies)
    assert first.tracker(conversation)["turns"] == turns
    assert second.tracker(conversation)["turns"] == turns
    assert wait_for(lambda: user_messages(pg, conversation) == turns)


def test_a_claim_and_a_hand_back_at_one_process_steer_the_bot_at_the_other(servers):
    first, second = servers
    conversation = f"two-{uuid.uuid4().hex[:10]}"
    second.say(conversation, "/human_agent")
    agent = first.login("alice", PASSWORD)
    steps = f"{first.url}/agent/api/conversations/{conversation}"
    assert agent.post(steps + "/claim", timeout=30).status_code == 200
    assert second.say(conversation, "/greet") == []  # the other process knows: bot silent
    assert agent.post(steps + "/handback", timeout=30).status_code == 200
    assert second.say(conversation, "/greet") != []


def test_an_agent_on_one_process_serves_a_customer_on_the_other(
        browser, servers, pg, tmp_path_factory):
    console_server, widget_server = servers
    shop = ShopSite(widget_server.url)
    customer_context = browser.new_context()
    agent_context = browser.new_context()
    try:
        agent = watch(agent_context.new_page())
        log_in_to_console(agent.page, console_server.url, "alice")
        customer = watch(customer_context.new_page())
        widget, console = customer.page, agent.page

        open_widget(widget, shop.url + "/")
        send(widget, "I want to talk to a human")
        expect(widget.locator(".cb-bot .cb-msg").last).to_contain_text("person")
        conversation = conversation_id(widget)
        item = console.locator(f'.queue-item[data-conversation-id="{conversation}"]')
        expect(item).to_be_visible(timeout=10000)
        item.locator(".queue-open").click()
        console.click("#claim")
        expect(widget.locator(".cb-notice-text").last).to_contain_text("alice")

        console.fill("#reply-text", "Hello from the other process")
        console.press("#reply-text", "Enter")
        expect(widget.locator(".cb-agent .cb-msg").last).to_have_text(
            "Hello from the other process")
        send(widget, "thanks, my parcel is missing")
        expect(console.locator(".msg.from-user .msg-text").last).to_have_text(
            "thanks, my parcel is missing")

        console.click("#resolve")
        widget.click(".cb-csat-n[aria-label^='4 of 5']")
        widget.click(".cb-csat-send")
        expect(widget.locator(".cb-csat-thanks")).to_be_visible()

        def rating():
            with Session(pg) as session:
                row = session.get(Conversation, conversation)
                return row.csat_rating if row else None

        assert wait_for(lambda: rating() == 4)
        assert customer.errors == [] and agent.errors == []
    finally:
        customer_context.close()
        agent_context.close()
        shop.close()
