"""What a hostile tester broke, against a real `carebot serve`: the REST takeover of a widget
conversation, sessions that outlived log-out, hostile JSON, oversized frames, slow and
abandoned bodies, missing security headers."""

from __future__ import annotations

import asyncio
import re
import socket
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import requests
from live_server import PASSWORD, REPO, add_user, carebot, carebot_env, wait_for

pytestmark = pytest.mark.slow

WEBHOOK = "/webhooks/rest/webhook"
STATIC = REPO / "bot" / "static"


async def open_chat(server):
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(server.ws_url)
    await ws.send_json({"type": "hello"})
    async with asyncio.timeout(30):
        while (welcome := await ws.receive_json())["type"] != "welcome":
            pass
    return http, ws, welcome


async def say(ws, text: str) -> list[dict]:
    await ws.send_json({"type": "message", "text": text, "id": str(uuid.uuid4())})
    frames = []
    async with asyncio.timeout(30):
        while not ((frame := await ws.receive_json())["type"] == "typing" and not frame["on"]):
            frames.append(frame)
    return frames


async def next_frame(ws) -> dict:
    async with asyncio.timeout(15):
        return await ws.receive_json()


# -- 4: a widget conversation is not reachable over REST -------------------------------------


async def test_a_widget_conversation_cannot_be_continued_or_read_over_rest(server):
    http, ws, welcome = await open_chat(server)
    await say(ws, "where is my order A10002")
    await say(ws, "my email is victim@example.com")
    response = await asyncio.to_thread(server.post, WEBHOOK, json={
        "sender": welcome["conversation_id"], "message": "where is my order A10002"})
    assert response.status_code == 403
    assert "websocket channel" in response.json()["error"]
    assert "A10002" not in response.text and "tracking" not in response.text.lower()
    await http.close()


def test_a_new_rest_conversation_still_answers_without_a_token(server):
    assert server.say(f"rest-{uuid.uuid4().hex}", "hi")


# -- 5: log-out ends the session; the token is never in a page's reach ------------------------


def test_the_log_in_answer_carries_no_token_and_the_cookie_is_http_only(server):
    response = server.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert "token" not in response.json()
    cookie = next(c for c in response.cookies if c.name == "carebot_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.value not in response.text


def test_a_session_token_stops_working_after_log_out(server):
    session = server.login("alice", PASSWORD)
    token = session.cookies["carebot_session"]
    assert session.get(server.url + "/auth/me", timeout=10).status_code == 200
    assert session.post(server.url + "/auth/logout", timeout=10).status_code == 200
    replayed = requests.get(server.url + "/auth/me", cookies={"carebot_session": token},
                            timeout=10)
    assert replayed.status_code == 401
    as_bearer = requests.get(server.url + "/agent/api/queue", timeout=10,
                             headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401


def test_a_new_password_ends_every_session_of_the_user(server):
    add_user(server.database_url, "rotating-agent", "agent", PASSWORD)
    session = server.login("rotating-agent", PASSWORD)
    carebot("users", "password", "rotating-agent",
            env=carebot_env(server.database_url, CAREBOT_PASSWORD="another long password"))
    assert session.get(server.url + "/agent/api/queue", timeout=10).status_code == 401
    assert server.login("rotating-agent", "another long password")


def test_removing_a_user_ends_their_sessions(server):
    add_user(server.database_url, "leaving-agent", "agent", PASSWORD)
    session = server.login("leaving-agent", PASSWORD)
    carebot("users", "remove", "leaving-agent", env=carebot_env(server.database_url))
    assert session.get(server.url + "/agent/api/queue", timeout=10).status_code == 401
    response = server.post("/auth/login", json={"username": "leaving-agent",
                                                "password": PASSWORD})
    assert response.status_code == 401


# -- 7: hostile JSON is a clear 400, and an error frame on an open socket --------------------


@pytest.mark.parametrize("path", [WEBHOOK, "/model/parse"])
def test_json_nested_twenty_thousand_deep_is_a_400(server, path):
    response = server.post(path, data=b"[" * 20000 + b"]" * 20000,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nests deeper than" in response.json()["error"]


@pytest.mark.parametrize("path", [WEBHOOK, "/model/parse"])
def test_a_fifty_thousand_digit_number_is_a_400(server, path):
    body = b'{"sender": "big-number", "text": "hi", "message": "hi", "n": ' + b"9" * 50000 + b"}"
    response = server.post(path, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "number of 50000 characters" in response.json()["error"]


async def test_deep_json_on_the_socket_gets_an_error_frame_and_the_socket_stays_open(server):
    http, ws, _ = await open_chat(server)
    await ws.send_str("[" * 20000 + "]" * 20000)
    frame = await next_frame(ws)
    assert frame["type"] == "error" and "nests deeper than" in frame["error"]
    assert any(f["type"] == "bot" for f in await say(ws, "hi"))
    await http.close()


async def test_a_frame_over_64_kib_gets_an_error_frame_and_the_socket_stays_open(server):
    http, ws, _ = await open_chat(server)
    await ws.send_json({"type": "message", "text": "a" * 70_000, "id": str(uuid.uuid4())})
    frame = await next_frame(ws)
    assert frame["type"] == "error" and "larger than 65536 bytes" in frame["error"]
    assert not ws.closed
    assert any(f["type"] == "bot" for f in await say(ws, "hi"))
    await http.close()


# -- 11: slow bodies are cut off; clients that leave mid-body leave no traceback -------------


def _partial_post(server, path: str = WEBHOOK) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                 "Content-Length: 200\r\n\r\n{\"sender\": ".encode())
    return conn


def test_a_body_that_never_finishes_is_cut_off_with_a_408(server):
    conn = _partial_post(server)
    started = time.monotonic()
    answer = conn.recv(4096).decode(errors="replace")
    conn.close()
    assert answer.startswith("HTTP/1.1 408")
    assert "did not arrive within" in answer
    assert time.monotonic() - started < 25


def test_a_client_leaving_mid_body_logs_one_line_and_no_traceback(server):
    conn = _partial_post(server)
    time.sleep(0.3)
    conn.close()
    assert wait_for(lambda: "left mid-body" in server.log(), timeout=10)
    assert "Traceback" not in server.log()


# -- 10: security headers ---------------------------------------------------------------------


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";"))


@pytest.mark.parametrize("path", ["/agent", "/analytics", "/agent/api/queue", "/static/agent.js"])
def test_the_console_and_dashboard_may_not_be_framed(server, path):
    response = requests.get(server.url + path, timeout=10)
    assert csp(response)["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_chat_page_may_be_framed_by_the_shops_origins(server):
    response = requests.get(server.url + "/", timeout=10)
    assert csp(response)["frame-ancestors"] == "*"  # the test server allows any origin
    assert "X-Frame-Options" not in response.headers


@pytest.mark.parametrize("path", ["/", "/agent", "/analytics", "/health", "/static/widget.js"])
def test_every_response_has_a_script_policy_without_inline_script_nosniff_and_a_referrer_policy(
        server, path):
    response = requests.get(server.url + path, timeout=10)
    policy = csp(response)
    assert policy["script-src"] == "'self'"
    if path != "/analytics":  # Plotly's charts add <style> elements
        assert "unsafe-inline" not in policy["style-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("page", sorted(STATIC.glob("*.html")), ids=lambda p: p.name)
def test_no_page_has_inline_script_styles_or_event_handlers(page: Path):
    html = page.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
