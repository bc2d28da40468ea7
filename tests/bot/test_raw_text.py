"""Customers and agents see the words as written, analysts see redacted ones; the raw words
are encrypted at rest and erased by `carebot privacy purge` / `forget`."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from cryptography.fernet import Fernet
from live_server import PASSWORD, WIDGET_SECRET, carebot, carebot_env, start_server, wait_for
from sqlalchemy import create_engine, text

from bot.channels.identity import sign_customer_id

pytestmark = pytest.mark.slow

SECRET_WORDS = "my email is jane.doe@example.com, thanks Maria Lopez"


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory):
    running = start_server(seeded_database_url, tmp_path_factory.mktemp("raw"),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET,
                           CAREBOT_RAW_TEXT_KEY=Fernet.generate_key().decode())
    yield running
    running.stop()


async def hello(server, **fields) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse,
                                           dict]:
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(server.ws_url)
    await ws.send_json({"type": "hello", **fields})
    async with asyncio.timeout(30):
        while (welcome := await ws.receive_json())["type"] != "welcome":
            pass
    return http, ws, welcome


async def chat(server, words: str, **fields) -> dict:
    http, ws, welcome = await hello(server, **fields)
    await ws.send_json({"type": "message", "text": words, "id": str(uuid.uuid4())})
    async with asyncio.timeout(30):
        while (await ws.receive_json())["type"] != "ack":
            pass
    await http.close()
    return welcome


async def history(server, welcome: dict) -> list[str]:
    http, _, again = await hello(server, conversation_id=welcome["conversation_id"],
                                 token=welcome["token"])
    await http.close()
    return [m["text"] for m in again["history"] if m["sender"] == "user"]


def stored(db_url: str, conversation_id: str) -> tuple[str, str | None]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT text, raw_text FROM messages WHERE sender = 'user' "
                                     "AND conversation_id = :c"), {"c": conversation_id}).one()
    finally:
        engine.dispose()


@pytest.fixture
def conversation(server):
    welcome = asyncio.run(chat(server, SECRET_WORDS))
    assert wait_for(lambda: stored_or_none(server.database_url, welcome["conversation_id"]))
    return welcome


def stored_or_none(db_url, conversation_id):
    try:
        return stored(db_url, conversation_id)
    except Exception:
        return None


def test_the_store_keeps_the_redacted_text_and_the_raw_words_only_encrypted(server,
                                                                             conversation):
    redacted, raw = stored(server.database_url, conversation["conversation_id"])
    assert "jane.doe" not in redacted and "[EMAIL]" in redacted
    assert raw and "jane" not in raw and "Maria" not in raw


async def test_the_customer_sees_their_own_words_after_a_reload(server, conversation):
    assert await history(server, conversation) == [SECRET_WORDS]


def test_the_agent_reads_the_customers_words(server, conversation):
    agent = server.login("alice", PASSWORD)
    response = agent.get(f"{server.url}/agent/api/conversations/"
                         f"{conversation['conversation_id']}", timeout=30)
    assert response.status_code == 200
    assert SECRET_WORDS in [m["text"] for m in response.json()["messages"]]


def test_the_analysts_export_has_only_the_redacted_text(server, conversation):
    analyst = server.login("ann", PASSWORD)
    csv_text = analyst.get(server.url + "/api/export/messages.csv", timeout=60).text
    assert conversation["conversation_id"] in csv_text
    assert "jane.doe" not in csv_text and "Maria Lopez" not in csv_text


async def test_purge_erases_the_raw_words_and_the_history_shows_redacted_text(server,
                                                                            conversation):
    carebot("privacy", "purge", "--days", "0", env=carebot_env(server.database_url))
    assert stored(server.database_url, conversation["conversation_id"])[1] is None
    [shown] = await history(server, conversation)
    assert "jane.doe" not in shown and "[EMAIL]" in shown


def test_forget_erases_a_verified_customers_raw_words_and_profile_link(server):
    signature = sign_customer_id("C1001", WIDGET_SECRET)
    welcome = asyncio.run(chat(server, "call me on 07700 900123", customer_id="C1001",
                               signature=signature))
    conversation_id = welcome["conversation_id"]
    assert wait_for(lambda: stored_or_none(server.database_url, conversation_id))
    server.stop()  # a running server may still hold the conversation it is in
    result = carebot("privacy", "forget", "C1001", env=carebot_env(server.database_url))
    assert "Forgot customer C1001" in result.stdout
    engine = create_engine(server.database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM conversations WHERE customer_id = "
                                 "(SELECT id FROM customers WHERE external_id = 'C1001')")
                            ).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM messages WHERE conversation_id = :c "
                                 "AND raw_text IS NOT NULL"), {"c": conversation_id}
                            ).scalar_one() == 0
        tracker = conn.execute(text("SELECT tracker_state FROM conversations WHERE id = :c"),
                               {"c": conversation_id}).scalar_one()
    engine.dispose()
    assert "07700 900123" not in str(tracker) and "C1001" not in str(tracker)


def test_the_stored_tracker_holds_the_words_only_encrypted_and_a_restart_reads_them(
        seeded_database_url, tmp_path):
    key = Fernet.generate_key().decode()
    first = start_server(seeded_database_url, tmp_path, CAREBOT_RAW_TEXT_KEY=key)
    try:
        welcome = asyncio.run(chat(first, SECRET_WORDS))
        conversation_id = welcome["conversation_id"]
        assert wait_for(lambda: stored_or_none(first.database_url, conversation_id))
    finally:
        first.stop()
    engine = create_engine(seeded_database_url)
    with engine.connect() as conn:
        tracker = conn.execute(text("SELECT tracker_state FROM conversations WHERE id = :c"),
                               {"c": conversation_id}).scalar_one()
    engine.dispose()
    assert "sealed_events" in str(tracker)
    assert "jane.doe" not in str(tracker) and "Maria" not in str(tracker)
    again = start_server(seeded_database_url, tmp_path, CAREBOT_RAW_TEXT_KEY=key)
    try:
        agent = again.login("alice", PASSWORD)
        response = agent.get(f"{again.url}/conversations/{conversation_id}/tracker", timeout=30)
        assert response.status_code == 200
        said = [e.get("text") for e in response.json()["events"] if e.get("event") == "user"]
        assert said == [SECRET_WORDS]
    finally:
        again.stop()
