"""The data-quality report: every check's findings as one Report (``carebot data quality``,
``carebot report data-quality``, ``/api/reports/data-quality`` and the dashboard's card)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from analytics.quality.checks import CHECK_TITLES, run_checks
from analytics.reports.scope import ReportFilters
from analytics.reports.types import Column, Report

COLUMNS = [Column("check", "Check"), Column("subject", "What"), Column("count", "Rows", "int"),
           Column("examples", "Examples"), Column("advice", "What to do")]


def quality_report(conn: Connection, filters: ReportFilters, options: Any) -> Report:
    """Counts and examples of each kind of bad data (filters do not apply: all data)."""
    findings = run_checks(conn, options.at)
    rows = [{"check": CHECK_TITLES[f.check], "subject": f.subject, "count": f.count,
             "examples": "; ".join(f.examples), "advice": f.advice} for f in findings]
    by_check = {title: sum(f.count for f in findings if CHECK_TITLES[f.check] == title)
                for title in CHECK_TITLES.values()}
    notes = ["Every check passed: no duplicates, gaps, impossible values, orphans, empty "
             "conversations or stale rollups."] if not findings else []
    return Report("data-quality", "Data quality checks", COLUMNS, rows, ReportFilters(),
                  notes=notes, meta={"database": conn.dialect.name, "totals": by_check,
                                     "problems": sum(f.count for f in findings)})
