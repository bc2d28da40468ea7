"""Acknowledged means durable: `kill -9` right after a burst of acks, restart, and every
acknowledged customer message is in the database (the journal is replayed at start-up)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import aiohttp
import pytest
from live_server import start_server, wait_for
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from analytics.store.schema import Message

pytestmark = pytest.mark.slow

CLIENTS = 8
ACKS_BEFORE_KILL = 120
TEXTS = ["hi there", "do you ship to canada?", "how long does shipping take?", "thanks"]


async def chat_until_killed(server) -> set[str]:
    """Customers chat on their own sockets; the server is killed with SIGKILL the moment the
    ACKS_BEFORE_KILL-th ack arrives. Returns the ids the server acknowledged."""
    acked: set[str] = set()
    killed = asyncio.Event()

    async def customer(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(server.ws_url) as ws:
            await ws.send_json({"type": "hello", "conversation_id": f"kill-{uuid.uuid4().hex}"})
            while (await ws.receive_json())["type"] != "welcome":
                pass
            turn = 0
            while not killed.is_set():
                message_id = str(uuid.uuid4())
                await ws.send_json({"type": "message", "id": message_id,
                                    "text": TEXTS[turn % len(TEXTS)]})
                turn += 1
                while True:
                    frame = await ws.receive()
                    if frame.type != aiohttp.WSMsgType.TEXT:
                        return  # the server is gone
                    data = frame.json()
                    if data["type"] == "ack" and data["id"] == message_id:
                        break
                acked.add(message_id)
                if len(acked) >= ACKS_BEFORE_KILL and not killed.is_set():
                    os.kill(server.process.pid, signal.SIGKILL)
                    killed.set()

    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(customer(session) for _ in range(CLIENTS)),
                                       return_exceptions=True)
    for result in results:
        if isinstance(result, Exception) and not isinstance(
                result, aiohttp.ClientError | ConnectionError | asyncio.CancelledError):
            raise result
    return acked


def stored_ids(url: str, ids: set[str]) -> set[str]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return set(session.scalars(select(Message.id).where(Message.id.in_(ids))))
    finally:
        engine.dispose()


def test_no_acknowledged_message_is_lost_to_a_kill_9(seeded_database_url, tmp_path):
    spool = tmp_path / "spool"
    server = start_server(seeded_database_url, tmp_path, CAREBOT_SPOOL_DIR=str(spool))
    try:
        acked = asyncio.run(chat_until_killed(server))
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait(timeout=30)
    assert len(acked) >= ACKS_BEFORE_KILL
    restarted = start_server(seeded_database_url, tmp_path, CAREBOT_SPOOL_DIR=str(spool))
    try:
        wait_for(lambda: stored_ids(seeded_database_url, acked) == acked, 30)
        missing = acked - stored_ids(seeded_database_url, acked)
        assert len(missing) == 0, f"{len(missing)} of {len(acked)} acknowledged messages lost"
    finally:
        restarted.stop()


def test_nothing_is_replayed_twice_after_a_clean_stop(seeded_database_url, tmp_path, db):
    spool = tmp_path / "spool"
    server = start_server(seeded_database_url, tmp_path, CAREBOT_SPOOL_DIR=str(spool))
    sender = f"clean-{uuid.uuid4().hex[:8]}"
    server.say(sender, "hi")
    assert server.stop() == 0
    assert list(spool.glob("journal-*")) == []  # everything was in the database
    with Session(db) as session:
        count = session.scalar(select(func.count()).select_from(Message)
                               .where(Message.conversation_id == sender))
    assert count >= 2
