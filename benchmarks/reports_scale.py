"""Report latency at scale: builds ~100,000 conversations / 1,000,000 messages in a fresh
PostgreSQL database (COPY) and prints how long each report takes.

    python benchmarks/reports_scale.py                      # local trust-auth PostgreSQL
    python benchmarks/reports_scale.py --admin-url postgresql+psycopg2://u:p@host/postgres
    python benchmarks/reports_scale.py --conversations 20000 --keep

The target (issue 5) is under 1 s per report. The database is dropped afterwards unless
--keep is given.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, make_url, select, text  # noqa: E402
from tqdm import tqdm  # noqa: E402

from analytics.demo.seed import seed  # noqa: E402
from analytics.demo.synthetic import REFERENCE, generate  # noqa: E402
from analytics.insights.retrain import retrain  # noqa: E402
from analytics.reports.export import message_log_csv  # noqa: E402
from analytics.reports.registry import REPORTS, ReportOptions, run_report  # noqa: E402
from analytics.reports.scope import ReportFilters  # noqa: E402
from analytics.store.db import make_engine, migrate  # noqa: E402
from analytics.store.schema import (  # noqa: E402
    Conversation,
    ConversationFacts,
    ConversationIntentFacts,
    Customer,
    Escalation,
    Message,
)

TABLES = ((Conversation, "conversations"), (Message, "messages"),
          (Escalation, "escalations"), (ConversationFacts, "facts"),
          (ConversationIntentFacts, "intent_facts"))
SCENARIOS = {
    "no filter": ReportFilters(),
    "last 30 days": ReportFilters(date_from=date(2026, 10, 2), date_to=date(2026, 11, 1)),
    "intent=refund_status": ReportFilters(intent="refund_status"),
    "channel+outcome": ReportFilters(channel="websocket", outcome="escalated"),
    "segment=loyal": ReportFilters(segment="loyal"),
}


def _copy(raw_connection, table, rows: list[dict]) -> None:
    columns = [c.name for c in table.columns]
    json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([json.dumps(row.get(c)) if c in json_columns
                         else "" if row.get(c) is None else row.get(c) for c in columns])
    buffer.seek(0)
    with raw_connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
                           buffer)


def build(url: str, conversations: int) -> dict[str, int]:
    migrate(url)
    engine = make_engine(url)
    seed(engine, progress=False)
    with engine.connect() as conn:
        customers = list(conn.execute(select(Customer.id)).scalars())
    counts = dict.fromkeys((name for _, name in TABLES), 0)
    raw = engine.raw_connection()
    try:
        with tqdm(total=conversations, desc="building", unit="conv") as bar:
            for block in generate(conversations, customer_ids=customers, seed=11,
                                  days=120, reference=REFERENCE):
                for model, name in TABLES:
                    rows = getattr(block, {"facts": "facts", "intent_facts": "intent_facts"}
                                   .get(name, name))
                    _copy(raw, model.__table__, rows)
                    counts[name] += len(rows)
                raw.commit()
                bar.update(len(block.conversations))
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("SELECT setval(pg_get_serial_sequence('escalations', 'id'), "
                          "(SELECT COALESCE(MAX(id), 0) + 1 FROM escalations), false)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return counts


def time_retrain(url: str, models_dir: Path) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    summary = retrain(engine, models_dir, progress=True, now=REFERENCE)
    seconds = time.perf_counter() - started
    engine.dispose()
    sat = summary.satisfaction
    if sat is not None:
        print(f"Satisfaction model on {sat.n_rated:,} rated conversations: linear R² "
              f"{sat.linear_r2:.3f}, MAE {sat.linear_mae:.3f}; gradient boosting R² "
              f"{sat.boosted_r2:.3f}, MAE {sat.boosted_mae:.3f} (5-fold cross-validation)")
    print(f"Segments: {len(summary.segments)}; journey: {summary.journey_conversations:,} "
          f"conversations; retrain took {seconds:.0f} s")
    return seconds


def time_reports(url: str, repeat: int,
                 models_dir: Path | None) -> list[tuple[str, str, float, int]]:
    engine = make_engine(url)
    options = ReportOptions(now=REFERENCE, limit=50, min_conversations=20,
                            models_dir=models_dir)
    results = []
    for scenario, filters in SCENARIOS.items():
        for name in REPORTS:
            if name in ("satisfaction-drivers", "journey", "segment-profiles") \
                    and scenario != "no filter":
                continue  # read from the fitted model; filters do not apply
            run_report(engine, name, filters, options)  # warm the cache
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                report = run_report(engine, name, filters, options)
                timings.append(time.perf_counter() - started)
            results.append((scenario, name, statistics.median(timings), len(report.rows)))
    engine.dispose()
    return results


def time_export(url: str) -> tuple[float, int]:
    engine = make_engine(url)
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in message_log_csv(engine, ReportFilters(
        date_from=date(2026, 10, 25), date_to=date(2026, 11, 1))))
    engine.dispose()
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url",
                        default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--conversations", type=int, default=104_000,
                        help="~9.7 messages each; the default gives about a million")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="DBNAME",
                        help="time an existing benchmark database instead of building one")
    parser.add_argument("--no-retrain", action="store_true",
                        help="skip fitting the analytics models (their reports stay empty)")
    args = parser.parse_args()

    name = args.reuse or f"carebot_bench_{secrets.token_hex(4)}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if not args.reuse:
            started = time.perf_counter()
            counts = build(url, args.conversations)
            print(f"Built {counts['conversations']:,} conversations, {counts['messages']:,} "
                  f"messages, {counts['escalations']:,} escalations in "
                  f"{time.perf_counter() - started:.0f} s ({name})")
        with tempfile.TemporaryDirectory() as models:
            models_dir = None if args.no_retrain else Path(models)
            if models_dir is not None:
                time_retrain(url, models_dir)
            results = time_reports(url, args.repeat, models_dir)
        print(f"\n{'filters':<22} {'report':<24} {'median s':>9} {'rows':>6}")
        for scenario, report, seconds, rows in results:
            flag = "" if seconds < 1 else "  <-- over 1 s"
            print(f"{scenario:<22} {report:<24} {seconds:>9.3f} {rows:>6}{flag}")
        worst = max(results, key=lambda r: r[2])
        print(f"\nSlowest: {worst[1]} ({worst[0]}) {worst[2]:.3f} s; "
              f"{sum(r[2] < 1 for r in results)}/{len(results)} under 1 s")
        seconds, size = time_export(url)
        print(f"Message-log export, one week: {size / 1e6:.1f} MB CSV in {seconds:.1f} s "
              "(streamed)")
    finally:
        if not args.keep and not args.reuse:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
