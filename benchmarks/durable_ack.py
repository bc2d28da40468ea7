"""What the durable ack costs a turn: the journal append and fsync of one turn's records.

    python benchmarks/durable_ack.py --turns 500 --threads 1 10

Each turn writes what ConversationService writes (the conversation state with a tracker of
--events Rasa events, the customer's message, two bot messages, three action events) to a
ConversationLog over SQLite, then calls sync(). Prints p50 / p99 of write+sync per turn and
of sync alone; with several threads, concurrent syncs share fsyncs (group commit).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from analytics.store.db import make_engine, migrate
from analytics.store.records import ConversationRecord, EventRecord, MessageRecord
from analytics.store.writer import ConversationLog


def turn_records(conversation_id: str, events: int) -> list:
    tracker = {"id": conversation_id, "events": [
        {"event": "action", "name": "action_listen", "timestamp": time.time() + i}
        for i in range(events)]}
    return [
        ConversationRecord(id=conversation_id, turns=events // 4, tracker_state=tracker),
        MessageRecord(id=str(uuid.uuid4()), conversation_id=conversation_id, sender="user",
                      text="where is my order A10002", intent="order_status", confidence=0.9),
        *(MessageRecord(conversation_id=conversation_id, sender="bot", text=f"reply {i}")
          for i in range(2)),
        *(EventRecord(conversation_id=conversation_id, type="action", data={"name": "x"})
          for _ in range(3)),
    ]


def run(log: ConversationLog, threads: int, turns: int, events: int) -> tuple[list, list]:
    totals: list[float] = []
    syncs: list[float] = []
    lock = threading.Lock()

    def customer(n: int) -> None:
        conversation_id = f"bench-{n}-{uuid.uuid4().hex[:6]}"
        for _ in range(turns // threads):
            started = time.perf_counter()
            for record in turn_records(conversation_id, events):
                log.write(record)
            synced = time.perf_counter()
            log.sync()
            done = time.perf_counter()
            with lock:
                totals.append(done - started)
                syncs.append(done - synced)

    workers = [threading.Thread(target=customer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return totals, syncs


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--events", type=int, default=40, help="Rasa events in the tracker")
    parser.add_argument("--dir", default=None, help="where the database and journal live")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        engine = make_engine(url)
        print(f"{'threads':>8}{'turns':>7}{'write+sync p50 ms':>19}{'p99 ms':>9}"
              f"{'sync p50 ms':>13}{'p99 ms':>9}")
        for threads in args.threads:
            with ConversationLog(engine, spool_dir=Path(tmp) / "spool") as log:
                totals, syncs = run(log, threads, args.turns, args.events)
            print(f"{threads:>8}{len(totals):>7}{statistics.median(totals) * 1e3:>19.2f}"
                  f"{percentile(totals, 99) * 1e3:>9.2f}{statistics.median(syncs) * 1e3:>13.2f}"
                  f"{percentile(syncs, 99) * 1e3:>9.2f}", flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
