"""`carebot serve --workers 2`: two server processes on one port act as one server, on SQLite
(the supervisor is their hub) and on PostgreSQL + Redis. Each message is handled once and in
order per conversation, an agent's replies reach the customer whichever worker takes them,
/metrics adds the workers up, a killed worker comes back, SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from live_server import (
    PASSWORD,
    REDIS_URL,
    RunningServer,
    postgres_database,
    redis_unreachable_reason,
    seed_shop,
    start_server,
    wait_for,
)
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from analytics.store.schema import Message

pytestmark = pytest.mark.slow

METRICS_TOKEN = "workers-metrics-token"
CONVERSATIONS = 20
PER_CONVERSATION = 10
WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
LIMIT = 12  # messages per conversation per minute


@pytest.fixture(scope="module", params=["sqlite", "postgres+redis"])
def deployment(request, tmp_path_factory) -> Iterator[tuple[RunningServer, Path]]:
    """Two workers on one port, their metrics directory."""
    tmp = tmp_path_factory.mktemp("workers")
    with contextlib.ExitStack() as stack:
        extra = {}
        if request.param == "sqlite":
            url = seed_shop(f"sqlite:///{tmp / 'carebot.db'}")
        else:
            reason = redis_unreachable_reason()
            if reason:
                pytest.skip(reason)
            url = seed_shop(stack.enter_context(postgres_database()))
            extra["CAREBOT_REDIS_URL"] = REDIS_URL
        metrics_dir = tmp / "metrics"
        server = start_server(url, tmp, workers=2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
                              CAREBOT_METRICS_TOKEN=METRICS_TOKEN,
                              # more than any test here sends a conversation; the address
                              # is every test's
                              CAREBOT_LIMIT_MESSAGES_PER_CONVERSATION=f"{LIMIT} per minute",
                              CAREBOT_LIMIT_MESSAGES_PER_ADDRESS="off", **extra)
        stack.callback(server.stop)
        assert wait_for(lambda: len(worker_pids(server)) == 2, timeout=120), server.log()
        assert wait_for(lambda: server.log().count("is serving") >= 2, timeout=120)
        yield server, metrics_dir


def worker_pids(server: RunningServer) -> set[int]:
    """The supervisor's worker processes (multiprocessing's spawned children)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == server.process.pid and b"spawn_main" in command:
            pids.add(int(entry.name))
    return pids


async def say(url: str, sender: str, text: str) -> list[dict]:
    # a connection per message: the kernel hands each to whichever worker accepts first
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        async with http.post(f"{url}/webhooks/rest/webhook",
                             json={"sender": sender, "message": text}) as response:
            assert response.status == 200, await response.text()
            return await response.json()


def tracker_texts(server: RunningServer, conversation: str) -> tuple[int, list[str]]:
    tracker = server.tracker(conversation)
    return tracker["turns"], [e["text"] for e in tracker["events"] if e["event"] == "user"]


def logged_texts(server: RunningServer, conversation: str) -> list[str]:
    engine = create_engine(server.database_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Message.text).where(
                Message.conversation_id == conversation, Message.sender == "user")
                .order_by(Message.created_at)))
    finally:
        engine.dispose()


