"""The analyst's reports: sentiment, the customer-service metrics, intents and their words.

Each report is a function ``(conn, filters, options) -> Report`` listed in :data:`REPORTS`;
:func:`run_report` runs one by name. Definitions of the metrics are in docs/metrics.md.
Queries are SQLAlchemy Core over the rollup tables (analytics/facts.py) and run unchanged on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, case, func, literal_column, select

from analytics.models import Escalation, Message
from analytics.records import utcnow
from analytics.report_scope import (
    IF,
    SEG,
    C,
    F,
    ReportError,
    ReportFilters,
    ended_more_negative,
    outcome_expr,
    scope,
    segment_expr,
)
from analytics.report_types import Column, Report

E = Escalation.__table__
M = Message.__table__
PERIODS = ("day", "week")
MAX_LIMIT = 1000


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """Per-report knobs that are not filters."""

    period: str = "day"  # sentiment-over-time: day | week
    limit: int = 50  # rows of the list reports (voices, conversations)
    min_conversations: int = 5  # worst-intents: ignore intents rarer than this
    now: datetime | None = None  # the moment "in progress" is judged at; default: now
    models_dir: Path | None = None  # fitted analytics models; default: $CAREBOT_MODELS_DIR

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ReportError(f"Unknown period {self.period!r}; use day or week.")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ReportError(f"'limit' must be between 1 and {MAX_LIMIT}.")
        if self.min_conversations < 1:
            raise ReportError("'min_conversations' must be at least 1.")

    @property
    def at(self) -> datetime:
        return self.now or utcnow()


# -- shared aggregates ------------------------------------------------------------------------


def _count_when(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _conversation_aggregates(now: datetime) -> list[Any]:
    outcome = outcome_expr(now)
    return [
        func.count().label("conversations"),
        func.sum(F.c.user_messages).label("messages"),
        func.sum(F.c.sentiment_sum).label("sentiment_sum"),
        func.sum(F.c.sentiment_n).label("sentiment_n"),
        func.sum(F.c.negative_messages).label("negative"),
        func.sum(F.c.fallback_messages).label("fallbacks"),
        _count_when(ended_more_negative()).label("ended_worse"),
        _count_when(F.c.sentiment_n >= 2).label("multi_turn"),
        _count_when(outcome == "contained").label("contained"),
        _count_when(outcome == "escalated").label("escalated"),
        _count_when(outcome == "abandoned").label("abandoned"),
        _count_when(outcome == "in_progress").label("in_progress"),
        func.count(C.c.csat_rating).label("rated"),
        func.sum(C.c.csat_rating).label("csat_sum"),
        _count_when(C.c.csat_rating >= 4).label("satisfied"),
    ]


def _ratio(part: Any, whole: Any, digits: int = 4) -> float | None:
    if not whole:
        return None
    return round(float(part or 0) / float(whole), digits)


def _conversation_metrics(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "conversations": int(m["conversations"] or 0),
        "messages": int(m["messages"] or 0),
        "avg_sentiment": _ratio(m["sentiment_sum"], m["sentiment_n"]),
        "negative_share": _ratio(m["negative"], m["messages"]),
        "ended_more_negative": _ratio(m["ended_worse"], m["multi_turn"]),
        "containment_rate": _ratio(m["contained"], m["conversations"]),
        "escalation_rate": _ratio(m["escalated"], m["conversations"]),
        "csat_average": _ratio(m["csat_sum"], m["rated"], 2),
        "csat_score": _ratio(m["satisfied"], m["rated"]),
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
    """The customer-service metrics over the filtered conversations."""
    s = scope(filters, options.at)
    row = conn.execute(select(*_conversation_aggregates(options.at))
                       .select_from(s.from_).where(*s.where)).one()
    m = row._mapping
    base = _conversation_metrics(row)
    finished = (m["contained"] or 0) + (m["escalated"] or 0) + (m["abandoned"] or 0)
    times = _agent_times(conn, filters, options)
    rows = [
        _metric("conversations", "Conversations", base["conversations"], "int", None),
        _metric("containment_rate", "Containment rate", base["containment_rate"], "rate",
                base["conversations"]),
        _metric("escalation_rate", "Escalation rate", base["escalation_rate"], "rate",
                base["conversations"]),
        _metric("abandonment_rate", "Abandonment rate",
                _ratio(m["abandoned"], m["conversations"]), "rate", base["conversations"]),
        _metric("in_progress", "Still in progress", _ratio(m["in_progress"], m["conversations"]),
                "rate", base["conversations"]),
        _metric("fallback_rate", "Fallback rate", _ratio(m["fallbacks"], m["messages"]), "rate",
                base["messages"]),
        _metric("csat_score", "CSAT (share rating 4-5)", base["csat_score"], "rate",
                base["rated"]),
        _metric("csat_average", "Average rating (1-5)", base["csat_average"], "float",
                base["rated"]),
        _metric("csat_response_rate", "CSAT response rate", _ratio(m["rated"], finished), "rate",
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
    return Report("metrics", "Customer-service metrics",
                  [Column("metric", "Metric"), Column("label", "Metric"),
                   Column("value", "Value", "float"), Column("kind", "Kind"),
                   Column("n", "Out of", "int")],
                  rows, filters, notes=["Definitions: docs/metrics.md"])


def _metric(name: str, label: str, value: Any, kind: str, n: int | None) -> dict[str, Any]:
    return {"metric": name, "label": label, "value": value, "kind": kind, "n": n}


def _agent_times(conn: Connection, filters: ReportFilters,
                 options: ReportOptions) -> dict[str, Any]:
    s = scope(filters, options.at)
    rows = conn.execute(
        select(E.c.created_at, E.c.claimed_at, E.c.first_response_at, E.c.resolved_at)
        .select_from(s.from_.join(E, E.c.conversation_id == C.c.id)).where(*s.where)
    ).all()
    first = [(r.first_response_at - r.created_at).total_seconds()
             for r in rows if r.first_response_at is not None]
    handle = [(r.resolved_at - (r.claimed_at or r.first_response_at)).total_seconds()
              for r in rows if r.resolved_at is not None
              and (r.claimed_at or r.first_response_at) is not None]
    return {
        "escalations": len(rows),
        "responded": len(first),
        "handled": len(handle),
        "first_response_median": statistics.median(first) if first else None,
        "first_response_mean": statistics.fmean(first) if first else None,
        "handle_median": statistics.median(handle) if handle else None,
        "handle_mean": statistics.fmean(handle) if handle else None,
    }


def outcomes(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    rows = _grouped(conn, filters, options, outcome_expr(options.at))
    total = sum(r["conversations"] for r in rows)
    out = [{"outcome": r["key"], "share": _ratio(r["conversations"], total), **r} for r in rows]
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


INTENT_COLUMNS = [
    Column("intent", "Intent"),
    Column("messages", "Customer messages", "int"),
    Column("message_share", "Share of messages", "rate"),
    Column("conversations", "Conversations", "int"),
    Column("avg_sentiment", "Avg sentiment", "float"),
    Column("negative_share", "Negative messages", "rate"),
    Column("escalation_rate", "Escalation", "rate"),
    Column("csat_average", "CSAT avg (1-5)", "float"),
    Column("csat_score", "CSAT (4-5 share)", "rate"),
    Column("rated", "Rated", "int"),
]


def _intent_rows(conn: Connection, filters: ReportFilters,
                 options: ReportOptions) -> list[dict[str, Any]]:
    s = scope(filters, options.at)
    query = (
        select(
            IF.c.intent,
            func.sum(IF.c.messages).label("messages"),
            func.count().label("conversations"),
            func.sum(IF.c.sentiment_sum).label("sentiment_sum"),
            func.sum(IF.c.sentiment_n).label("sentiment_n"),
            func.sum(IF.c.negative_messages).label("negative"),
            _count_when(C.c.escalated).label("escalated"),
            func.count(C.c.csat_rating).label("rated"),
            func.sum(C.c.csat_rating).label("csat_sum"),
            _count_when(C.c.csat_rating >= 4).label("satisfied"),
        )
        .select_from(s.from_.join(IF, IF.c.conversation_id == C.c.id))
        .where(*s.where)
        .group_by(IF.c.intent)
    )
    rows = conn.execute(query).all()
    total = sum(int(r.messages or 0) for r in rows)
    out = [
        {
            "intent": r.intent,
            "messages": int(r.messages or 0),
            "message_share": _ratio(r.messages, total),
            "conversations": int(r.conversations),
            "avg_sentiment": _ratio(r.sentiment_sum, r.sentiment_n),
            "negative_share": _ratio(r.negative, r.messages),
            "escalation_rate": _ratio(r.escalated, r.conversations),
            "csat_average": _ratio(r.csat_sum, r.rated, 2),
            "csat_score": _ratio(r.satisfied, r.rated),
            "rated": int(r.rated or 0),
        }
        for r in rows
    ]
    out.sort(key=lambda r: (-r["messages"], r["intent"]))
    return out


def intents(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    return Report("intents", "What customers ask about", INTENT_COLUMNS,
                  _intent_rows(conn, filters, options), filters,
                  notes=["A conversation counts for every intent the customer expressed in it."])


def worst_intents(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """Intents ranked worst first (lowest CSAT, then lowest sentiment), with a quote each."""
    rows = [r for r in _intent_rows(conn, filters, options)
            if r["conversations"] >= options.min_conversations and r["intent"] != "nlu_fallback"]

    def badness(r: dict[str, Any]) -> tuple:
        csat = r["csat_average"] if r["csat_average"] is not None else 6.0
        sentiment = r["avg_sentiment"] if r["avg_sentiment"] is not None else 2.0
        return (csat, sentiment, r["intent"])

    rows.sort(key=badness)
    rows = rows[: options.limit]
    for r in rows:
        quotes = _quotes(conn, filters, options, r["intent"], limit=1)
        r["example"] = quotes[0]["text"] if quotes else None
    return Report("worst-intents", "Where customers are least satisfied",
                  [*INTENT_COLUMNS, Column("example", "In their words")], rows, filters,
                  meta={"min_conversations": options.min_conversations},
                  notes=["Ranked by average CSAT, then average sentiment; the example is the "
                         "most negative customer message (redacted)."])


def _quotes(conn: Connection, filters: ReportFilters, options: ReportOptions,
            intent: str | None, limit: int) -> list[dict[str, Any]]:
    s = scope(filters, options.at)
    query = (
        select(M.c.conversation_id, M.c.created_at, M.c.intent, M.c.sentiment_label,
               M.c.sentiment_score, M.c.text)
        .select_from(s.from_.join(M, M.c.conversation_id == C.c.id))
        .where(*s.where, M.c.sender == "user", M.c.sentiment_score.is_not(None))
        .order_by(M.c.sentiment_score, M.c.created_at.desc(), M.c.id)
        .limit(limit)
    )
    if intent is not None:
        query = query.where(M.c.intent == intent)
    return [dict(r._mapping) for r in conn.execute(query)]


def voices(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """The customers' own (redacted) words, most negative first."""
    rows = _quotes(conn, filters, options, filters.intent, options.limit)
    return Report("voices", "In the customers' words" + (f": {filters.intent}"
                                                          if filters.intent else ""),
                  [Column("conversation_id", "Conversation"),
                   Column("created_at", "When", "datetime"), Column("intent", "Intent"),
                   Column("sentiment_label", "Sentiment"),
                   Column("sentiment_score", "Polarity", "float"),
                   Column("text", "Message (redacted)")],
                  rows, filters,
                  notes=["Customer messages are stored with personal data already redacted."])


