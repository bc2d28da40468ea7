"""One conversation as an analyst may read it: the logged (redacted) messages with their intent,
confidence and sentiment, and how the conversation ended. The raw text kept for the privacy
window (messages.raw_text) is never read here; neither are the customer's name or email."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from analytics.reports.scope import CU, C, F, outcome_expr
from analytics.reports.types import jsonable
from analytics.store.schema import CsatPrediction, Escalation, Message

M = Message.__table__
E = Escalation.__table__
P = CsatPrediction.__table__
MAX_MESSAGES = 500


class TranscriptNotFound(LookupError):
    """No conversation with that id."""


def transcript(conn: Connection, conversation_id: str, now: datetime) -> dict[str, Any]:
    """The conversation's summary and its first MAX_MESSAGES messages, oldest first."""
    head = conn.execute(
        select(C.c.id, C.c.channel, C.c.started_at, C.c.last_active_at, C.c.ended_at,
               C.c.escalated, C.c.csat_rating, CU.c.segment,
               F.c.primary_intent, F.c.user_messages, F.c.fallback_messages,
               outcome_expr(now).label("outcome"), P.c.predicted_csat)
        .select_from(C.outerjoin(F, F.c.conversation_id == C.c.id)
                     .outerjoin(CU, CU.c.id == C.c.customer_id)
                     .outerjoin(P, P.c.conversation_id == C.c.id))
        .where(C.c.id == conversation_id)).first()
    if head is None:
        raise TranscriptNotFound(f"There is no conversation {conversation_id!r}.")
    summary = dict(head._mapping)
    summary["conversation_id"] = summary.pop("id")
    if summary["user_messages"] is None:  # facts not built yet: outcome cannot be judged
        summary["outcome"] = None
    messages = [dict(r._mapping) for r in conn.execute(
        select(M.c.id, M.c.sender, M.c.created_at, M.c.text, M.c.intent, M.c.confidence,
               M.c.sentiment_label, M.c.sentiment_score)
        .where(M.c.conversation_id == conversation_id)
        .order_by(M.c.created_at, M.c.id).limit(MAX_MESSAGES + 1))]
    escalations = [dict(r._mapping) for r in conn.execute(
        select(E.c.reason, E.c.status, E.c.created_at, E.c.first_response_at, E.c.resolved_at)
        .where(E.c.conversation_id == conversation_id).order_by(E.c.created_at))]
    return jsonable({"conversation": summary, "messages": messages[:MAX_MESSAGES],
                     "truncated": len(messages) > MAX_MESSAGES, "escalations": escalations})
