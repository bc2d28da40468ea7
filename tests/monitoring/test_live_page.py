"""The live operations page and the console's strip in real Chromium, against a real server."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import PASSWORD, REPO, WIDGET_SECRET, start_server
from playwright.sync_api import Browser, Page, expect, sync_playwright
from servers import settings_file
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.store.schema import Customer, Order

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("CAREBOT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
MAX_DELAY_SECONDS = 2.0


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("live")
    # the default rules, and quick slow-downs so the enumeration below takes seconds
    config = settings_file(directory, "abuse:\n  slow_down_seconds: 0.2\n")
    running = start_server(seeded_database_url, directory, CAREBOT_CONFIG=str(config),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; run `make chromium` or set "
                    "CAREBOT_CHROMIUM")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


@pytest.fixture
def second_page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    yield context.new_page()
    context.close()


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")


def open_live_page(page: Page, server) -> None:
    log_in(page, server.url + "/analytics/live", "ann")
    expect(page.locator("#conn")).to_have_text("Live")
    expect(page.locator("#live-updated")).not_to_have_text("never")


def test_the_live_page_shows_a_new_escalation_within_two_seconds(page, server, capsys):
    open_live_page(page, server)
    waiting = int(page.locator("#live-queue").inner_text())
    started = time.monotonic()
    server.say(f"live-{uuid.uuid4().hex[:8]}", "/human_agent")
    expect(page.locator("#live-queue")).to_have_text(str(waiting + 1),
                                                     timeout=MAX_DELAY_SECONDS * 1000)
    delay = time.monotonic() - started
    expect(page.locator("#live-active")).not_to_have_text("0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "live-page.png", full_page=True)
    with capsys.disabled():
        print(f"\nlive page: escalation shown {delay:.2f} s after the customer asked "
              f"(screenshot {ARTIFACTS / 'live-page.png'})")
    assert delay < MAX_DELAY_SECONDS


def test_an_alert_shows_while_nobody_can_answer_and_clears_when_an_agent_comes(
        page, second_page, server):
    open_live_page(page, server)
    server.say(f"live-{uuid.uuid4().hex[:8]}", "/human_agent")
    alert = page.locator('.alert[data-rule="nobody_to_answer"]')
    expect(alert).to_contain_text("no agent is online", timeout=10000)
    # The console's strip shows the alert from its first snapshot until the next one counts
    # this agent: a moment a poll can miss, so every text the strip gets is written down.
    second_page.add_init_script(
        "window.__strip = []; new MutationObserver(() => {"
        " const e = document.getElementById('strip-alerts');"
        " if (e) window.__strip.push(e.textContent); })"
        ".observe(document, {subtree: true, childList: true, characterData: true});")
    log_in(second_page, server.url + "/agent", "alice")
    deadline = time.monotonic() + 10
    while not any("no agent is online" in t for t in second_page.evaluate("window.__strip")):
        assert time.monotonic() < deadline, second_page.evaluate("window.__strip")
        second_page.wait_for_timeout(100)
    expect(page.locator("#live-agents")).to_have_text("1", timeout=10000)
    expect(alert).to_have_count(0, timeout=10000)
    expect(page.locator("#alerts-none")).to_be_visible()
    expect(page.locator("#alert-history tbody tr").first).to_contain_text("nobody_to_answer")


def test_the_console_shows_the_live_strip_and_a_risk_badge_with_the_reasons(page, server, db):
    with Session(db) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        others = session.scalars(select(Order.order_number).where(
            Order.customer_id != customer.id).order_by(Order.id.desc()).limit(8)).all()
    conversation = f"risk-{uuid.uuid4().hex[:8]}"
    server.say(conversation, f"hi, my email is {customer.email}")
    for number in others:
        server.say(conversation, f"where is my order {number}")
    log_in(page, server.url + "/agent", "alice")
    expect(page.locator("#strip-agents")).to_have_text("1")
    expect(page.locator("#strip-queue")).not_to_have_text("–")
    item = page.locator(f'.queue-item[data-conversation-id="{conversation}"]')
    expect(item).to_contain_text("suspected abuse")
    item.locator(".queue-open").click()
    badge = page.locator("#risk-badge")
    expect(badge).to_be_visible()
    expect(badge).to_contain_text("matched no order")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "console-live-strip-risk.png")


def test_the_live_page_turns_an_agent_away_to_the_console(page, server):
    log_in(page, server.url + "/analytics/live", "alice")
    expect(page.locator("#denied-text")).to_contain_text("agent console")