def escalations(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """Hand-offs to people by reason, with agent first response and handle times."""
    s = scope(filters, options.at)
    rows = conn.execute(
        select(E.c.reason, E.c.created_at, E.c.claimed_at, E.c.first_response_at,
               E.c.resolved_at, C.c.csat_rating)
        .select_from(s.from_.join(E, E.c.conversation_id == C.c.id)).where(*s.where)
    ).all()
    by_reason: dict[str, list[Any]] = {}
    for r in rows:
        by_reason.setdefault(r.reason, []).append(r)
    out = []
    for reason, items in sorted(by_reason.items()):
        first = [(r.first_response_at - r.created_at).total_seconds()
                 for r in items if r.first_response_at is not None]
        handle = [(r.resolved_at - (r.claimed_at or r.first_response_at)).total_seconds()
                  for r in items if r.resolved_at is not None
                  and (r.claimed_at or r.first_response_at) is not None]
        ratings = [r.csat_rating for r in items if r.csat_rating is not None]
        out.append({
            "reason": reason,
            "escalations": len(items),
            "share": _ratio(len(items), len(rows)),
            "answered": len(first),
            "first_response_median": statistics.median(first) if first else None,
            "handle_time_median": statistics.median(handle) if handle else None,
            "resolved": sum(r.resolved_at is not None for r in items),
            "csat_average": round(statistics.fmean(ratings), 2) if ratings else None,
        })
    return Report("escalations", "Hand-offs to agents",
                  [Column("reason", "Reason"), Column("escalations", "Escalations", "int"),
                   Column("share", "Share", "rate"), Column("answered", "Answered", "int"),
                   Column("first_response_median", "First response (median)", "seconds"),
                   Column("handle_time_median", "Handle time (median)", "seconds"),
                   Column("resolved", "Resolved", "int"),
                   Column("csat_average", "CSAT avg (1-5)", "float")],
                  out, filters)


def conversations(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """The most recent conversations with their rating, or the predicted one when unrated."""
    from analytics.models import CsatPrediction

    P = CsatPrediction.__table__
    s = scope(filters, options.at)
    query = (
        select(C.c.id, C.c.started_at, C.c.channel, F.c.primary_intent,
               outcome_expr(options.at).label("outcome"), F.c.user_messages,
               F.c.sentiment_first, F.c.sentiment_last, C.c.csat_rating, P.c.predicted_csat)
        .select_from(s.from_.outerjoin(P, P.c.conversation_id == C.c.id))
        .where(*s.where)
        .order_by(C.c.started_at.desc(), C.c.id)
        .limit(options.limit)
    )
    rows = []
    for r in conn.execute(query):
        row = dict(r._mapping)
        predicted = row.pop("predicted_csat")
        rating = row.pop("csat_rating")
        row["conversation_id"] = row.pop("id")
        row["csat"] = rating if rating is not None else (
            round(predicted, 2) if predicted is not None else None)
        row["csat_predicted"] = rating is None and predicted is not None
        rows.append(row)
    return Report("conversations", "Recent conversations",
                  [Column("conversation_id", "Conversation"),
                   Column("started_at", "Started", "datetime"), Column("channel", "Channel"),
                   Column("primary_intent", "Intent"), Column("outcome", "Outcome"),
                   Column("user_messages", "Customer messages", "int"),
                   Column("sentiment_first", "Sentiment first", "float"),
                   Column("sentiment_last", "Sentiment last", "float"),
                   Column("csat", "CSAT", "float"), Column("csat_predicted", "Predicted", "bool")],
                  rows, filters,
                  notes=["CSAT marked predicted comes from the satisfaction model, "
                         "not from the customer."])


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
        ReportSpec("worst-intents", "Intents with the worst CSAT and sentiment", worst_intents),
        ReportSpec("voices", "Customers' own words", voices),
        ReportSpec("escalations", "Hand-offs to agents", escalations),
        ReportSpec("conversations", "Recent conversations with (predicted) CSAT",
                   conversations),
        ReportSpec("customer-segments", "Model segments with sentiment and CSAT",
                   customer_segments),
        ReportSpec("segment-profiles", "Segment profiles (segmentation model)",
                   _model_report("analytics.segments", "profiles_report")),
        ReportSpec("satisfaction-drivers", "What drives CSAT (satisfaction model)",
                   _model_report("analytics.satisfaction", "drivers_report")),
        ReportSpec("journey", "Customer journey stages",
                   _model_report("analytics.journey", "journey_report")),
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
