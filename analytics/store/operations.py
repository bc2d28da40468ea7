"""The service as it is now, for the live operations page and its alerts: a few small,
indexed queries over the last minutes of messages and the open escalations (never the
reports' full scans), and the stored alerts (``events`` rows of type ``alert``).
Synchronous: call from a worker thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select

from analytics.reports.scope import C, F, count_when, outcome_expr
from analytics.store.records import new_id, record_time
from analytics.store.schema import Escalation, Event, Message

FALLBACK_INTENT = "nlu_fallback"  # as the rollups count it (analytics/store/rollups.py)
ALERT_EVENT = "alert"


@dataclass(frozen=True)
class WindowCounts:
    """Customer messages in a time window, and how many were negative or misunderstood."""

    messages: int
    negative: int
    fallbacks: int

    @property
    def negative_share(self) -> float | None:
        return round(self.negative / self.messages, 4) if self.messages else None

    @property
    def fallback_rate(self) -> float | None:
        return round(self.fallbacks / self.messages, 4) if self.messages else None


@dataclass(frozen=True)
class OperationsCounts:
    """What the database says about now; presence and alerts are added by the caller."""

    at: datetime
    active_conversations: int  # with a message in the last ``active`` minutes
    messages_last_minute: int  # customer messages
    messages_last_5_minutes: int
    queue_length: int  # escalations waiting for a person (open, not yet claimed)
    claimed: int  # held by an agent
    oldest_wait_seconds: float | None
    last_15_minutes: WindowCounts
    same_hour_last_week: WindowCounts  # the hour around this time, 7 days ago
    conversations_today: int  # started since midnight UTC, with a customer message
    finished_today: int  # of those, no longer in progress
    contained_today: int


def _window(conn: Any, start: datetime, end: datetime) -> WindowCounts:
    row = conn.execute(
        select(func.count(), count_when(Message.sentiment_label == "negative"),
               count_when(Message.intent == FALLBACK_INTENT))
        .where(Message.created_at >= start, Message.created_at < end,
               Message.sender == "user")).one()
    return WindowCounts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def operations_counts(engine: Engine, now: datetime, *, active_minutes: float = 5.0
                      ) -> OperationsCounts:
    """The live counts as of ``now`` (naive UTC)."""
    week = timedelta(days=7)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with engine.connect() as conn:
        active = conn.execute(
            select(func.count(func.distinct(Message.conversation_id)))
            .where(Message.created_at >= now - timedelta(minutes=active_minutes))).scalar()
        minute, five = conn.execute(
            select(count_when(Message.created_at >= now - timedelta(minutes=1)), func.count())
            .where(Message.created_at >= now - timedelta(minutes=5),
                   Message.sender == "user")).one()
        waiting, claimed, oldest = conn.execute(
            select(count_when(Escalation.status == "open"),
                   count_when(Escalation.status == "claimed"),
                   func.min(Escalation.created_at).filter(Escalation.status == "open"))
            .where(Escalation.status.in_(("open", "claimed")))).one()
        recent = _window(conn, now - timedelta(minutes=15), now + timedelta(seconds=1))
        last_week = _window(conn, now - week - timedelta(minutes=30),
                            now - week + timedelta(minutes=30))
        outcome = outcome_expr(now)
        today, finished, contained = conn.execute(
            select(func.count(), count_when(outcome != "in_progress"),
                   count_when(outcome == "contained"))
            .select_from(C.join(F, F.c.conversation_id == C.c.id))
            .where(C.c.started_at >= midnight, F.c.user_messages > 0)).one()
    if isinstance(oldest, str):  # SQLite returns an aggregate over a FILTER as text
        oldest = datetime.fromisoformat(oldest)
    return OperationsCounts(
        at=now, active_conversations=int(active or 0), messages_last_minute=int(minute or 0),
        messages_last_5_minutes=int(five or 0), queue_length=int(waiting or 0),
        claimed=int(claimed or 0),
        oldest_wait_seconds=None if oldest is None else max(0.0, (now - oldest).total_seconds()),
        last_15_minutes=recent, same_hour_last_week=last_week,
        conversations_today=int(today or 0), finished_today=int(finished or 0),
        contained_today=int(contained or 0))


# -- stored alerts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    """One alert: raised at ``raised_at``, over when ``cleared_at`` is set."""

    alert_id: str
    rule: str
    message: str
    value: float | None
    raised_at: datetime
    cleared_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["raised_at"] = self.raised_at.isoformat()
        data["cleared_at"] = self.cleared_at.isoformat() if self.cleared_at else None
        return data


def _store_alert_event(engine: Engine, data: dict[str, Any], at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Event).values(id=new_id(), conversation_id=None, type=ALERT_EVENT,
                                          actor="carebot.monitoring", data=data, created_at=at))


def raise_alert(engine: Engine, rule: str, message: str, value: float | None,
                at: datetime | None = None) -> AlertRow:
    """Store a new alert for ``rule``; the caller checked that none is open for it."""
    at = at or record_time()
    row = AlertRow(alert_id=new_id(), rule=rule, message=message, value=value, raised_at=at)
    _store_alert_event(engine, {"alert_id": row.alert_id, "rule": rule, "state": "raised",
                                "message": message, "value": value}, at)
    return row


def clear_alert(engine: Engine, alert: AlertRow, value: float | None,
                at: datetime | None = None) -> AlertRow:
    at = at or record_time()
    _store_alert_event(engine, {"alert_id": alert.alert_id, "rule": alert.rule,
                                "state": "cleared", "message": alert.message, "value": value},
                       at)
    return AlertRow(alert.alert_id, alert.rule, alert.message, alert.value, alert.raised_at, at)


def record_delivery(engine: Engine, alert_id: str, state: str, attempts: int,
                    status: int | None, error: str | None) -> None:
    """How the webhook took an alert's notice (``state``: raised or cleared)."""
    _store_alert_event(engine, {"alert_id": alert_id, "state": f"delivery_{state}",
                                "attempts": attempts, "http_status": status, "error": error},
                       record_time())


