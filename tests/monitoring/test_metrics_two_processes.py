"""Two `carebot serve` processes (one PostgreSQL, one Redis, one PROMETHEUS_MULTIPROC_DIR):
/metrics at either adds both processes up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import aiohttp
import pytest
from live_server import (
    PASSWORD,
    REDIS_URL,
    WIDGET_SECRET,
    postgres_database,
    redis_unreachable_reason,
    seed_shop,
    start_server,
    wait_for,
)
from servers import METRICS_TOKEN, metrics, value

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple]:
    reason = redis_unreachable_reason()
    if reason:
        pytest.skip(reason)
    metrics_dir = tmp_path_factory.mktemp("prometheus")
    with postgres_database() as url:
        seed_shop(url)
        started = []
        try:
            for _ in range(2):
                started.append(start_server(
                    url, tmp_path_factory.mktemp("server"), CAREBOT_REDIS_URL=REDIS_URL,
                    CAREBOT_WIDGET_SECRET=WIDGET_SECRET, CAREBOT_METRICS_TOKEN=METRICS_TOKEN,
                    PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)))
            yield tuple(started)
        finally:
            for server in started:
                server.stop()


def test_turns_counted_at_two_processes_add_up_at_either(servers):
    first, second = servers
    for i in range(3):
        first.say(f"mp-a-{uuid.uuid4().hex[:6]}", "hello" if i else "/greet")
    for _ in range(5):
        second.say(f"mp-b-{uuid.uuid4().hex[:6]}", "hello")
    seen = [value(metrics(server), "carebot_turns_total", channel="rest") for server in servers]
    assert seen == [8.0, 8.0]


def test_an_escalation_at_one_process_shows_in_the_queue_gauge_of_both(servers):
    first, second = servers
    first.say(f"mp-h-{uuid.uuid4().hex[:6]}", "/human_agent")
    assert value(metrics(second), "carebot_escalations_total", reason="customer_request") >= 1
    # queue length is read from the database by each process: the largest live value,
    # not one per process added together
    assert wait_for(lambda: value(metrics(second), "carebot_queue_length") == 1.0, timeout=15)


def test_open_sockets_at_both_processes_are_summed_and_forgotten_when_closed(servers):
    async def watch_both() -> tuple[float, float]:
        sessions = [server.login("ann", PASSWORD) for server in servers]
        async with aiohttp.ClientSession() as client:
            sockets = [await client.ws_connect(
                server.url.replace("http", "ws") + "/api/live/ws",
                headers={"Cookie": "; ".join(f"{k}={v}" for k, v in s.cookies.items())})
                for server, s in zip(servers, sessions, strict=True)]
            await asyncio.sleep(2.5)  # the gauges are set on the monitor's one-second tick
            both = value(await asyncio.to_thread(metrics, servers[0]),
                         "carebot_websocket_connections", kind="live")
            for ws in sockets:
                await ws.close()
        await asyncio.sleep(2.5)
        after = value(await asyncio.to_thread(metrics, servers[1]),
                      "carebot_websocket_connections", kind="live")
        return both, after

    before = value(metrics(servers[0]), "carebot_websocket_connections", kind="live")
    both, after = asyncio.run(watch_both())
    assert (both - before, after) == (2.0, before)
