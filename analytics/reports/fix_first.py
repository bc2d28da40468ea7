"""What to fix first: the intents that lose the most satisfaction, each with example
conversations to read.

Lost satisfaction = the intent's conversations × how far its average falls below the average
of all conversations in the window. The average is CSAT (stars) when the window holds enough
ratings to compare intents on, otherwise customer sentiment (-1..1), which every conversation
has; the report says which one it ranked by.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from analytics.reports.intents import CUSTOMER, M, _intent_rows
from analytics.reports.scope import IF, C, F, ReportFilters, ratio, scope
from analytics.reports.types import Column, Report, ReportOptions
from analytics.store.rollups import SMALL_TALK

# Rank by CSAT only when the window holds this many ratings, and an intent's CSAT average
# counts only when it rests on at least MIN_INTENT_RATINGS of them.
MIN_RATINGS_FOR_CSAT = 30
MIN_INTENT_RATINGS = 5
EXAMPLES = 3


def choose_measure(requested: str, rated: int) -> str:
    """CSAT when asked for, or (auto) when the window holds enough ratings; else sentiment."""
    if requested != "auto":
        return requested
    return "csat" if rated >= MIN_RATINGS_FOR_CSAT else "sentiment"


def fix_first(conn: Connection, filters: ReportFilters, options: ReportOptions) -> Report:
    """Intents ranked by lost satisfaction, with up to three example conversations each."""
    every = _intent_rows(conn, filters, options)
    counted = [r for r in every if r["intent"] not in SMALL_TALK or r["intent"] == "nlu_fallback"]
    overall_rated = _overall(conn, filters, options)
    measure = choose_measure(options.measure, overall_rated["rated"])
    if measure == "csat":
        average, n_key = overall_rated["csat_average"], "rated"
        value_key = "csat_average"
    else:
        average, n_key = overall_rated["avg_sentiment"], "conversations"
        value_key = "avg_sentiment"
    rows = []
    for r in counted:
        value = r[value_key]
        if value is None or average is None:
            continue
        if measure == "csat" and r["rated"] < MIN_INTENT_RATINGS:
            continue
        gap = average - value
        if gap <= 0 or r["conversations"] < options.min_conversations:
            continue
        rows.append({
            "intent": r["intent"], "conversations": r["conversations"],
            "measure": measure, "value": value, "value_n": r[n_key], "average": average,
            "gap": round(gap, 4), "lost": round(r["conversations"] * gap, 3),
            "rated": r["rated"], "csat_average": r["csat_average"],
            "avg_sentiment": r["avg_sentiment"], "escalation_rate": r["escalation_rate"],
        })
    rows.sort(key=lambda r: (-r["lost"], r["intent"]))
    rows = rows[: options.limit]
    total_lost = sum(r["lost"] for r in rows)
    for rank, r in enumerate(rows, start=1):
        r["rank"] = rank
        r["share_of_lost"] = round(r["lost"] / total_lost, 4) if total_lost else None
        r["examples"] = _examples(conn, filters, options, r["intent"])
        r["example_ids"] = " ".join(e["conversation_id"] for e in r["examples"])
    unit = "stars of CSAT" if measure == "csat" else "sentiment points"
    notes = [f"Ranked by lost satisfaction: conversations × how far the intent's average "
             f"{'CSAT' if measure == 'csat' else 'sentiment'} is below the average of all "
             f"conversations in these filters ({unit}).",
             "Greetings, thanks and goodbyes are left out; 'not understood' (fallback) stays."]
    if measure == "sentiment" and overall_rated["rated"] < MIN_RATINGS_FOR_CSAT:
        notes.append(f"Ranked by sentiment: only {overall_rated['rated']} ratings in these "
                     f"filters; CSAT ranks from {MIN_RATINGS_FOR_CSAT}.")
    return Report(
        "fix-first", "What to fix first",
        [Column("rank", "#", "int"), Column("intent", "Intent"),
         Column("conversations", "Conversations", "int"),
         Column("measure", "Measure"), Column("value", "Average", "float"),
         Column("value_n", "Average out of", "int"),
         Column("average", "Average of all", "float"), Column("gap", "Gap", "float"),
         Column("lost", "Lost satisfaction", "float"),
         Column("share_of_lost", "Share of what is lost", "rate"),
         Column("rated", "Rated", "int"), Column("escalation_rate", "Escalation", "rate"),
         Column("example_ids", "Example conversations")],
        rows, filters,
        meta={"measure": measure, "average": average, "rated": overall_rated["rated"],
              "conversations": overall_rated["conversations"], "unit": unit},
        notes=notes)


def _overall(conn: Connection, filters: ReportFilters, options: ReportOptions) -> dict[str, Any]:
    s = scope(filters, options.at)
    row = conn.execute(
        select(func.count().label("conversations"), func.count(C.c.csat_rating).label("rated"),
               func.sum(C.c.csat_rating).label("csat_sum"),
               func.sum(F.c.sentiment_sum).label("sentiment_sum"),
               func.sum(F.c.sentiment_n).label("sentiment_n"))
        .select_from(s.from_).where(*s.where)).one()
    return {"conversations": int(row.conversations or 0), "rated": int(row.rated or 0),
            "csat_average": ratio(row.csat_sum, row.rated, 2),
            "avg_sentiment": ratio(row.sentiment_sum, row.sentiment_n)}


def _examples(conn: Connection, filters: ReportFilters, options: ReportOptions,
              intent: str) -> list[dict[str, Any]]:
    """The intent's unhappiest conversations in the window, each with its worst quote."""
    s = scope(filters, options.at)
    avg = IF.c.sentiment_sum / func.nullif(IF.c.sentiment_n, 0)
    ids = list(conn.execute(
        select(C.c.id)
        .select_from(s.from_.join(IF, IF.c.conversation_id == C.c.id))
        .where(*s.where, IF.c.intent == intent)
        .order_by(func.coalesce(C.c.csat_rating, 6), func.coalesce(avg, 0), C.c.id)
        .limit(EXAMPLES)).scalars())
    if not ids:
        return []
    quotes: dict[str, dict[str, Any]] = {}
    for r in conn.execute(
            select(M.c.conversation_id, M.c.text, M.c.sentiment_score)
            .where(M.c.conversation_id.in_(ids), M.c.sender == CUSTOMER, M.c.intent == intent)
            .order_by(M.c.conversation_id, M.c.sentiment_score, M.c.created_at)):
        quotes.setdefault(r.conversation_id, {"text": r.text, "sentiment": r.sentiment_score})
    return [{"conversation_id": cid, "quote": quotes.get(cid, {}).get("text"),
             "sentiment": quotes.get(cid, {}).get("sentiment")} for cid in ids]
