"""CSV export of reports and of the redacted message log, produced in chunks so a large export
never sits in memory whole."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from analytics.reports.registry import ReportOptions
from analytics.reports.scope import C, ReportFilters, scope
from analytics.reports.types import Column, Report
from analytics.store.schema import Message

M = Message.__table__
CHUNK_BYTES = 64 * 1024
STREAM_ROWS = 2000
MESSAGE_LOG_COLUMNS = [
    Column("conversation_id", "conversation_id"),
    Column("created_at", "created_at", "datetime"),
    Column("channel", "channel"),
    Column("sender", "sender"),
    Column("intent", "intent"),
    Column("confidence", "confidence", "float"),
    Column("sentiment_label", "sentiment_label"),
    Column("sentiment_score", "sentiment_score", "float"),
    Column("text", "text"),
]
# A spreadsheet runs a cell that starts with one of these as a formula; customers type freely.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _runs_as_formula(value: str) -> bool:
    """Whether a spreadsheet could read the cell as a formula: it skips leading blanks and
    line breaks, and reads full-width signs (＝, ＋, －, ＠) as their ASCII forms."""
    if value.startswith(_FORMULA_START):
        return True
    head = value.lstrip()
    return bool(head) and unicodedata.normalize("NFKC", head[0]).startswith(_FORMULA_START[:4])


def csv_cell(value: Any) -> Any:
    """A value as it goes into a CSV cell: ISO timestamps, and text that cannot run as a
    spreadsheet formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and _runs_as_formula(value):
        return "'" + value
    return value


def csv_chunks(columns: list[Column], rows: Iterable[dict[str, Any]],
               chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """UTF-8 CSV (header first) in chunks of about ``chunk_bytes``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    names = [c.name for c in columns]
    for row in rows:
        writer.writerow([csv_cell(row.get(name)) for name in names])
        if buffer.tell() >= chunk_bytes:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def report_csv(report: Report) -> Iterator[bytes]:
    """A report as CSV chunks; values stay raw (rates as fractions, durations in seconds)."""
    return csv_chunks(report.columns, report.rows)


def iter_message_log(engine: Engine, filters: ReportFilters | None = None,
                     options: ReportOptions | None = None) -> Iterator[dict[str, Any]]:
    """The redacted messages of the filtered conversations, read with a server-side cursor."""
    filters = filters or ReportFilters()
    options = options or ReportOptions()
    s = scope(filters, options.at)
    query = (
        select(M.c.conversation_id, M.c.created_at, C.c.channel, M.c.sender, M.c.intent,
               M.c.confidence, M.c.sentiment_label, M.c.sentiment_score, M.c.text)
        .select_from(s.from_.join(M, M.c.conversation_id == C.c.id))
        .where(*s.where)
        .order_by(M.c.conversation_id, M.c.created_at, M.c.id)
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(query)
        for row in result:
            yield dict(row._mapping)


def message_log_csv(engine: Engine, filters: ReportFilters | None = None,
                    options: ReportOptions | None = None) -> Iterator[bytes]:
    """The redacted message log as CSV chunks."""
    return csv_chunks(MESSAGE_LOG_COLUMNS, iter_message_log(engine, filters, options))