def turns_by_worker(metrics_dir: Path, scratch: Path) -> dict[int, float]:
    """carebot_turns_total of each process, from its own multiprocess file alone."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        alone = scratch / path.stem
        alone.mkdir()
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        counts[int(path.stem.split("_")[1])] = registry.get_sample_value(
            "carebot_turns_total", {"channel": "rest"}) or 0.0
    return counts


def metrics_total(server: RunningServer, name: str) -> float:
    response = requests.get(server.url + "/metrics", timeout=30,
                            headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    return sum(s.value for family in text_string_to_metric_families(response.text)
               for s in family.samples if s.name == name)


def test_200_concurrent_messages_over_20_conversations_are_each_handled_once(deployment,
                                                                            tmp_path):
    server, metrics_dir = deployment
    before = metrics_total(server, "carebot_turns_total")
    conversations = [f"workers-{uuid.uuid4().hex[:10]}" for _ in range(CONVERSATIONS)]
    sent = {c: [f"hello {word} from {c[-4:]}" for word in WORDS] for c in conversations}

    async def run() -> list[list[dict]]:
        # all 200 at once: ten messages of each conversation race each other at both workers
        return await asyncio.gather(*(say(server.url, c, text)
                                      for c in conversations for text in sent[c]))

    replies = asyncio.run(run())
    assert all(replies)
    for conversation in conversations:
        turns, texts = tracker_texts(server, conversation)
        # each turn started from the state the one before left, whichever worker ran it
        assert turns == PER_CONVERSATION
        assert sorted(texts) == sorted(sent[conversation])
        # the log holds each message once, in the order the turns ran
        assert wait_for(lambda c=conversation: len(logged_texts(server, c)) == PER_CONVERSATION,
                        timeout=60)
        assert logged_texts(server, conversation) == texts
    total = CONVERSATIONS * PER_CONVERSATION
    assert wait_for(lambda: metrics_total(server, "carebot_turns_total") - before == total,
                    timeout=60)
    by_worker = turns_by_worker(metrics_dir, tmp_path)
    assert len([n for n in by_worker.values() if n > 0]) >= 2, by_worker  # both took turns


def test_messages_sent_one_after_another_are_handled_in_that_order_across_workers(deployment):
    server, _ = deployment
    conversations = [f"ordered-{uuid.uuid4().hex[:10]}" for _ in range(CONVERSATIONS)]
    sent = {c: [f"message {word} of {c[-4:]}" for word in WORDS] for c in conversations}

    async def conversation(c: str) -> None:
        for text in sent[c]:  # each on a new connection, so at one worker or the other
            await say(server.url, c, text)

    async def run() -> None:
        await asyncio.gather(*(conversation(c) for c in conversations))

    asyncio.run(run())
    for c in conversations:
        assert tracker_texts(server, c) == (PER_CONVERSATION, sent[c])
        assert wait_for(lambda c=c: logged_texts(server, c) == sent[c], timeout=60)


def test_a_conversation_s_message_limit_counts_its_messages_at_every_worker(deployment):
    """Without Redis the workers' hub counts the limits: LIMIT messages a minute means LIMIT
    across both workers (each counting alone would take twice as many)."""
    server, _ = deployment
    conversation = f"limited-{uuid.uuid4().hex[:10]}"

    async def send(n: int) -> int:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            async with http.post(f"{server.url}/webhooks/rest/webhook",
                                 json={"sender": conversation, "message": f"hi number {n}"}) as r:
                await r.read()
                return r.status

    async def run() -> list[int]:
        return [await send(n) for n in range(LIMIT + 3)]

    statuses = asyncio.run(run())
    assert statuses[:LIMIT] == [200] * LIMIT, statuses
    assert statuses[LIMIT:] == [429] * 3, statuses


def test_every_agent_reply_reaches_the_customer_whichever_worker_takes_it(deployment):
    server, _ = deployment
    conversation = f"fanout-{uuid.uuid4().hex[:10]}"
    agent = server.login("alice", PASSWORD)
    steps = f"{server.url}/agent/api/conversations/{conversation}"
    replies = [f"agent line {word}" for word in WORDS[:8]]

    async def run() -> list[str]:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(server.ws_url)
            await ws.send_json({"type": "hello", "conversation_id": conversation})
            while (await ws.receive_json())["type"] != "welcome":
                pass
            asked = str(uuid.uuid4())
            await ws.send_json({"type": "message", "id": asked,
                                "text": "I want to talk to a human"})
            while not ((frame := await ws.receive_json())["type"] == "ack"
                       and frame.get("id") == asked):
                pass
            claimed = await asyncio.to_thread(agent.post, steps + "/claim", timeout=30)
            assert claimed.status_code == 200, claimed.text
            for text in replies:
                # requests opens a new connection each time: either worker may take it
                sent = await asyncio.to_thread(
                    requests.post, steps + "/reply", json={"text": text},
                    cookies=agent.cookies, timeout=30)
                assert sent.status_code == 200, sent.text
            seen: list[str] = []
            async with asyncio.timeout(20):
                while len(seen) < len(replies):
                    frame = await ws.receive_json()
                    if frame.get("type") == "agent":
                        seen.append(frame.get("text"))
            await ws.close()
            return seen

    assert asyncio.run(run()) == replies


def test_each_worker_freezes_its_models_out_of_garbage_collection(deployment):
    # a full collection walking the models' objects was the periodic stall of the p99
    server, _ = deployment
    frozen = [int(n) for n in re.findall(r"worker-\d .*: (\d+) long-lived objects frozen",
                                          server.log())]
    assert len(frozen) >= 2 and min(frozen) > 100_000, frozen


def test_a_killed_worker_is_restarted_and_the_server_keeps_answering(deployment):
    server, _ = deployment
    before = worker_pids(server)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: len(worker_pids(server) - before) == 1, timeout=60), server.log()
    assert f"(pid {victim}) died with exit code -9; restarting it" in server.log()
    assert wait_for(lambda: server.log().count("is serving") >= 3, timeout=120), server.log()
    conversation = f"after-kill-{uuid.uuid4().hex[:10]}"
    for _ in range(6):
        assert asyncio.run(say(server.url, conversation, "hi"))
    assert server.tracker(conversation)["turns"] == 6


def test_sigterm_stops_every_worker_cleanly(deployment):
    server, _ = deployment
    workers = worker_pids(server)
    assert len(workers) == 2
    assert server.stop() == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if Path(f"/proc/{p}").exists()]
    assert "all 2 workers stopped" in server.log()
