"""Load benchmark: N concurrent conversations against a running Carebot server.

    python benchmarks/load.py --url http://127.0.0.1:8080 --conversations 10
    python benchmarks/load.py --start --workers 1,2 --rate 100 --repeat 5 -n 100
    python benchmarks/load.py --start --workers 1,2 --rate 100 --repeat 5 -n 100 \
        --database-url postgresql+psycopg2://postgres@127.0.0.1/bench --redis-url redis://127.0.0.1:6379/0

Each conversation sends a scripted customer dialogue, waiting for every reply before the
next message (like a person). Prints messages/s and p50 / p99 / p99.9 / max reply latency per
channel (REST and WebSocket). Logging to the analytics store stays on. With --rate,
conversations pace themselves so the whole run offers about that many messages per second:
each customer pauses the same time after every reply (--pacing fixed), or a random time with
that mean (--pacing poisson, arrivals as independent customers make them). With fixed pauses
the conversations drift into step, so one step of the script (e.g. 100 product searches)
arrives within a second or so; that burst, not a stall, makes the tail of such runs.

With --start the script starts `carebot serve --workers W` for each W of --workers, runs the
paced load --repeat times (every run printed, then the worst), then the saturated load (no
pauses: turns/s) against the same server's POST /model/parse throughput at the same
concurrency (parse/s): a turn is a parse plus the dialogue, the log and the fan-out.

The server it starts keeps no parse results (CAREBOT_PARSE_CACHE=0): the script repeats six
messages, which a cache would answer without the NLU, while customers' words are new each
time; --parse-cache measures with the cache on.
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
import tempfile
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


def think(pause: float, pacing: str) -> float:
    """The customer's pause before the next message: always ``pause`` ("fixed"), or random
    with that mean ("poisson": arrivals of many conversations then form a Poisson stream)."""
    if pacing == "poisson" and pause > 0:
        return random.expovariate(1.0 / pause)
    return pause


async def rest_conversation(session, url, rounds, pause, latencies, pacing="fixed"):
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
            await asyncio.sleep(think(pause, pacing))


async def ws_conversation(session, url, rounds, pause, latencies, pacing="fixed"):
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
                await asyncio.sleep(think(pause, pacing))


async def run(url: str, channel: str, conversations: int, rounds: int, rate: float | None,
              pacing: str = "fixed"):
    latencies: list[float] = []
    # pause per conversation so that N conversations together offer `rate` messages/s
    pause = max(0.0, conversations / rate) if rate else 0.0
    runner = rest_conversation if channel == "rest" else ws_conversation
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(
            *(runner(session, url, rounds, pause, latencies, pacing)
              for _ in range(conversations))
        )
        elapsed = time.perf_counter() - started
    return {
        "channel": channel,
        "conversations": conversations,
        "messages": len(latencies),
        "msg_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "p999_ms": percentile(latencies, 99.9) * 1000,
        "max_ms": max(latencies) * 1000,
    }


async def parse_throughput(url: str, concurrency: int, seconds: float) -> dict:
    """POST /model/parse in a closed loop from ``concurrency`` clients: parses per second."""
    done = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def client(n: int) -> None:
            nonlocal done
            i = n
            while time.perf_counter() < deadline:
                # every text new: the NLU parses a text once per batch (and caches it when
                # the cache is on), so six texts repeated would measure far fewer parses
                text = f"{SCRIPT[i % len(SCRIPT)]} (ref {n}-{i})"
                async with session.post(f"{url}/model/parse", json={"text": text}) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}")
                done += 1
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"concurrency": concurrency, "parses": done, "parse_per_s": done / elapsed}


def settings_without_abuse_guard() -> Path:
    """The demo's carebot.yml with the abuse guard off: this load is a script typing faster
    than a person, which the guard slows down by 2 s a reply, as it should for a real client."""
    text = (REPO / "carebot.yml").read_text()
    assert "\nabuse:" in text
    path = Path(tempfile.mkdtemp(prefix="carebot-load-")) / "carebot.yml"
    path.write_text(text.replace("\nabuse:", "\nabuse:\n  enabled: false", 1))
    return path


def start_server(database_url: str, port: int, workers: int = 1,
                 redis_url: str | None = None, abuse_guard: bool = False,
                 parse_cache: bool = False) -> subprocess.Popen:
    env = dict(os.environ, CAREBOT_DATABASE_URL=database_url, CAREBOT_PROJECT_DIR=str(REPO),
               # the whole load comes from this machine: no per-address or per-conversation
               # limits (a saturated conversation sends more than a person would)
               CAREBOT_LIMIT_MESSAGES_PER_ADDRESS="off",
               CAREBOT_LIMIT_MESSAGES_PER_CONVERSATION="off",
               CAREBOT_LIMIT_ORDER_LOOKUPS_PER_ADDRESS="off",
               CAREBOT_LIMIT_ORDER_LOOKUPS_PER_CONVERSATION="off")
    env.pop("CAREBOT_REDIS_URL", None)
    if not parse_cache:
        env["CAREBOT_PARSE_CACHE"] = "0"
    env.setdefault("CAREBOT_BASE_MODELS_DIR", str(REPO / "models"))  # as the tests run it
    if not abuse_guard:
        env["CAREBOT_CONFIG"] = str(settings_without_abuse_guard())
    if redis_url:
        env["CAREBOT_REDIS_URL"] = redis_url
    subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--log-level", "WARNING", "demo-data"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "--log-level", "WARNING", "serve", "--port",
         str(port), "--workers", str(workers)],
        env=env,
        cwd=REPO,
    )
    import urllib.request

    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            # every worker answers once /health does from several connections in a row
            for _ in range(4 * workers):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


HEADER = (f"{'workers':>7} {'run':>4} {'channel':<10}{'N':>5}{'messages':>10}{'msg/s':>9}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'max ms':>9}")


def show(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result), flush=True)
        return
    print(f"{result['workers']:>7} {result['run']:>4} {result['channel']:<10}"
          f"{result['conversations']:>5}{result['messages']:>10}{result['msg_per_s']:>9.1f}"
          f"{result['p50_ms']:>9.1f}{result['p99_ms']:>9.1f}{result['p999_ms']:>10.1f}"
          f"{result['max_ms']:>9.1f}", flush=True)


def measure(url: str, workers: int | str, args) -> None:
    for n in args.conversations:
        runs: dict[str, list[dict]] = {c: [] for c in args.channels}
        for repeat in range(1, args.repeat + 1):
            for channel in args.channels:
                result = asyncio.run(run(url, channel, n, args.rounds, args.rate, args.pacing))
                result.update(workers=workers, run=repeat, pacing=args.pacing)
                runs[channel].append(result)
                show(result, args.json)
        if args.repeat > 1:
            for channel, results in runs.items():
                worst = {key: max(r[key] for r in results)
                         for key in ("p50_ms", "p99_ms", "p999_ms", "max_ms")}
                worst.update(workers=workers, run="worst", channel=channel, conversations=n,
                             messages=sum(r["messages"] for r in results),
                             msg_per_s=min(r["msg_per_s"] for r in results))
                show(worst, args.json)
    if args.saturated:
        n = max(args.conversations)
        parse = asyncio.run(parse_throughput(url, n, args.saturated))
        for channel in args.channels:
            turns = asyncio.run(run(url, channel, n, args.rounds, None))
            ratio = turns["msg_per_s"] / parse["parse_per_s"]
            line = {"workers": workers, "saturated": channel, "conversations": n,
                    "turns_per_s": turns["msg_per_s"], "parse_per_s": parse["parse_per_s"],
                    "turns_over_parse": ratio, "p50_ms": turns["p50_ms"],
                    "p99_ms": turns["p99_ms"]}
            if args.json:
                print(json.dumps(line), flush=True)
            else:
                print(f"{workers:>7} saturated {channel:<10}{n:>5} turns/s "
                      f"{turns['msg_per_s']:.1f}, /model/parse {parse['parse_per_s']:.1f}/s "
                      f"-> {ratio:.2f} of parse (p50 {turns['p50_ms']:.0f} ms, "
                      f"p99 {turns['p99_ms']:.0f} ms)", flush=True)


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
    parser.add_argument(
        "--pacing", choices=("fixed", "poisson"), default="fixed",
        help="with --rate, each customer's pause after a reply: always the same (fixed; the "
             "conversations then tend to move in step, so the same message arrives in bursts) "
             "or random with the same mean (poisson: arrivals as independent customers make)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each measurement (every run printed, then the worst)")
    parser.add_argument("--workers", default="1",
                        help="with --start: comma-separated worker counts to compare, e.g. 1,2")
    parser.add_argument("--saturated", type=float, default=0.0, metavar="SECONDS",
                        help="also measure saturated turns/s against /model/parse/s (parse "
                             "measured for this many seconds); default with --start: 10")
    parser.add_argument("--channels", nargs="+", default=["rest", "websocket"])
    parser.add_argument("--start", action="store_true", help="start a server for the run")
    parser.add_argument("--database-url", default=f"sqlite:///{REPO / 'bench.db'}")
    parser.add_argument("--redis-url", default=None,
                        help="with --start: CAREBOT_REDIS_URL for the server (several workers "
                             "then share through Redis)")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--abuse-guard", action="store_true",
                        help="with --start: keep the abuse guard on (it slows this scripted, "
                             "faster-than-typing load down by 2 s a reply)")
    parser.add_argument("--parse-cache", action="store_true",
                        help="with --start: keep the server's parse cache on (the script's "
                             "six messages are then parsed once, not every turn)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()
    if args.start and not args.saturated:
        args.saturated = 10.0
    if not args.json:
        print(HEADER)
    if not args.start:
        measure(args.url, "?", args)
        return
    for workers in [int(w) for w in args.workers.split(",")]:
        process = start_server(args.database_url, args.port, workers, args.redis_url,
                               args.abuse_guard, args.parse_cache)
        try:
            measure(f"http://127.0.0.1:{args.port}", workers, args)
        finally:
            process.terminate()
            process.wait(timeout=90)


if __name__ == "__main__":
    main()
