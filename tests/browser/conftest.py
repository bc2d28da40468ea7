"""Real Chromium (Playwright) against real servers; the shop's page is served from another
origin, as on a real shop. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import REPO
from playwright.sync_api import Browser, BrowserContext, sync_playwright
from widget_pages import ShopSite

CHROMIUM = os.environ.get("CAREBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = REPO / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # per module: Playwright's sync API keeps an event loop running in this thread while it
    # is open, which would break later tests that call asyncio.run()
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





@pytest.fixture(scope="module")
def shop(server) -> Iterator[ShopSite]:
    site = ShopSite(server.url)
    yield site
    site.close()


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
