"""Agent first-response and handle times over the filtered hand-offs (escalations)."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import Connection, extract, func, literal_column, select

from analytics.reports.scope import C, ReportFilters, count_when, scope
from analytics.reports.types import ReportOptions
from analytics.store.schema import Escalation

E = Escalation.__table__
_ALL = "all"


def _seconds(end: Any, start: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def escalation_stats(conn: Connection, filters: ReportFilters, options: ReportOptions, *,
                     by_reason: bool = False) -> dict[str, dict[str, Any]]:
    """Per reason (or ``"all"``): escalations, how many an agent answered and resolved, median
    and mean first response and handle time in seconds, average CSAT."""
    dialect = conn.dialect.name
    s = scope(filters, options.at)
    first = _seconds(E.c.first_response_at, E.c.created_at, dialect)
    handle = _seconds(E.c.resolved_at, func.coalesce(E.c.claimed_at, E.c.first_response_at),
                      dialect)
    key = E.c.reason if by_reason else literal_column(f"'{_ALL}'")
    from_ = s.from_.join(E, E.c.conversation_id == C.c.id)
    if dialect == "postgresql":
        query = (
            select(key.label("key"), func.count().label("escalations"),
                   func.count(first).label("responded"),
                   func.percentile_cont(0.5).within_group(first).label("first_median"),
                   func.avg(first).label("first_mean"), func.count(handle).label("handled"),
                   func.percentile_cont(0.5).within_group(handle).label("handle_median"),
                   func.avg(handle).label("handle_mean"),
                   count_when(E.c.resolved_at.is_not(None)).label("resolved"),
                   func.avg(C.c.csat_rating).label("csat"))
            .select_from(from_).where(*s.where)
        )
        if by_reason:
            query = query.group_by(E.c.reason)
        return {row.key: _stats(row.escalations, row.responded, row.first_median,
                                row.first_mean, row.handled, row.handle_median, row.handle_mean,
                                row.resolved, row.csat)
                for row in conn.execute(query) if row.escalations}
    # SQLite has no percentile aggregate: fetch the durations (seconds only) and summarise.
    rows = conn.execute(select(key.label("key"), first.label("first"), handle.label("handle"),
                               E.c.resolved_at.is_not(None).label("resolved"),
                               C.c.csat_rating).select_from(from_).where(*s.where)).all()
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.key, []).append(row)
    out = {}
    for name, items in grouped.items():
        firsts = [r.first for r in items if r.first is not None]
        handles = [r.handle for r in items if r.handle is not None]
        ratings = [r.csat_rating for r in items if r.csat_rating is not None]
        out[name] = _stats(len(items), len(firsts),
                           statistics.median(firsts) if firsts else None,
                           statistics.fmean(firsts) if firsts else None, len(handles),
                           statistics.median(handles) if handles else None,
                           statistics.fmean(handles) if handles else None,
                           sum(bool(r.resolved) for r in items),
                           statistics.fmean(ratings) if ratings else None)
    return out


def _stats(escalations, responded, first_median, first_mean, handled, handle_median,
           handle_mean, resolved, csat) -> dict[str, Any]:
    def secs(value: Any) -> float | None:
        return None if value is None else round(float(value), 3)

    return {"escalations": int(escalations), "responded": int(responded or 0),
            "first_response_median": secs(first_median), "first_response_mean": secs(first_mean),
            "handled": int(handled or 0), "handle_median": secs(handle_median),
            "handle_mean": secs(handle_mean), "resolved": int(resolved or 0),
            "csat_average": None if csat is None else round(float(csat), 2)}


def overall(conn: Connection, filters: ReportFilters, options: ReportOptions) -> dict[str, Any]:
    """The stats over every filtered hand-off (zeros and Nones when there are none)."""
    stats = escalation_stats(conn, filters, options).get(_ALL)
    return stats or _stats(0, 0, None, None, 0, None, None, 0, None)
