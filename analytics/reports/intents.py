"""Reports about what customers ask for: intent distribution, the worst intents with the
customers' own words, and recent conversations with their (predicted) CSAT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, literal_column, select

from analytics.reports.scope import (
    IF,
    C,
    F,
    ReportFilters,
    count_when,
    outcome_expr,
    ratio,
    scope,
)
from analytics.reports.types import Column, Report, ReportOptions
from analytics.store.rollups import SMALL_TALK
from analytics.store.schema import CsatPrediction, Message

M = Message.__table__
P = CsatPrediction.__table__
# A constant, not a parameter, so the planner can use the partial indexes on customer messages.
CUSTOMER = literal_column("'user'")


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
            count_when(C.c.escalated).label("escalated"),
            func.count(C.c.csat_rating).label("rated"),
            func.sum(C.c.csat_rating).label("csat_sum"),
            count_when(C.c.csat_rating >= 4).label("satisfied"),
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
            "message_share": ratio(r.messages, total),
            "conversations": int(r.conversations),
            "avg_sentiment": ratio(r.sentiment_sum, r.sentiment_n),
            "negative_share": ratio(r.negative, r.messages),
            "escalation_rate": ratio(r.escalated, r.conversations),
            "csat_average": ratio(r.csat_sum, r.rated, 2),
            "csat_score": ratio(r.satisfied, r.rated),
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
    """Intents ranked by the sentiment they lose, with a quote each.

    Lost sentiment = conversations × how far the intent's average sentiment falls below the
    average over all intents: a common, unhappy intent comes before a rare one whose low CSAT
    rests on a handful of ratings (the ratings count is beside every average).
    """
    every = _intent_rows(conn, filters, options)
    total_n = sum(r["conversations"] for r in every if r["avg_sentiment"] is not None)
    overall = (sum(r["avg_sentiment"] * r["conversations"] for r in every
                   if r["avg_sentiment"] is not None) / total_n) if total_n else 0.0
    rows = [r for r in every
            if r["conversations"] >= options.min_conversations and r["intent"] not in SMALL_TALK]
    for r in rows:
        gap = overall - r["avg_sentiment"] if r["avg_sentiment"] is not None else 0.0
        r["lost_sentiment"] = round(r["conversations"] * max(gap, 0.0), 3)

    def badness(r: dict[str, Any]) -> tuple:
        csat = r["csat_average"] if r["csat_average"] is not None else 6.0
        return (-r["lost_sentiment"], csat, r["intent"])

    rows.sort(key=badness)
    rows = rows[: options.limit]
    for r in rows:
        quotes = _quotes(conn, filters, options, r["intent"], limit=1)
        r["example"] = quotes[0]["text"] if quotes else None
        r["example_conversation_id"] = quotes[0]["conversation_id"] if quotes else None
    return Report("worst-intents", "Where customers are least satisfied",
                  [*INTENT_COLUMNS, Column("lost_sentiment", "Lost sentiment", "float"),
                   Column("example", "In their words"),
                   Column("example_conversation_id", "Example conversation")], rows, filters,
                  meta={"min_conversations": options.min_conversations,
                        "overall_sentiment": round(overall, 4)},
                  notes=["Ranked by lost sentiment: conversations × how far the intent's "
                         "average sentiment is below the average of all intents. The example "
                         "is the most negative customer message (redacted)."])


def _quotes(conn: Connection, filters: ReportFilters, options: ReportOptions,
            intent: str | None, limit: int) -> list[dict[str, Any]]:
    s = scope(filters, options.at)
    query = (
        select(M.c.conversation_id, M.c.created_at, M.c.intent, M.c.sentiment_label,
               M.c.sentiment_score, M.c.text)
        .select_from(s.from_.join(M, M.c.conversation_id == C.c.id))
        .where(*s.where, M.c.sender == CUSTOMER, M.c.sentiment_score.is_not(None))
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


def conversations(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """The most recent conversations with their rating, or the predicted one when unrated."""
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
