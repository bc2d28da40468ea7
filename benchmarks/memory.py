"""Memory of a serving process: RSS of `carebot serve` after 1,000 turns.

    python benchmarks/memory.py                      # starts a server on a throwaway SQLite
    python benchmarks/memory.py --turns 2000 --conversations 50
    python benchmarks/memory.py -- --workers 2          # options after -- go to `carebot serve`

Starts the demo shop's server (the CLI, as `make run` does) on its own port and database,
drives ``--turns`` customer messages over REST (varied texts, so the NLU cache does not answer
them all; each conversation at a person's typing pace, about 40 s in all), then prints, for
the server process and any processes it started: RSS now, peak RSS (VmHWM), and whether torch,
transformers or spaCy are mapped/loaded into it. The figure of issue 14 is the RSS per serving
process after 1,000 turns.

The breakdown names the parts: a fresh process loads what the server loads, step by step as
the server does (its modules, the NLU's libraries, the project, the ONNX session, spaCy, the
project's models, some parsing), printing the RSS each step adds; what the server holds beyond
that is what 1,000 turns added (conversations, caches, allocator slack). The server's own
memory map splits its RSS into anonymous memory and the files (shared libraries) it maps.
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


# One step per line: (label, code run in the probe process); the RSS after each is printed.
STEPS = [
    ("interpreter, numpy", "import numpy"),
    ("web server code (aiohttp, SQLAlchemy, channels, dialogue)",
     "import bot.app, bot.cli.main"),
    ("NLU code (tokenizers; no scikit-learn or SciPy)", "import nlp.pipeline"),
    ("the project, its policies and actions",
     "from bot.config import Config\nfrom bot.dialogue.assistant import load_assistant\n"
     "config = Config.from_env()\nload_assistant(config.project_dir, config.models_dir,"
     " config.escalation, env=config.environ)"),
    ("ONNX Runtime (its library) and the session of the base graph",
     "from nlp.encoder import SentenceEncoder\nSentenceEncoder.shared(config.base_models_dir)"),
    ("spaCy (NER only)", "from nlp.spacy_model import load_spacy\nload_spacy()"),
    ("the project's NLU models (intent, entities)",
     "from nlp.pipeline import NLU\n"
     "nlu = NLU.load(config.models_dir, base_dir=config.base_models_dir)"),
    ("parsing 400 messages, 16 at a time",
     "texts = messages(400, seed=7)\n"
     "for i in range(0, 400, 16): nlu.parse_batch(texts[i:i + 16])"),
]
PROBE = """
import sys
sys.path.insert(0, {bench!r})
from memory import messages

def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) // 1024

before = rss()
for label, code in {steps!r}:
    exec(code)
    now = rss()
    print(f'{{now - before:>+6}} MB  {{now:>5}} MB  {{label}}', flush=True)
    before = now
"""


def breakdown(env: dict[str, str]) -> int:
    """Load what the server loads in a fresh process, printing what each step adds; returns
    that process's final RSS (MB)."""
    code = PROBE.format(bench=str(Path(__file__).parent), steps=STEPS)
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"breakdown failed:\n{result.stderr}")
    lines = result.stdout.strip("\n").splitlines()
    print("breakdown (a fresh process loading what the server loads):")
    print("   adds      RSS  step")
    for line in lines:
        print(f"  {line}")
    return int(lines[-1].split()[2])


def mapped_files(pid: int, top: int = 6) -> str:
    """The ``top`` packages / libraries by RSS of their mapped files, and anonymous memory."""
    sizes: dict[str, int] = {}
    current = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
            path = fields[5] if len(fields) > 5 else ""
            if "site-packages/" in path:
                current = path.split("site-packages/")[1].split("/")[0]
            elif path.startswith("[") or not path:
                current = "anonymous"
            else:
                current = path.rsplit("/", 1)[-1]
        elif fields[0] == "Rss:" and current is not None:
            sizes[current] = sizes.get(current, 0) + int(fields[1])
    ranked = sorted(sizes.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{name} {kb // 1024}" for name, kb in ranked)


def server_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ, CAREBOT_DATABASE_URL=database_url, CAREBOT_PROJECT_DIR=str(REPO),
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               CAREBOT_LIMIT_MESSAGES_PER_ADDRESS="off",
               CAREBOT_LIMIT_ORDER_LOOKUPS_PER_ADDRESS="off",
               CAREBOT_LIMIT_LOGIN_FAILURES_PER_ADDRESS="off")
    env.setdefault("CAREBOT_BASE_MODELS_DIR", str(REPO / "models"))
    return env


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
    env = server_env(database_url)
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
        print(f"{'':<14} mapped: {mapped_files(pid)} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--database-url", default=None,
                        help="default: a throwaway SQLite file")
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip the step-by-step breakdown (a second process)")
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
        if not args.no_breakdown:
            loaded = breakdown(server_env(database_url))
            print(f"{max(rss) - loaded:>+6} MB         what {args.turns} turns and the rest of "
                  "the server added (the server's RSS less the loaded process's)")


if __name__ == "__main__":
    main()
