"""A message id is handled once, ever: resent to the other server process, resent after more
than the conversation's recent ids, resent into another conversation, or sent to both
processes at the same moment. Two `carebot serve` processes over PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import aiohttp
import pytest
from live_server import (
    REDIS_URL,
    RunningServer,
    postgres_database,
    redis_unreachable_reason,
    seed_shop,
    start_server,
    wait_for,
)
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from analytics.store.schema import Message

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FIRST_PASS = 60  # more than the 50 ids a conversation's state remembers
TEXTS = ["hi", "do you ship to canada?", "how long does shipping take?", "thanks"]


@pytest.fixture(scope="module")
def shop_url() -> Iterator[str]:
    with postgres_database() as url:
        yield seed_shop(url)


@pytest.fixture(scope="module")
def servers(shop_url, tmp_path_factory) -> Iterator[tuple[RunningServer, RunningServer]]:
    reason = redis_unreachable_reason()
    if reason:
        pytest.skip(reason)
    started: list[RunningServer] = []
    try:
        for _ in range(2):
            started.append(start_server(
                shop_url, tmp_path_factory.mktemp("server"), CAREBOT_REDIS_URL=REDIS_URL,
                CAREBOT_LIMIT_MESSAGES_PER_CONVERSATION="off"))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


class Chat:
    """One customer socket: hello, then messages answered by ack (or error) and bot frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, session, server: RunningServer, conversation_id: str,
                   token: str | None = None) -> tuple[Chat, dict]:
        ws = await session.ws_connect(server.ws_url)
        await ws.send_json({"type": "hello", "conversation_id": conversation_id,
                            "token": token})
        while (welcome := await ws.receive_json())["type"] != "welcome":
            pass
        return cls(ws), welcome

    async def send(self, message_id: str, text: str = "hi") -> tuple[str, int]:
        """("ack" or "error", how many bot messages answered it)."""
        await self.ws.send_json({"type": "message", "id": message_id, "text": text})
        outcome, bots = None, 0
        while True:
            frame = await self.ws.receive_json()
            if frame["type"] in ("ack", "error") and frame.get("id") == message_id:
                outcome = frame["type"]
            elif frame["type"] == "bot":
                bots += 1
            elif frame["type"] == "typing" and not frame["on"] and outcome:
                return outcome, bots


def messages(url: str, conversation_id: str, sender: str) -> int:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(Message).where(
                Message.conversation_id == conversation_id, Message.sender == sender))
    finally:
        engine.dispose()


def test_a_resent_id_is_handled_once_whichever_process_and_however_late(servers, shop_url):
    first, second = servers
    conversation = f"resend-{uuid.uuid4().hex[:10]}"
    ids = [str(uuid.uuid4()) for _ in range(FIRST_PASS)]

    async def run() -> tuple[list, list, list]:
        async with aiohttp.ClientSession() as session:
            chat, welcome = await Chat.open(session, first, conversation)
            handled = [await chat.send(m, TEXTS[n % len(TEXTS)]) for n, m in enumerate(ids)]
            # the same conversation at the other process, every id again
            again, _ = await Chat.open(session, second, conversation, welcome["token"])
            resent = [await again.send(i) for i in ids]
            # the oldest ids (beyond the recent 50) into a new conversation
            other, _ = await Chat.open(session, second, elsewhere_id)
            elsewhere = [await other.send(i) for i in ids[:10]]
            return handled, resent, elsewhere

    elsewhere_id = f"other-{uuid.uuid4().hex[:10]}"
    handled, resent, elsewhere = asyncio.run(run())
    assert [outcome for outcome, _ in handled] == ["ack"] * FIRST_PASS
    assert resent == [("ack", 0)] * FIRST_PASS
    assert elsewhere == [("ack", 0)] * 10
    assert second.tracker(conversation)["turns"] == FIRST_PASS  # one turn per id
    replies = sum(bots for _, bots in handled)
    assert wait_for(lambda: messages(shop_url, conversation, "bot") == replies)
    assert messages(shop_url, conversation, "user") == FIRST_PASS
    assert messages(shop_url, elsewhere_id, "user") == 0
    assert messages(shop_url, elsewhere_id, "bot") == 0


def test_one_id_sent_to_both_processes_at_the_same_moment_is_handled_once(servers):
    first, second = servers
    rounds = 20

    async def run() -> list[tuple[tuple[str, int], tuple[str, int]]]:
        async with aiohttp.ClientSession() as session:
            results = []
            for _ in range(rounds):
                # fresh conversations: a first "hi" is always answered when it is handled
                left, _ = await Chat.open(session, first, f"left-{uuid.uuid4().hex[:10]}")
                right, _ = await Chat.open(session, second, f"right-{uuid.uuid4().hex[:10]}")
                message_id = str(uuid.uuid4())
                results.append(tuple(await asyncio.gather(left.send(message_id),
                                                          right.send(message_id))))
            return results

    for left, right in asyncio.run(run()):
        assert (left[0], right[0]) == ("ack", "ack")
        assert (left[1] > 0) + (right[1] > 0) == 1, (left, right)
