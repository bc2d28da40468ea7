"""Move a finished (simulated) conversation into the past, optionally stretching the time it
waited for an agent and the time the agent worked on it.

`carebot simulate` runs conversations in seconds; spread over past days, with waits of
minutes, they look like a history worth a dashboard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, select, update

from analytics.store.rollups import refresh_facts
from analytics.store.schema import Conversation, Escalation, Event, Message

C = Conversation.__table__
E = Escalation.__table__
M = Message.__table__
EV = Event.__table__
_ZERO = timedelta(0)


def backdate(engine: Engine, conversation_id: str, *, shift: timedelta,
             agent_wait: timedelta = _ZERO, agent_work: timedelta = _ZERO) -> None:
    """Move every timestamp of the conversation ``shift`` earlier; times after the hand-off
    get ``agent_wait`` back, times after the agent's first reply ``agent_work`` more."""
    with engine.begin() as conn:
        escalations = conn.execute(
            select(E.c.id, E.c.created_at, E.c.claimed_at, E.c.first_response_at,
                   E.c.resolved_at).where(E.c.conversation_id == conversation_id)
        ).all()
        handoff = min((e.created_at for e in escalations), default=None)
        first_reply = min((e.first_response_at for e in escalations if e.first_response_at),
                          default=None)

        def moved(t: datetime | None) -> datetime | None:
            if t is None:
                return None
            extra = _ZERO
            if handoff is not None and t > handoff:
                extra += agent_wait
            if first_reply is not None and t > first_reply:
                extra += agent_work
            return t - shift + extra

        for table in (M, EV):
            rows = conn.execute(select(table.c.id, table.c.created_at)
                                .where(table.c.conversation_id == conversation_id)).all()
            if rows:
                conn.execute(
                    update(table).where(table.c.id == bindparam("row_id"))
                    .values(created_at=bindparam("moved_at")),
                    [{"row_id": r.id, "moved_at": moved(r.created_at)} for r in rows],
                )
        for e in escalations:
            conn.execute(update(E).where(E.c.id == e.id).values(
                created_at=moved(e.created_at), claimed_at=moved(e.claimed_at),
                first_response_at=moved(e.first_response_at), resolved_at=moved(e.resolved_at)))
        row = conn.execute(select(C.c.started_at, C.c.last_active_at, C.c.ended_at)
                           .where(C.c.id == conversation_id)).one_or_none()
        if row is not None:
            conn.execute(update(C).where(C.c.id == conversation_id).values(
                started_at=moved(row.started_at), last_active_at=moved(row.last_active_at),
                ended_at=moved(row.ended_at)))
        refresh_facts(conn, [conversation_id])