def alerts(engine: Engine, *, since: datetime | None = None, limit: int = 50) -> list[AlertRow]:
    """Alerts raised since ``since`` (default: all), newest first, with their clearing."""
    with engine.connect() as conn:
        query = (select(Event.data, Event.created_at)
                 .where(Event.type == ALERT_EVENT, Event.conversation_id.is_(None)))
        if since is not None:
            query = query.where(Event.created_at >= since)
        rows = conn.execute(query.order_by(Event.created_at)).all()
    raised: dict[str, AlertRow] = {}
    for data, at in rows:
        alert_id = (data or {}).get("alert_id")
        state = (data or {}).get("state")
        if state == "raised":
            raised[alert_id] = AlertRow(alert_id, data.get("rule", ""), data.get("message", ""),
                                        data.get("value"), at)
        elif state == "cleared" and alert_id in raised:
            old = raised[alert_id]
            raised[alert_id] = AlertRow(old.alert_id, old.rule, old.message, old.value,
                                        old.raised_at, at)
    return sorted(raised.values(), key=lambda a: a.raised_at, reverse=True)[:limit]


def open_alerts(engine: Engine) -> dict[str, AlertRow]:
    """The alerts not cleared yet, by rule name."""
    with engine.connect() as conn:
        cleared = (select(Event.data["alert_id"].as_string().label("alert_id"))
                   .where(Event.type == ALERT_EVENT,
                          Event.data["state"].as_string() == "cleared").subquery())
        rows = conn.execute(
            select(Event.data, Event.created_at)
            .where(Event.type == ALERT_EVENT, Event.data["state"].as_string() == "raised",
                   Event.conversation_id.is_(None))
            .outerjoin(cleared, and_(cleared.c.alert_id == Event.data["alert_id"].as_string()))
            .where(cleared.c.alert_id.is_(None))).all()
    out: dict[str, AlertRow] = {}
    for data, at in rows:
        out[data["rule"]] = AlertRow(data["alert_id"], data["rule"], data.get("message", ""),
                                     data.get("value"), at)
    return out
