"""Helpers for driving the widget and the console in Chromium, and the shop's own site."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from live_server import PASSWORD, REPO, WIDGET_SECRET
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.store.schema import Message
from bot.channels.identity import sign_customer_id

EMBED_PAGE = REPO / "bot" / "static" / "embed-demo.html"
DEMO_SERVER = "http://127.0.0.1:8080"  # what embed-demo.html points at out of the box


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
                if parts.path == "/embed-demo.css":  # the page's own (hostile) styles
                    self.send_file(EMBED_PAGE.with_suffix(".css").read_bytes(), "text/css")
                    return
                if parts.path not in ("/", "/another-page"):
                    self.send_error(404)
                    return
                customer = parse_qs(parts.query).get("customer", [""])[0]
                self.send_file(site.page(customer).encode(), "text/html; charset=utf-8")

            def send_file(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
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


XSS = "<img src=x onerror=alert(1)>"


def send(page: Page, text: str) -> None:
    page.fill(".cb-input", text)
    page.press(".cb-input", "Enter")


def conversation_id(page: Page) -> str | None:
    return page.evaluate("""() => {
        for (const key of Object.keys(localStorage))
            if (key.endsWith(':conversation')) return JSON.parse(localStorage.getItem(key));
        return null; }""")


def outbox(page: Page) -> list:
    return page.evaluate("""() => {
        for (const key of Object.keys(localStorage))
            if (key.endsWith(':outbox')) return JSON.parse(localStorage.getItem(key));
        return []; }""")


def user_messages_in_db(db, conversation: str, text: str) -> int:
    with Session(db) as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation, Message.sender == "user",
            Message.text == text))


def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    page.click(".cb-bubble")
    expect(page.locator(".cb-panel")).to_be_visible()


def log_in_to_console(page: Page, server_url: str, username: str = "alice") -> None:
    page.goto(server_url + "/agent")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#conn.live")
