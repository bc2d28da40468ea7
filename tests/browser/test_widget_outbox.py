"""The widget's outbox in real Chromium: a message leaves it only on `ack`. With Redis killed
under the server, typed messages show "Not sent — retrying…" and are all stored once Redis
is back; a message the server refuses for good is shown with its text kept for editing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_server import WIDGET_SECRET, RunningServer, start_server, wait_for
from playwright.sync_api import expect
from throwaway import ThrowawayRedis
from widget_pages import conversation_id, open_widget, outbox, send, user_messages_in_db, watch


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[ThrowawayRedis]:
    redis = ThrowawayRedis(tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory, redis_server) -> Iterator[RunningServer]:
    running = start_server(seeded_database_url, tmp_path_factory.mktemp("server"),
                           CAREBOT_REDIS_URL=redis_server.url,
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET)
    yield running
    running.stop()


def test_messages_typed_while_redis_is_down_are_retried_and_stored_once_it_is_back(
        context, shop, redis_server, db):
    page = context.new_page()
    watched = watch(page)
    open_widget(page, shop.url + "/")
    send(page, "hi")
    expect(page.locator(".cb-bot .cb-msg").first).to_be_visible(timeout=20_000)
    expect(page.locator(".cb-user.cb-pending")).to_have_count(0)

    redis_server.kill()
    texts = [f"typed while redis is down, number {i}" for i in range(5)]
    for text in texts:
        send(page, text)
    retrying = page.locator(".cb-user.cb-retrying")
    expect(retrying).to_have_count(len(texts), timeout=20_000)
    expect(retrying.first.locator(".cb-meta")).to_have_text("Not sent \u2014 retrying\u2026")
    assert len(outbox(page)) == len(texts)

    redis_server.start()
    expect(page.locator(".cb-user.cb-retrying, .cb-user.cb-pending")).to_have_count(
        0, timeout=60_000)
    assert outbox(page) == []
    conversation = conversation_id(page)
    for text in texts:
        assert wait_for(lambda t=text: user_messages_in_db(db, conversation, t) == 1), text
    assert watched.errors == []


def test_a_message_refused_for_good_is_shown_with_its_text_back_in_the_input(context, shop):
    page = context.new_page()
    open_widget(page, shop.url + "/")
    expect(page.locator(".cb-status")).to_be_visible()
    refused = "order A10001 \u0000 please"  # the server never stores a NUL character
    send(page, refused)
    failed = page.locator(".cb-user.cb-failed")
    expect(failed).to_have_count(1, timeout=20_000)
    expect(failed.locator(".cb-meta")).to_contain_text("Not sent: message contains a NUL")
    assert page.input_value(".cb-input") == refused
    assert outbox(page) == []
    failed.locator(".cb-edit").click()
    expect(failed).to_have_count(0)
    assert page.input_value(".cb-input") == refused
