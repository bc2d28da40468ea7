"""Who may continue a conversation: resume tokens on the WebSocket, signatures for verified ids."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from live_server import WIDGET_SECRET

from bot.channels.identity import sign_customer_id

pytestmark = pytest.mark.slow


async def hello(server, **fields) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse,
                                           dict]:
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(server.url.replace("http://", "ws://") + "/ws")
    await ws.send_json({"type": "hello", **fields})
    async with asyncio.timeout(30):
        while (message := await ws.receive_json())["type"] != "welcome":
            pass
    return http, ws, message


async def say(ws, text: str) -> list[dict]:
    await ws.send_json({"type": "message", "text": text, "id": str(uuid.uuid4())})
    frames = []
    async with asyncio.timeout(30):
        while not ((frame := await ws.receive_json())["type"] == "typing" and not frame["on"]):
            frames.append(frame)
    return frames


async def test_a_socket_with_the_token_continues_and_sees_the_history(server):
    http, ws, welcome = await hello(server)
    await say(ws, "hi")
    await http.close()
    http, ws, again = await hello(server, conversation_id=welcome["conversation_id"],
                                  token=welcome["token"])
    assert again["conversation_id"] == welcome["conversation_id"]
    assert [m["text"] for m in again["history"] if m["sender"] == "user"] == ["hi"]
    await http.close()


async def test_a_socket_without_the_token_gets_a_new_conversation_and_no_history(server):
    server.say("someone-elses-chat", "my email is private.person@example.com")
    http, ws, welcome = await hello(server, conversation_id="someone-elses-chat")
    assert welcome["conversation_id"] != "someone-elses-chat"
    assert welcome["history"] == []
    await http.close()


async def test_the_ack_comes_after_the_reply_is_ready(server):
    http, ws, _ = await hello(server)
    frames = await say(ws, "hi")
    kinds = [f["type"] for f in frames]
    assert kinds.index("ack") < kinds.index("bot")
    await http.close()


def test_a_verified_customers_conversation_refuses_an_unsigned_caller(server):
    signed = {"customer_id": "C1001", "signature": sign_customer_id("C1001", WIDGET_SECRET)}
    server.say("verified-chat-1", "hi", **signed)
    response = server.post("/webhooks/rest/webhook",
                           json={"sender": "verified-chat-1", "message": "show my profile"})
    assert response.status_code == 403
    assert "verified customer" in response.json()["error"]
    assert server.say("verified-chat-1", "thanks", **signed)
