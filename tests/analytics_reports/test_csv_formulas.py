"""A customer's message cannot run as a spreadsheet formula in an export, however it starts."""

from __future__ import annotations

import csv
import io

import pytest

from analytics.reports.export import MESSAGE_LOG_COLUMNS, csv_cell, csv_chunks


@pytest.mark.parametrize("text", [
    " =HYPERLINK(\"http://evil.example\")", "\n=cmd|' /C calc'!A0", "\r\n+1+1", "\t=1",
    "＝1+1", "＋SUM(A1)", "－2+3", "＠SUM(A1)", "\u3000＝1", "  @A1"])
def test_cells_a_spreadsheet_would_run_are_quoted(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["where is my order?", "  hello", "x=1", "a＝b", "1 + 1"])
def test_ordinary_text_is_left_as_it_is(text):
    assert csv_cell(text) == text


def test_the_exported_file_reads_back_with_the_quote_in_front():
    rows = [{"text": "\n=cmd", "sender": "user"}]
    data = b"".join(csv_chunks(MESSAGE_LOG_COLUMNS, rows)).decode()
    [row] = list(csv.DictReader(io.StringIO(data)))
    assert row["text"] == "'\n=cmd"
