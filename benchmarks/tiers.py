"""What one turn costs each tier: CPU time of the Carebot servers, of PostgreSQL (the backends
of this run's own database) and the Redis commands, under a saturated closed-loop load.

    python benchmarks/tiers.py --workers 2 --conversations 100 \\
        --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/0

A fresh database ``carebot_tiers_<random>`` is created on that PostgreSQL server for the run
and dropped after. CPU is read from /proc (utime + stime), so it counts work done, not time
waited: it stays meaningful on a busy machine, where latencies do not. Redis counts every
client's commands (INFO stats): on a shared Redis the idle rate measured just before the run
is subtracted. Prints CPU ms per turn per tier and the turns/s one core of each tier gives.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from load import run, start_server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return found


class Tiers:
    """CPU seconds of the server processes and of this database's PostgreSQL backends."""

    def __init__(self, server_pid: int, admin_url: str | None, database: str | None) -> None:
        self.server_pid = server_pid
        self.database = database
        self.admin = None
        if admin_url and database:
            from sqlalchemy import create_engine

            self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._seen: dict[int, float] = {}

    def backends(self) -> list[int]:
        if self.admin is None:
            return []
        from sqlalchemy import text

        with self.admin.connect() as conn:
            return [r[0] for r in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.database})]

    def snapshot(self) -> dict[str, float]:
        server = [self.server_pid, *children(self.server_pid)]
        return {"server": sum(cpu_seconds(p) for p in server),
                "postgres": sum(cpu_seconds(p) for p in self.backends())}


def redis_commands(url: str | None) -> int:
    if not url:
        return 0
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--conversations", "-n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--channel", default="rest", choices=["rest", "websocket"])
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server URL (a database of the run's own is made "
                             "there); default: a SQLite file")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--parse-cache", action="store_true",
                        help="keep the server's parse cache on: the load's six messages are then "
                             "parsed once, and a turn's CPU is the rest of the turn (default: "
                             "off, every turn parses)")
    args = parser.parse_args()

    database = admin_url = None
    if args.database_url:
        from sqlalchemy import create_engine, make_url, text

        admin_url = args.database_url
        database = f"carebot_tiers_{secrets.token_hex(4)}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{REPO / 'tiers.db'}"
    process = start_server(url, args.port, args.workers, args.redis_url,
                           parse_cache=args.parse_cache)
    try:
        tiers = Tiers(process.pid, admin_url, database)
        base = f"http://127.0.0.1:{args.port}"
        asyncio.run(run(base, args.channel, 10, 1, None))  # warm up: connections, caches
        idle_from, idle_started = redis_commands(args.redis_url), time.perf_counter()
        time.sleep(3)
        idle_rate = (redis_commands(args.redis_url) - idle_from) / (time.perf_counter()
                                                                      - idle_started)
        before, commands = tiers.snapshot(), redis_commands(args.redis_url)
        started = time.perf_counter()
        result = asyncio.run(run(base, args.channel, args.conversations, args.rounds, None))
        elapsed = time.perf_counter() - started
        after = tiers.snapshot()
        commands = redis_commands(args.redis_url) - commands - idle_rate * elapsed
    finally:
        process.terminate()
        process.wait(timeout=90)
        if database:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    turns = result["messages"]
    print(f"{turns} turns ({args.channel}, {args.conversations} conversations, "
          f"{args.workers} workers) in {elapsed:.1f} s: {turns / elapsed:.1f} turns/s, "
          f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms")
    for tier in ("server", "postgres"):
        spent = after[tier] - before[tier]
        if spent <= 0:
            continue
        per_turn = spent / turns * 1000
        print(f"{tier:<9} {per_turn:6.2f} CPU ms per turn -> {1000 / per_turn:7.0f} turns/s "
              "per core")
    if args.redis_url:
        print(f"redis     {commands / turns:6.1f} commands per turn (others' idle rate "
              f"{idle_rate:.0f}/s subtracted)")


if __name__ == "__main__":
    main()
