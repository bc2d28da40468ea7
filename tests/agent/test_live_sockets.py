"""The live channels against a real server: the widget's /ws and the console's /agent/ws."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from live_server import PASSWORD, wait_for
from sqlalchemy.orm import Session

from analytics.store.schema import Conversation

pytestmark = pytest.mark.slow


async def login(http: aiohttp.ClientSession, server, username: str) -> dict:
    async with http.post(server.url + "/auth/login",
                         json={"username": username, "password": PASSWORD}) as response:
        assert response.status == 200
        token = response.cookies["carebot_session"].value  # the token is in the cookie only
    return {"Authorization": f"Bearer {token}"}


# Frames a socket received before the one a test waited for, so a later wait can still see them.
_earlier: dict[int, list[dict]] = {}


async def receive_until(ws: aiohttp.ClientWebSocketResponse, predicate, timeout: float = 15.0,
                        keep_skipped: bool = False):
    """The first JSON message matching ``predicate`` (also among frames kept by ``say``)."""
    kept = _earlier.setdefault(id(ws), [])
    for i, message in enumerate(kept):
        if predicate(message):
            del kept[: i + 1]
            return message
    kept.clear()
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.receive_json()
            if predicate(message):
                return message
            if keep_skipped:
                kept.append(message)


async def customer_socket(http, server, conversation_id: str | None = None,
                          token: str | None = None):
    ws = await http.ws_connect(server.ws_url)
    await ws.send_json({"type": "hello", "conversation_id": conversation_id, "token": token})
    welcome = await receive_until(ws, lambda m: m["type"] == "welcome")
    return ws, welcome


async def say(ws, text: str) -> str:
    message_id = str(uuid.uuid4())
    await ws.send_json({"type": "message", "text": text, "id": message_id})
    # the ack comes once the turn is done: frames sent during the turn stay readable
    await receive_until(ws, lambda m: m["type"] == "ack" and m["id"] == message_id,
                        keep_skipped=True)
    return message_id


async def agent_step(http, server, headers, conversation_id: str, name: str, **kwargs) -> dict:
    async with http.post(f"{server.url}/agent/api/conversations/{conversation_id}/{name}",
                         headers=headers, **kwargs) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_the_agent_socket_refuses_anonymous_and_analyst_callers(server):
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
            await http.ws_connect(server.url + "/agent/ws")
        assert anonymous.value.status == 401
        headers = await login(http, server, "ann")
        with pytest.raises(aiohttp.WSServerHandshakeError) as analyst:
            await http.ws_connect(server.url + "/agent/ws", headers=headers)
        assert analyst.value.status == 403


async def test_the_agent_socket_refuses_pages_of_other_origins(server):
    async with aiohttp.ClientSession() as http:
        headers = await login(http, server, "alice")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.url + "/agent/ws",
                                  headers={**headers, "Origin": "http://127.0.0.1:1"})
        assert refused.value.status == 403


async def test_a_new_escalation_and_the_customers_next_words_reach_the_console_live(server):
    async with aiohttp.ClientSession() as http:
        headers = await login(http, server, "alice")
        console = await http.ws_connect(server.url + "/agent/ws", headers=headers)
        await receive_until(console, lambda m: m["type"] == "hello")
        customer, welcome = await customer_socket(http, server)
        conversation_id = welcome["conversation_id"]
        await say(customer, "/human_agent")
        queue = await receive_until(console, lambda m: m["type"] == "queue" and any(
            i["conversation_id"] == conversation_id for i in m["items"]))
        item = next(i for i in queue["items"] if i["conversation_id"] == conversation_id)
        assert item["reason"] == "customer_request" and item["status"] == "open"
        await say(customer, "/greet")
        lines = await receive_until(console, lambda m: m["type"] == "messages"
                                    and m["conversation_id"] == conversation_id)
        assert lines["messages"][0]["sender"] == "user"
        assert lines["messages"][0]["intent"] == "greet"
        await console.close()
        await customer.close()


async def test_the_customer_sees_the_agent_join_reply_and_resolve_then_rates(server, db):
    async with aiohttp.ClientSession() as http:
        headers = await login(http, server, "alice")
        customer, welcome = await customer_socket(http, server)
        conversation_id = welcome["conversation_id"]
        await say(customer, "/human_agent")
        await receive_until(customer, lambda m: m["type"] == "status"
                            and m["status"] == "escalated")
        await agent_step(http, server, headers, conversation_id, "claim")
        joined = await receive_until(customer, lambda m: m["type"] == "notice")
        assert joined["event"] == "agent_joined" and joined["agent"] == "alice"
        reply = await agent_step(http, server, headers, conversation_id, "reply",
                                 json={"text": "Hello from Alice"})
        live = await receive_until(customer, lambda m: m["type"] == "agent")
        assert live["text"] == "Hello from Alice" and live["id"] == reply["id"]
        await agent_step(http, server, headers, conversation_id, "resolve")
        ended = await receive_until(customer, lambda m: m["type"] == "ended")
        assert ended["by"] == "agent"
        await customer.send_json({"type": "csat", "rating": 4, "comment": "  quick  "})
        await receive_until(customer, lambda m: m["type"] == "csat_thanks")
        await customer.send_json({"type": "csat", "rating": 1})
        again = await receive_until(customer, lambda m: m["type"] in ("error", "csat_thanks"))
        assert again["type"] == "error" and "already rated" in again["error"]
        await customer.close()

    def rated():
        with Session(db) as session:
            conversation = session.get(Conversation, conversation_id)
            return conversation and (conversation.csat_rating, conversation.csat_comment)

    assert wait_for(lambda: rated() == (4, "quick"))


@pytest.mark.parametrize("rating", [0, 6, "4", 4.5, None, True])
async def test_a_rating_outside_one_to_five_is_refused(server, rating):
    async with aiohttp.ClientSession() as http:
        customer, _ = await customer_socket(http, server)
        await say(customer, "/greet")
        await customer.send_json({"type": "csat", "rating": rating})
        error = await receive_until(customer, lambda m: m["type"] in ("error", "csat_thanks"))
        assert error["type"] == "error" and "1 to 5" in error["error"]
        await customer.close()


async def test_the_history_a_reconnecting_widget_gets_carries_message_ids(server):
    async with aiohttp.ClientSession() as http:
        customer, welcome = await customer_socket(http, server)
        message_id = await say(customer, "/greet")
        await receive_until(customer, lambda m: m["type"] == "bot")
        await customer.close()
        again, welcome_again = await customer_socket(http, server, welcome["conversation_id"],
                                                     welcome["token"])
        history = welcome_again["history"]
        assert history[0]["id"] == message_id and history[0]["sender"] == "user"
        assert history[1]["sender"] == "bot" and history[1]["id"]
        assert welcome_again["status"] == "bot"
        await again.close()


async def test_handing_back_tells_the_customer_the_bot_is_back(server):
    async with aiohttp.ClientSession() as http:
        headers = await login(http, server, "alice")
        customer, welcome = await customer_socket(http, server)
        conversation_id = welcome["conversation_id"]
        await say(customer, "/human_agent")
        await agent_step(http, server, headers, conversation_id, "claim")
        await agent_step(http, server, headers, conversation_id, "handback")
        left = await receive_until(customer, lambda m: m["type"] == "notice"
                                   and m["event"] == "agent_left")
        assert "alice" in left["text"]
        await say(customer, "/greet")
        assert (await receive_until(customer, lambda m: m["type"] == "bot"))["text"]
        await customer.close()


async def test_a_reconnecting_widget_hears_it_is_still_with_the_agent(server):
    async with aiohttp.ClientSession() as http:
        headers = await login(http, server, "alice")
        customer, welcome = await customer_socket(http, server)
        conversation_id = welcome["conversation_id"]
        await say(customer, "/human_agent")
        await agent_step(http, server, headers, conversation_id, "claim")
        await agent_step(http, server, headers, conversation_id, "reply", json={"text": "Hi"})
        await customer.close()
        again, welcome_again = await customer_socket(http, server, conversation_id,
                                                     welcome["token"])
        assert welcome_again["status"] == "agent"
        assert welcome_again["history"][-1]["sender"] == "agent"
        assert welcome_again["history"][-1]["agent"] == "alice"
        await again.close()
