"""CSV export: streamed in chunks, spreadsheet-safe, redacted text as stored."""

from __future__ import annotations

import csv
import io
import itertools

from known_data import NOW

from analytics.reports.export import (
    csv_cell,
    csv_chunks,
    iter_message_log,
    message_log_csv,
    report_csv,
)
from analytics.reports.registry import ReportOptions, run_report
from analytics.reports.scope import ReportFilters
from analytics.reports.types import Column


def test_chunks_come_out_before_the_rows_run_out():
    endless = ({"n": i, "text": "x" * 50} for i in itertools.count())
    chunks = csv_chunks([Column("n", "n"), Column("text", "text")], endless, chunk_bytes=4096)
    first = next(chunks)
    assert first.startswith(b"n,text\r\n") and 4096 <= len(first) < 8192


def test_the_message_log_is_read_lazily_from_the_database(engine):
    rows = iter_message_log(engine, None, ReportOptions(now=NOW))
    first = next(rows)
    assert first["conversation_id"] == "c1" and first["text"] == "hello"
    rows.close()  # releases the connection without reading the rest


def test_the_message_log_honours_the_filters(engine):
    text = b"".join(message_log_csv(engine, ReportFilters(channel="rest"),
                                    ReportOptions(now=NOW))).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["conversation_id"] for r in rows} == {"c3", "c6"}
    assert len(rows) == 7


def test_a_report_csv_keeps_raw_values_for_spreadsheets(engine):
    report = run_report(engine, "outcomes", None, ReportOptions(now=NOW))
    rows = list(csv.DictReader(io.StringIO(b"".join(report_csv(report)).decode())))
    contained = next(r for r in rows if r["outcome"] == "contained")
    assert contained["share"] == str(round(2 / 6, 4))


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused():
    assert csv_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell(-0.5) == -0.5  # numbers stay numbers
    assert csv_cell("where is my order") == "where is my order"


def test_a_tiny_negative_number_is_written_as_zero_not_minus_zero():
    from analytics.reports.types import format_value

    assert format_value(-0.0001, "float") == "0.000"
    assert format_value(-0.25, "float") == "-0.250"


