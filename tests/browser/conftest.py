"""Real Chromium (Playwright) against real servers; the shop's page is served from another
origin, as on a real shop. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from live_server import (
    PASSWORD,
    REPO,
    WIDGET_SECRET,
    RunningServer,
    seed_shop,
    start_server,
)
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import Engine, create_engine

from bot.identity import sign_customer_id

CHROMIUM = os.environ.get("CAREBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = REPO / "test-artifacts"
EMBED_PAGE = REPO / "bot" / "static" / "embed-demo.html"
DEMO_SERVER = "http://127.0.0.1:8080"  # what embed-demo.html points at out of the box


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; run `make chromium` or set "
                    "CAREBOT_CHROMIUM")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class ShopSite:
    """The shop's own web site on its own origin: the embed demo page pointed at a bot server.

    ``/`` and ``/another-page`` serve the page; ``?customer=C1001`` signs that customer in,
    as the shop's backend would, with the widget secret."""

    def __init__(self, bot_url: str) -> None:
        self.bot_url = bot_url
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                if parts.path not in ("/", "/another-page"):
                    self.send_error(404)
                    return
                customer = parse_qs(parts.query).get("customer", [""])[0]
                body = site.page(customer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, customer: str = "") -> str:
        html = EMBED_PAGE.read_text().replace(DEMO_SERVER, self.bot_url)
        if customer:
            signature = sign_customer_id(customer, WIDGET_SECRET)
            html = html.replace('data-customer-id="" data-customer-signature=""',
                                f'data-customer-id="{customer}" '
                                f'data-customer-signature="{signature}"')
        return html

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def shop_database_url(tmp_path_factory) -> str:
    return seed_shop(f"sqlite:///{tmp_path_factory.mktemp('db') / 'carebot.db'}")


@pytest.fixture(scope="module")
def server(shop_database_url, tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(shop_database_url, tmp_path_factory.mktemp("server"),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def db(shop_database_url) -> Iterator[Engine]:
    engine = create_engine(shop_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def shop(server) -> Iterator[ShopSite]:
    site = ShopSite(server.url)
    yield site
    site.close()


@dataclass
class Watched:
    """A page whose JavaScript dialogs (alert) and errors are recorded, not just dismissed."""

    page: Page
    dialogs: list[str]
    errors: list[str]


def watch(page: Page) -> Watched:
    watched = Watched(page, [], [])

    def on_dialog(dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    return watched


@pytest.fixture
def context(browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def agent_context(browser) -> Iterator[BrowserContext]:
    """A second, separate browser (own cookies and storage) for the agent."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


def log_in_to_console(page: Page, server_url: str, username: str = "alice") -> None:
    page.goto(server_url + "/agent")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#conn.live")
