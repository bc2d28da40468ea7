"""The analyst's reports: sentiment, the customer-service metrics, intents and their words.

Each report is a function ``(conn, filters, options) -> Report`` listed in :data:`REPORTS`;
:func:`run_report` runs one by name. Definitions of the metrics are in docs/metrics.md.
Queries are SQLAlchemy Core over the rollup tables (analytics/store/rollups.py) and run unchanged on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, literal_column, select

from analytics.reports.agent_times import escalation_stats, overall
from analytics.reports.intents import conversations, intents, voices, worst_intents
from analytics.reports.scope import (
    SEG,
    C,
    F,
    ReportError,
    ReportFilters,
    count_when,
    ended_more_negative,
    outcome_expr,
    ratio,
    scope,
    segment_expr,
)
from analytics.reports.types import PERIODS, Column, Report, ReportOptions

__all__ = ["PERIODS", "REPORTS", "ReportError", "ReportFilters", "ReportOptions", "ReportSpec",
           "run_report"]


# -- shared aggregates ------------------------------------------------------------------------



def _conversation_aggregates(now: datetime) -> list[Any]:
    outcome = outcome_expr(now)
    return [
        func.count().label("conversations"),
        func.sum(F.c.user_messages).label("messages"),
        func.sum(F.c.sentiment_sum).label("sentiment_sum"),
        func.sum(F.c.sentiment_n).label("sentiment_n"),
        func.sum(F.c.negative_messages).label("negative"),
        func.sum(F.c.fallback_messages).label("fallbacks"),
        count_when(ended_more_negative()).label("ended_worse"),
        count_when(F.c.sentiment_n >= 2).label("multi_turn"),
        count_when(outcome == "contained").label("contained"),
        count_when(outcome == "escalated").label("escalated"),
        count_when(outcome == "abandoned").label("abandoned"),
        count_when(outcome == "in_progress").label("in_progress"),
        func.count(C.c.csat_rating).label("rated"),
        func.sum(C.c.csat_rating).label("csat_sum"),
        count_when(C.c.csat_rating >= 4).label("satisfied"),
    ]


def _conversation_metrics(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "conversations": int(m["conversations"] or 0),
        "messages": int(m["messages"] or 0),
        "avg_sentiment": ratio(m["sentiment_sum"], m["sentiment_n"]),
        "negative_share": ratio(m["negative"], m["messages"]),
        "ended_more_negative": ratio(m["ended_worse"], m["multi_turn"]),
        "containment_rate": ratio(m["contained"], m["conversations"]),
        "escalation_rate": ratio(m["escalated"], m["conversations"]),
        "csat_average": ratio(m["csat_sum"], m["rated"], 2),
        "csat_score": ratio(m["satisfied"], m["rated"]),
        "rated": int(m["rated"] or 0),
    }


METRIC_COLUMNS = [
    Column("conversations", "Conversations", "int"),
    Column("messages", "Customer messages", "int"),
    Column("avg_sentiment", "Avg sentiment", "float"),
    Column("negative_share", "Negative messages", "rate"),
    Column("ended_more_negative", "Ended more negative", "rate"),
    Column("containment_rate", "Containment", "rate"),
    Column("escalation_rate", "Escalation", "rate"),
    Column("csat_average", "CSAT avg (1-5)", "float"),
    Column("csat_score", "CSAT (4-5 share)", "rate"),
    Column("rated", "Rated", "int"),
]


def _grouped(conn: Connection, filters: ReportFilters, options: ReportOptions, key: Any,
             *, customers: bool = False, model_segments: bool = False) -> list[dict[str, Any]]:
    s = scope(filters, options.at, customers=customers, model_segments=model_segments)
    query = (select(key.label("key"), *_conversation_aggregates(options.at))
             .select_from(s.from_).where(*s.where).group_by(key).order_by(key))
    return [{"key": row.key, **_conversation_metrics(row)} for row in conn.execute(query)]


# -- reports ----------------------------------------------------------------------------------


def metrics(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """The customer-service metrics over the filtered conversations, each beside its value in
    the previous period of the same length when the filters set a date range."""
    rows = _metric_rows(conn, filters, options)
    notes = ["Definitions: docs/metrics.md"]
    meta: dict[str, Any] = {"previous": None}
    before = previous_period(filters)
    if before is None:
        notes.append("Set both dates to compare with the previous period of the same length.")
    else:
        earlier = {r["metric"]: r for r in _metric_rows(conn, before, options)}
        for row in rows:
            old = earlier[row["metric"]]
            row["previous"], row["previous_n"] = old["value"], old["n"]
            row["change"] = (None if row["value"] is None or old["value"] is None
                             else round(row["value"] - old["value"], 4))
        meta["previous"] = {"from": before.date_from, "to": before.date_to}
    return Report("metrics", "Customer-service metrics",
                  [Column("metric", "Metric"), Column("label", "Metric"),
                   Column("value", "Value", "float"), Column("kind", "Kind"),
                   Column("n", "Out of", "int"), Column("previous", "Previous period", "float"),
                   Column("previous_n", "Previous out of", "int"),
                   Column("change", "Change", "float")],
                  rows, filters, notes=notes, meta=meta)


def previous_period(filters: ReportFilters) -> ReportFilters | None:
    """The same filters over the days just before their date range (None: no full range)."""
    if filters.date_from is None or filters.date_to is None:
        return None
    days = (filters.date_to - filters.date_from).days + 1
    return replace(filters, date_from=filters.date_from - timedelta(days=days),
                   date_to=filters.date_from - timedelta(days=1))


def _metric_rows(conn: Connection, filters: ReportFilters,
                 options: ReportOptions) -> list[dict[str, Any]]:
    s = scope(filters, options.at)
    row = conn.execute(select(*_conversation_aggregates(options.at))
                       .select_from(s.from_).where(*s.where)).one()
    m = row._mapping
    base = _conversation_metrics(row)
    finished = (m["contained"] or 0) + (m["escalated"] or 0) + (m["abandoned"] or 0)
    times = overall(conn, filters, options)
    rows = [
        _metric("conversations", "Conversations", base["conversations"], "int", None),
        _metric("containment_rate", "Containment rate", base["containment_rate"], "rate",
                base["conversations"]),
        _metric("escalation_rate", "Escalation rate", base["escalation_rate"], "rate",
                base["conversations"]),
        _metric("abandonment_rate", "Abandonment rate",
                ratio(m["abandoned"], m["conversations"]), "rate", base["conversations"]),
        _metric("in_progress", "Still in progress", ratio(m["in_progress"], m["conversations"]),
                "rate", base["conversations"]),
        _metric("fallback_rate", "Fallback rate", ratio(m["fallbacks"], m["messages"]), "rate",
                base["messages"]),
        _metric("csat_score", "CSAT (share rating 4-5)", base["csat_score"], "rate",
                base["rated"]),
        _metric("csat_average", "Average rating (1-5)", base["csat_average"], "float",
                base["rated"]),
        _metric("csat_response_rate", "CSAT response rate", ratio(m["rated"], finished), "rate",
                finished),
        _metric("avg_sentiment", "Average customer sentiment (-1..1)", base["avg_sentiment"],
                "float", int(m["sentiment_n"] or 0)),
        _metric("negative_share", "Negative customer messages", base["negative_share"], "rate",
                base["messages"]),
        _metric("ended_more_negative", "Conversations ending more negative",
                base["ended_more_negative"], "rate", int(m["multi_turn"] or 0)),
        _metric("first_response_median", "Agent first response time (median)",
                times["first_response_median"], "seconds", times["responded"]),
        _metric("first_response_mean", "Agent first response time (mean)",
                times["first_response_mean"], "seconds", times["responded"]),
        _metric("handle_time_median", "Agent handle time (median)", times["handle_median"],
                "seconds", times["handled"]),
        _metric("handle_time_mean", "Agent handle time (mean)", times["handle_mean"], "seconds",
                times["handled"]),
    ]
    return rows


def _metric(name: str, label: str, value: Any, kind: str, n: int | None) -> dict[str, Any]:
    return {"metric": name, "label": label, "value": value, "kind": kind, "n": n}


def outcomes(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    rows = _grouped(conn, filters, options, outcome_expr(options.at))
    total = sum(r["conversations"] for r in rows)
    out = [{"outcome": r["key"], "share": ratio(r["conversations"], total), **r} for r in rows]
    for r in out:
        del r["key"]
    return Report("outcomes", "How conversations end",
                  [Column("outcome", "Outcome"), Column("share", "Share", "rate"),
                   *METRIC_COLUMNS], out, filters)


def sentiment_over_time(conn: Connection, filters: ReportFilters,
                        options: ReportOptions) -> Report:
    key = _period_start(C.c.started_at, options.period, conn.dialect.name)
    rows = [{"period": _as_date(r.pop("key")), **r}
            for r in _grouped(conn, filters, options, key)]
    return Report("sentiment-over-time", f"Sentiment by {options.period}",
                  [Column("period", f"{options.period.title()} starting", "date"),
                   *METRIC_COLUMNS], rows, filters, meta={"period": options.period})


def sentiment_by_channel(conn: Connection, filters: ReportFilters,
                         options: ReportOptions) -> Report:
    rows = [{"channel": r.pop("key"), **r} for r in _grouped(conn, filters, options, C.c.channel)]
    return Report("sentiment-by-channel", "Sentiment by channel",
                  [Column("channel", "Channel"), *METRIC_COLUMNS], rows, filters)


def sentiment_by_segment(conn: Connection, filters: ReportFilters,
                         options: ReportOptions) -> Report:
    rows = [{"segment": r.pop("key"), **r}
            for r in _grouped(conn, filters, options, segment_expr(), customers=True)]
    return Report("sentiment-by-segment", "Sentiment by customer segment",
                  [Column("segment", "Segment"), *METRIC_COLUMNS], rows, filters,
                  notes=["Segments are the shop's own (customers.segment); visitors who did "
                         "not sign in are 'anonymous'."])


def customer_segments(conn: Connection, filters: ReportFilters,
                      options: ReportOptions) -> Report:
    rows = [{"segment": r.pop("key"), **r}
            for r in _grouped(conn, filters, options, SEG.c.segment, model_segments=True)]
    return Report("customer-segments", "Segments found by the segmentation model",
                  [Column("segment", "Segment"), *METRIC_COLUMNS], rows, filters,
                  notes=["Run `carebot analytics retrain` to refit the segments."])


def escalations(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """Hand-offs to people by reason, with agent first response and handle times."""
    stats = escalation_stats(conn, filters, options, by_reason=True)
    total = sum(s["escalations"] for s in stats.values())
    rows = [{"reason": reason, "escalations": s["escalations"],
             "share": ratio(s["escalations"], total), "answered": s["responded"],
             "first_response_median": s["first_response_median"],
             "handle_time_median": s["handle_median"], "resolved": s["resolved"],
             "csat_average": s["csat_average"]} for reason, s in sorted(stats.items())]
    return Report("escalations", "Hand-offs to agents",
                  [Column("reason", "Reason"), Column("escalations", "Escalations", "int"),
                   Column("share", "Share", "rate"), Column("answered", "Answered", "int"),
                   Column("first_response_median", "First response (median)", "seconds"),
                   Column("handle_time_median", "Handle time (median)", "seconds"),
                   Column("resolved", "Resolved", "int"),
                   Column("csat_average", "CSAT avg (1-5)", "float")],
                  rows, filters)


# -- helpers ----------------------------------------------------------------------------------


def _period_start(column: Any, period: str, dialect: str) -> Any:
    # Constant SQL fragments chosen from a fixed set, never from user input; literal rather
    # than bound so GROUP BY repeats exactly the expression the SELECT list has.
    if dialect == "postgresql":
        return func.date_trunc(literal_column(f"'{period}'"), column)
    if period == "week":  # Monday on or before the day, like PostgreSQL's date_trunc('week')
        return func.date(column, literal_column("'-6 days'"), literal_column("'weekday 1'"))
    return func.date(column)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    run: Callable[[Connection, ReportFilters, ReportOptions], Report]
    # False: the report judges the whole shop / database, whatever the dashboard's filters
    filtered: bool = True


def _model_report(module: str, function: str) -> Callable[..., Report]:
    def run(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
        import importlib

        return getattr(importlib.import_module(module), function)(conn, filters, options)

    return run


REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec("metrics", "Customer-service metrics", metrics),
        ReportSpec("outcomes", "How conversations end", outcomes),
        ReportSpec("sentiment-over-time", "Sentiment by day or week", sentiment_over_time),
        ReportSpec("sentiment-by-channel", "Sentiment by channel", sentiment_by_channel),
        ReportSpec("sentiment-by-segment", "Sentiment by customer segment",
                   sentiment_by_segment),
        ReportSpec("intents", "Intent distribution", intents),
        ReportSpec("fix-first", "What to fix first (lost satisfaction by intent)",
                   _model_report("analytics.reports.fix_first", "fix_first")),
        ReportSpec("worst-intents", "Intents with the worst CSAT and sentiment", worst_intents),
        ReportSpec("voices", "Customers' own words", voices),
        ReportSpec("escalations", "Hand-offs to agents", escalations),
        ReportSpec("conversations", "Recent conversations with (predicted) CSAT",
                   conversations),
        ReportSpec("customer-segments", "Model segments with sentiment and CSAT",
                   customer_segments),
        ReportSpec("segment-profiles", "Segment profiles (segmentation model)",
                   _model_report("analytics.insights.segments", "profiles_report")),
        ReportSpec("satisfaction-drivers", "What drives CSAT (satisfaction model)",
                   _model_report("analytics.insights.satisfaction", "drivers_report")),
        ReportSpec("journey", "Customer journey stages",
                   _model_report("analytics.insights.journey", "journey_report")),
        ReportSpec("risk", "Customer risk (anomaly model)",
                   _model_report("analytics.insights.risk", "risk_report"), filtered=False),
        ReportSpec("data-quality", "Data quality checks",
                   _model_report("analytics.quality.report", "quality_report"), filtered=False),
    )
}


def run_report(source: Engine | Connection, name: str, filters: ReportFilters | None = None,
               options: ReportOptions | None = None) -> Report:
    """Run the report called ``name`` (see :data:`REPORTS`)."""
    spec = REPORTS.get(name)
    if spec is None:
        raise ReportError(f"There is no report called {name!r}; choose one of: "
                          f"{', '.join(REPORTS)}.")
    filters = filters or ReportFilters()
    options = options or ReportOptions()
    if isinstance(source, Connection):
        return spec.run(source, filters, options)
    with source.connect() as conn:
        return spec.run(conn, filters, options)
