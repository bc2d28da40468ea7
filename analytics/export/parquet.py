"""`carebot export --format parquet`: the redacted store as Hive-style date partitions
(``DIR/<table>/date=YYYY-MM-DD/part-*.parquet``), written incrementally.

Append-only tables (messages, events) are read from a watermark: only rows after the last
exported (time, id) are read and added to their day as a new file. A day whose row count in
the store no longer matches the export (a row that arrived late, one deleted) is written
again whole. Tables whose rows change (conversations, escalations, ratings) are read whole
and compared day by day with a digest of the exported rows; a day that changed is written
again, the others are left alone. docs/export.md says what that means for readers.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, and_, or_
from tqdm import tqdm

from analytics.export.manifest import (
    Partition,
    TableState,
    export_lock,
    load,
    partition_dir,
    prepare_directory,
    save,
    settle,
    temp_name,
)
from analytics.export.tables import TABLES, ExportTable
from analytics.store.db import describe

ROWS_PER_FILE = 250_000
_STREAM_ROWS = 5_000


@dataclass(frozen=True)
class TableSummary:
    name: str
    rows_written: int  # rows in the files this run wrote
    rows: int  # rows the export holds now
    partitions: int  # date partitions the export holds now
    partitions_written: int  # partitions this run added to or wrote again
    partitions_replaced: int  # of those, written again whole
    partitions_dropped: int  # no rows left in the store for that day


@dataclass(frozen=True)
class ExportSummary:
    directory: Path
    run: int
    tables: tuple[TableSummary, ...]
    seconds: float

    @property
    def rows_written(self) -> int:
        return sum(t.rows_written for t in self.tables)

    def table(self, name: str) -> TableSummary:
        return next(t for t in self.tables if t.name == name)


def export_parquet(engine: Engine, directory: Path | str, *, full: bool = False,
                   progress: bool = False,
                   tables: Iterable[ExportTable] = TABLES) -> ExportSummary:
    """Bring the Parquet export in ``directory`` up to date with the store (``full``: write
    everything again). ExportError when DIR cannot be used."""
    started = time.perf_counter()
    directory = Path(directory)
    tables = tuple(tables)
    names = [t.name for t in tables]
    prepare_directory(directory)
    with export_lock(directory):
        manifest = load(directory, describe(engine), full=full)
        if not full:  # finish a killed run's commit, notice files someone deleted
            settle(directory, manifest, names)
        manifest.runs += 1
        run = _Run(directory, manifest.runs, progress)
        summaries = []
        for table in tables:
            state = manifest.table(table.name)
            with engine.connect() as conn:
                if conn.dialect.name == "postgresql":  # one snapshot for counts and rows
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    if table.append_only:
                        counts = run.append_only(conn, table, state)
                    else:
                        counts = run.changing(conn, table, state)
            manifest.exported_at = datetime.now(UTC).isoformat(timespec="seconds")
            save(directory, manifest)
            settle(directory, manifest, [table.name])
            summaries.append(TableSummary(table.name, counts[0], state.rows,
                                          len(state.partitions), *counts[1:]))
    return ExportSummary(directory, manifest.runs, tuple(summaries),
                         round(time.perf_counter() - started, 3))


def _day(at: datetime) -> str:
    return at.date().isoformat()


def _day_bounds(table: ExportTable, day: str):
    start = datetime.fromisoformat(day)
    return and_(table.partition_by >= start, table.partition_by < start + timedelta(days=1))


def _after(table: ExportTable, mark: tuple[str, str]):
    at = datetime.fromisoformat(mark[0])
    return or_(table.partition_by > at, and_(table.partition_by == at, table.key > mark[1]))


def _stream(conn: Connection, query) -> Iterator[Any]:
    return iter(conn.execution_options(stream_results=True, yield_per=_STREAM_ROWS)
                .execute(query))


class _Run:
    """One export run: names its files and writes them under temporary names."""

    def __init__(self, directory: Path, run: int, progress: bool) -> None:
        self.directory = directory
        self.run = run
        self.token = secrets.token_hex(4)  # file names never repeat, even after --full
        self.files = 0
        self.progress = progress

    def _bar(self, table: ExportTable, total: int) -> tqdm:
        return tqdm(total=total, desc=f"export {table.name}", unit="rows", unit_scale=True,
                    disable=not self.progress, leave=True)

    # -- messages, events: a watermark, and day counts to catch what it cannot ---------------

    def append_only(self, conn: Connection, table: ExportTable,
                    state: TableState) -> tuple[int, int, int, int]:
        store = {str(day): rows for day, rows in conn.execute(table.day_counts())}
        mark = state.watermark
        if mark is None:
            after = dict(store)
        else:
            query = table.day_counts().where(_after(table, mark))
            after = {str(day): rows for day, rows in conn.execute(query)}
        append, rewrite, dropped = set(), [], 0
        for day in sorted(set(store) | set(state.partitions)):
            in_store = store.get(day, 0)
            exported = state.partitions[day].rows if day in state.partitions else 0
            new = after.get(day, 0)
            if in_store == 0:
                del state.partitions[day]
                dropped += 1
            elif exported + new != in_store:
                rewrite.append(day)
            elif new:
                append.add(day)
        total = sum(after[d] for d in append) + sum(store[d] for d in rewrite)
        replaced = sum(day in state.partitions for day in rewrite)
        written, last = 0, mark
        with self._bar(table, total) as bar:
            if append:
                query = table.select() if mark is None else table.select().where(
                    _after(table, mark))
                rows = (r for r in _stream(conn, query) if _day(r._at) in append)
                for day, chunk in _by_day(rows):
                    part = state.partitions.setdefault(day, Partition(0, []))
                    part.files.append(self._write(table, day, chunk))
                    part.rows += len(chunk)
                    written += len(chunk)
                    last = _later(last, chunk[-1])
                    bar.update(len(chunk))
            for day in rewrite:
                chunks = [chunk for _, chunk in
                          _by_day(_stream(conn, table.select().where(_day_bounds(table, day))))]
                n = self._replace(table, state, day, chunks)
                written += n
                if chunks:
                    last = _later(last, chunks[-1][-1])
                bar.update(n)
        state.watermark = last
        return written, len(append) + len(rewrite), replaced, dropped

    # -- conversations, escalations, ratings: each day compared by a digest of its rows ------

    def changing(self, conn: Connection, table: ExportTable,
                 state: TableState) -> tuple[int, int, int, int]:
        total = sum(rows for _, rows in conn.execute(table.day_counts()))
        seen: set[str] = set()
        written = changed = replaced = 0
        with self._bar(table, total) as bar:
            for day, rows in _by_day(_stream(conn, table.select()), limit=None):
                seen.add(day)
                digest = _digest(table, rows)
                old = state.partitions.get(day)
                if old is None or old.digest != digest or old.rows != len(rows):
                    replaced += old is not None
                    changed += 1
                    chunks = [rows[i:i + ROWS_PER_FILE]
                              for i in range(0, len(rows), ROWS_PER_FILE)]
                    written += self._replace(table, state, day, chunks)
                    state.partitions[day].digest = digest
                bar.update(len(rows))
        dropped = [day for day in state.partitions if day not in seen]
        for day in dropped:
            del state.partitions[day]
        return written, changed, replaced, len(dropped)

    # -- files ------------------------------------------------------------------------------

    def _replace(self, table: ExportTable, state: TableState, day: str,
                 chunks: list[list[Any]]) -> int:
        """The day's partition becomes these rows (the old files go when the run commits)."""
        if not chunks:
            state.partitions.pop(day, None)
            return 0
        files = [self._write(table, day, chunk) for chunk in chunks]
        state.partitions[day] = Partition(sum(len(c) for c in chunks), files)
        return state.partitions[day].rows

    def _write(self, table: ExportTable, day: str, rows: list[Any]) -> str:
        name = f"part-{self.run:06d}-{self.token}-{self.files:05d}.parquet"
        self.files += 1
        folder = partition_dir(self.directory, table.name, day)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(_arrow(table, rows), folder / temp_name(name), compression="snappy")
        return name


