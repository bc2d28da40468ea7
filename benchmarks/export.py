"""`carebot export --format parquet` on the demo data set: the demo shop plus synthetic
conversation history (analytics/demo) with the csat and escalation events the bot logs.
Prints the time and rows/s of a first (full) export, of a second one with nothing new, and of
an incremental one after 1% more conversations.

    python benchmarks/export.py                          # SQLite in a temporary folder
    python benchmarks/export.py --conversations 2000
    python benchmarks/export.py --postgres               # a throwaway database on the local
                                                         # trust-auth PostgreSQL
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from analytics.demo.seed import seed  # noqa: E402
from analytics.demo.synthetic import REFERENCE, generate, insert_history  # noqa: E402
from analytics.export import export_parquet  # noqa: E402
from analytics.store.batches import write_batch  # noqa: E402
from analytics.store.db import make_engine, migrate  # noqa: E402
from analytics.store.records import EventRecord  # noqa: E402
from analytics.store.schema import Escalation  # noqa: E402

POSTGRES_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def add_history(engine, count: int, *, start: int, reference, days: int) -> int:
    with engine.connect() as conn:
        escalation = (conn.execute(select(func.max(Escalation.id))).scalar() or 0) + 1
    rows = 0
    for block in generate(count, customer_ids=list(range(1, 301)), seed=start + 7, days=days,
                          start_id=start, escalation_id_start=escalation, reference=reference):
        insert_history(engine, block)
        events = [EventRecord(conversation_id=c["id"], type="csat", actor="customer",
                              data={"rating": c["csat_rating"]}, created_at=c["last_active_at"])
                  for c in block.conversations if c["csat_rating"] is not None]
        events += [EventRecord(conversation_id=e["conversation_id"], type="escalation",
                               actor="bot", data={"escalation_id": e["id"]},
                               created_at=e["created_at"]) for e in block.escalations]
        write_batch(engine, events)
        rows += len(block.conversations) + len(block.messages) + len(events)
    return rows


@contextmanager
def database(postgres: bool, folder: Path):
    if not postgres:
        yield f"sqlite:///{folder / 'carebot.db'}"
        return
    name = f"carebot_bench_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def report(label: str, summary) -> None:
    rate = summary.rows_written / summary.seconds if summary.seconds else 0.0
    files = sum(t.partitions_written for t in summary.tables)
    print(f"{label:<34} {summary.rows_written:>9,} rows  {summary.seconds:7.2f} s  "
          f"{rate:>9,.0f} rows/s  ({files} partitions written)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.postgres, Path(tmp)) as url:
        migrate(url)
        engine = make_engine(url)
        started = time.perf_counter()
        seed(engine, progress=False)
        rows = add_history(engine, args.conversations, start=0, reference=REFERENCE, days=90)
        print(f"store: {engine.dialect.name}, {args.conversations:,} conversations, "
              f"{rows:,} rows (built in {time.perf_counter() - started:.1f} s)")
        out = Path(tmp) / "export"
        report("first export (everything)", export_parquet(engine, out))
        report("second export (nothing new)", export_parquet(engine, out))
        more = max(1, args.conversations // 100)
        add_history(engine, more, start=args.conversations,
                    reference=REFERENCE + timedelta(days=1), days=1)
        report(f"after {more:,} new conversations", export_parquet(engine, out))
        size = sum(p.stat().st_size for p in out.glob("*/*/*.parquet"))
        print(f"export size: {size / 1e6:.1f} MB in {len(list(out.glob('*/*/*.parquet')))} files")
        engine.dispose()


if __name__ == "__main__":
    main()
