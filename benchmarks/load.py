"""Load benchmark: N concurrent conversations against a running Carebot server.

    python benchmarks/load.py --url http://127.0.0.1:8080 --conversations 10
    python benchmarks/load.py --start --database-url postgresql+psycopg2://postgres@127.0.0.1/test

Each conversation sends a scripted customer dialogue, waiting for every reply before the
next message (like a person). Prints messages/s and p50 / p99 reply latency per channel
(REST and WebSocket). Logging to the analytics store stays on. With --rate, conversations
pace themselves so the whole run offers about that many messages per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
SCRIPT = [
    "hi there",
    "do you ship to canada?",
    "where is my order A10002",
    "my email is someone@example.com",
    "can you recommend some headphones?",
    "thanks, bye",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def rest_conversation(session, url, rounds, pause, latencies):
    await asyncio.sleep(random.uniform(0, pause))  # paced runs: conversations start spread out
    sender = f"load-rest-{uuid.uuid4().hex[:10]}"
    for _ in range(rounds):
        for text in SCRIPT:
            started = time.perf_counter()
            async with session.post(
                f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(pause)


async def ws_conversation(session, url, rounds, pause, latencies):
    await asyncio.sleep(random.uniform(0, pause))
    async with session.ws_connect(url.replace("http", "ws", 1) + "/ws") as ws:
        await ws.send_json({"type": "hello", "conversation_id": f"load-ws-{uuid.uuid4().hex[:10]}"})
        while (await ws.receive_json())["type"] != "welcome":
            pass
        for _ in range(rounds):
            for text in SCRIPT:
                started = time.perf_counter()
                await ws.send_json({"type": "message", "text": text, "id": str(uuid.uuid4())})
                while True:  # the reply is complete when the typing indicator goes off
                    message = await ws.receive_json()
                    if message["type"] == "typing" and not message["on"]:
                        break
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(pause)


async def run(url: str, channel: str, conversations: int, rounds: int, rate: float | None):
    latencies: list[float] = []
    # pause per conversation so that N conversations together offer `rate` messages/s
    pause = max(0.0, conversations / rate) if rate else 0.0
    runner = rest_conversation if channel == "rest" else ws_conversation
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(
            *(runner(session, url, rounds, pause, latencies) for _ in range(conversations))
        )
        elapsed = time.perf_counter() - started
    return {
        "channel": channel,
        "conversations": conversations,
        "messages": len(latencies),
        "msg_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def start_server(database_url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, CAREBOT_DATABASE_URL=database_url, CAREBOT_PROJECT_DIR=str(REPO),
               # the whole load comes from this machine: no per-address limits
               CAREBOT_LIMIT_MESSAGES_PER_ADDRESS="off",
               CAREBOT_LIMIT_ORDER_LOOKUPS_PER_ADDRESS="off")
    subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--log-level", "WARNING", "demo-data"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "--log-level", "WARNING", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
    )
    import urllib.request

    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--conversations", "-n", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument(
        "--rounds", type=int, default=2, help="times each conversation repeats the script"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="offered load in messages/s across all conversations (default: as fast as replies come)",
    )
    parser.add_argument("--channels", nargs="+", default=["rest", "websocket"])
    parser.add_argument("--start", action="store_true", help="start a server for the run")
    parser.add_argument("--database-url", default=f"sqlite:///{REPO / 'bench.db'}")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()
    process = start_server(args.database_url, args.port) if args.start else None
    url = f"http://127.0.0.1:{args.port}" if args.start else args.url
    try:
        if not args.json:
            print(f"{'channel':<10}{'N':>5}{'messages':>10}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
        for n in args.conversations:
            for channel in args.channels:
                result = asyncio.run(run(url, channel, n, args.rounds, args.rate))
                if args.json:
                    print(json.dumps(result))
                else:
                    print(
                        f"{channel:<10}{n:>5}{result['messages']:>10}{result['msg_per_s']:>9.1f}"
                        f"{result['p50_ms']:>9.1f}{result['p99_ms']:>9.1f}",
                        flush=True,
                    )
    finally:
        if process:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
