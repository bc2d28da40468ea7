"""Every page works in Chromium under the server's Content-Security-Policy, without a single
violation: the chat page, the agent console and the analytics dashboard; and the console
refuses to be framed by another site."""

from __future__ import annotations

import pytest
from live_server import PASSWORD
from playwright.sync_api import Page, expect
from widget_pages import log_in_to_console


def violations(page: Page) -> list[str]:
    """CSP violations the page reports (the browser also logs them as "Refused to ...")."""
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy"
            in msg.text or msg.text.startswith("Refused to") else None)
    page.add_init_script("""document.addEventListener('securitypolicyviolation', e =>
        console.error('Refused to ' + e.violatedDirective + ' (Content Security Policy): '
                      + e.blockedURI))""")
    return found


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


def test_the_chat_page_talks_to_the_bot_under_the_policy(page, server):
    refused = violations(page)
    page.goto(server.url + "/")
    page.fill("#text", "hi")
    page.press("#text", "Enter")
    expect(page.locator(".msg.bot").first).to_be_visible(timeout=30_000)
    assert refused == []


def test_the_agent_console_logs_in_and_goes_live_under_the_policy(page, server):
    refused = violations(page)
    log_in_to_console(page, server.url)
    assert refused == []


def test_the_dashboard_draws_its_charts_under_the_policy(page, server):
    refused = violations(page)
    page.goto(server.url + "/analytics")
    page.fill("#login-username", "ann")
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#dashboard-view .js-plotly-plot", timeout=30_000)
    assert refused == []


def test_another_site_cannot_frame_the_console(page, server, shop):
    refused = violations(page)
    page.goto(shop.url + "/")
    page.evaluate("""url => { const f = document.createElement('iframe'); f.src = url;
                              document.body.appendChild(f); }""", server.url + "/agent")
    page.wait_for_timeout(1500)
    framed = next(f for f in page.frames if f != page.main_frame)
    assert framed.url in ("", "about:blank", "chrome-error://chromewebdata/") \
        or framed.locator("#login-form").count() == 0
    assert any("frame-ancestors" in message for message in refused)
