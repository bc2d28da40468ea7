"""Memory of a serving process: RSS of `carebot serve` after 1,000 turns.

    python benchmarks/memory.py                      # starts a server on a throwaway SQLite
    python benchmarks/memory.py --turns 2000 --conversations 50
    python benchmarks/memory.py -- --workers 2          # options after -- go to `carebot serve`

Starts the demo shop's server (the CLI, as `make run` does) on its own port and database,
drives ``--turns`` customer messages over REST (varied texts, so the NLU cache does not answer
them all; each conversation at a person's typing pace, about 40 s in all), then prints, for the server process and any processes it started: RSS now, peak
RSS (VmHWM), and whether torch, transformers or spaCy are mapped/loaded into it. The figure of
issue 14 is the RSS per serving process after 1,000 turns.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = [
    "hi there",
    "hello, is anyone there?",
    "where is my order A1{n:04d}",
    "has order A1{n:04d} shipped yet?",
    "do you ship to {country}?",
    "my email is someone{n}@example.com",
    "can you recommend some {product}?",
    "I want to return my {product}",
    "my name is {name} and my order A1{n:04d} is late",
    "this is taking forever, I am really annoyed",
    "thanks, that was helpful",
    "bye",
]
COUNTRIES = ["canada", "spain", "germany", "japan", "brazil", "the uk", "france"]
PRODUCTS = ["headphones", "shoes", "a jacket", "kitchen knives", "books", "a laptop bag"]
NAMES = ["Maria Lopez", "John Smith", "Aiko Tanaka", "Peter Novak", "Fatima Khan"]


def messages(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        out.append(TEMPLATES[i % len(TEMPLATES)].format(
            n=rng.randrange(10000), country=rng.choice(COUNTRIES),
            product=rng.choice(PRODUCTS), name=rng.choice(NAMES)))
    return out


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM / RssAnon / RssFile of ``pid`` in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) // 1024
    return out


def mapped(pid: int) -> dict[str, bool]:
    """Which heavy libraries the process has mapped (shared objects of the package)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {
        "torch": "/torch/lib/" in maps or "libtorch" in maps,
        "onnxruntime": "onnxruntime" in maps,
        "spacy": "/spacy/" in maps or "/thinc/" in maps,
        "tokenizers": "/tokenizers/" in maps,
        "pandas": "/pandas/" in maps or "/pyarrow/" in maps,
    }


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server may start worker processes)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo += [int(c) for c in children.read_text().split()]
    return found


def serve(database_url: str, port: int, extra: list[str]) -> subprocess.Popen:
    env = dict(os.environ, CAREBOT_DATABASE_URL=database_url, CAREBOT_PROJECT_DIR=str(REPO),
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               CAREBOT_LIMIT_MESSAGES_PER_ADDRESS="off",
               CAREBOT_LIMIT_ORDER_LOOKUPS_PER_ADDRESS="off",
               CAREBOT_LIMIT_LOGIN_FAILURES_PER_ADDRESS="off")
    env.setdefault("CAREBOT_BASE_MODELS_DIR", str(REPO / "models"))
    cli = [sys.executable, "-m", "bot.cli.main", "--log-level", "ERROR"]
    subprocess.run([*cli, "demo-data"], env=env, cwd=REPO, check=True, capture_output=True)
    process = subprocess.Popen([*cli, "serve", "--port", str(port), *extra], env=env, cwd=REPO)
    for _ in range(900):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


async def drive(url: str, texts: list[str], conversations: int) -> float:
    """Send ``texts`` spread over ``conversations`` concurrent REST conversations, each typing
    at a person's pace (the abuse guard hands faster conversations over to an agent)."""
    per = [texts[i::conversations] for i in range(conversations)]
    rng = random.Random(1)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def conversation(k: int, mine: list[str]) -> None:
            await asyncio.sleep(rng.uniform(0, 2))
            for text in mine:
                await asyncio.sleep(max(0.8, len(text) / 8) * rng.uniform(1.0, 1.3))
                body = {"sender": f"memory-{k}", "message": text}
                async with session.post(f"{url}/webhooks/rest/webhook", json=body) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}: {await response.text()}")

        await asyncio.gather(*(conversation(k, m) for k, m in enumerate(per)))
    return time.perf_counter() - started


def report(label: str, pids: list[int]) -> None:
    for pid in pids:
        status, libs = proc_status(pid), mapped(pid)
        loaded = ", ".join(name for name, yes in libs.items() if yes) or "none"
        print(f"{label:<14} pid {pid:<7} RSS {status['VmRSS']:>5} MB  peak {status['VmHWM']:>5} MB"
              f"  (anon {status['RssAnon']} MB, file {status['RssFile']} MB)  loaded: {loaded}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--database-url", default=None,
                        help="default: a throwaway SQLite file")
    parser.add_argument("serve_args", nargs="*",
                        help="extra `carebot serve` options, after --")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carebot-memory-") as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/memory.db"
        process = serve(database_url, args.port, args.serve_args)
        try:
            pids = process_tree(process.pid)
            report("after start", pids)
            seconds = asyncio.run(drive(f"http://127.0.0.1:{args.port}",
                                        messages(args.turns), args.conversations))
            print(f"{args.turns} turns over {args.conversations} conversations in {seconds:.1f} s",
                  flush=True)
            pids = process_tree(process.pid)
            report(f"after {args.turns}", pids)
            rss = [proc_status(p)["VmRSS"] for p in pids]
            print(f"RSS per serving process after {args.turns} turns: max {max(rss)} MB"
                  f" ({len(pids)} process(es), {sum(rss)} MB together)")
        finally:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