def _arrow(table: ExportTable, rows: list[Any]) -> pa.Table:
    arrays = []
    for i, column in enumerate(table.columns):
        values = [row[i] for row in rows]
        if column.convert is not None:
            values = [column.convert(v) for v in values]
        arrays.append(pa.array(values, type=column.type))
    return pa.Table.from_arrays(arrays, schema=table.schema)


def _digest(table: ExportTable, rows: list[Any]) -> str:
    h = hashlib.blake2b(digest_size=16)
    width = len(table.columns)
    for row in rows:
        h.update(repr(tuple(row[:width])).encode())
        h.update(b"\n")
    return h.hexdigest()


def _by_day(rows: Iterable[Any], limit: int | None = ROWS_PER_FILE
            ) -> Iterator[tuple[str, list[Any]]]:
    """Consecutive rows of one day (rows come ordered by time), at most ``limit`` at a time."""
    day, chunk = None, []
    for row in rows:
        row_day = _day(row._at)
        if chunk and (row_day != day or (limit is not None and len(chunk) >= limit)):
            yield day, chunk
            chunk = []
        day = row_day
        chunk.append(row)
    if chunk:
        yield day, chunk


def _later(mark: tuple[str, str] | None, row: Any) -> tuple[str, str]:
    candidate = (row._at.isoformat(), str(row._key))
    if mark is None:
        return candidate
    return max(mark, candidate, key=lambda m: (datetime.fromisoformat(m[0]), m[1]))
