"""Report filters and the set of conversations they select.

Every filter value reaches the database as a bound parameter; nothing a user types is ever
spliced into SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, FromClause, case, func, literal, select, true

from analytics.store.schema import (
    Conversation,
    ConversationFacts,
    ConversationIntentFacts,
    Customer,
    CustomerSegment,
)

OUTCOMES = ("contained", "escalated", "abandoned", "in_progress")
ANONYMOUS_SEGMENT = "anonymous"
# A conversation nobody has written in for this long is over, even if nobody closed it.
IDLE_TIMEOUT = timedelta(minutes=30)
# "Ended more negative than it began": the last customer message's polarity is at least this
# much below the first's (polarity runs from -1 to 1).
SENTIMENT_DROP = 0.3
_MAX_VALUE_CHARS = 128

C = Conversation.__table__
F = ConversationFacts.__table__
IF = ConversationIntentFacts.__table__
CU = Customer.__table__
SEG = CustomerSegment.__table__
_IF_FILTER = IF.alias("intent_filter")  # its own alias: intent reports read IF as well


class ReportError(ValueError):
    """A report was asked for with a name, filter or option that cannot work."""


@dataclass(frozen=True, kw_only=True)
class ReportFilters:
    """Which conversations a report looks at. Dates are inclusive, on the day it started (UTC)."""

    date_from: date | None = None
    date_to: date | None = None
    intent: str | None = None  # the customer expressed this intent somewhere in it
    channel: str | None = None  # websocket, rest, cli, ...
    segment: str | None = None  # the shop's customer segment, or "anonymous"
    outcome: str | None = None  # one of OUTCOMES

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ReportError(
                f"Unknown outcome {self.outcome!r}; use one of: {', '.join(OUTCOMES)}."
            )
        for name in ("intent", "channel", "segment"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > _MAX_VALUE_CHARS):
                raise ReportError(f"The {name} filter must be text of at most "
                                  f"{_MAX_VALUE_CHARS} characters.")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ReportError("The date range is empty: 'from' is after 'to'.")

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> ReportFilters:
        """Filters from query-string style parameters (``from``, ``to``, ``intent``, ...)."""
        def text(name: str) -> str | None:
            value = params.get(name)
            if value is None:
                return None
            value = str(value).strip()
            return value or None

        return cls(
            date_from=_parse_date(text("from") or text("date_from"), "from"),
            date_to=_parse_date(text("to") or text("date_to"), "to"),
            intent=text("intent"),
            channel=text("channel"),
            segment=text("segment"),
            outcome=text("outcome"),
        )

    def to_query(self) -> dict[str, str]:
        """The inverse of :meth:`from_query`, without the filters that are not set."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                key = {"date_from": "from", "date_to": "to"}.get(f.name, f.name)
                out[key] = value.isoformat() if isinstance(value, date) else value
        return out


def filter_values(engine: Engine) -> dict[str, list[str]]:
    """The values the intent, channel and segment filters can take in this database."""
    with engine.connect() as conn:
        intents = list(conn.execute(select(IF.c.intent).distinct().order_by(IF.c.intent))
                       .scalars())
        channels = sorted(conn.execute(select(C.c.channel).distinct()).scalars())
        segments = sorted(s for s in conn.execute(select(CU.c.segment).distinct()).scalars()
                          if s)
    return {"intent": intents, "channel": channels, "segment": [*segments, ANONYMOUS_SEGMENT]}


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ReportError(f"'{name}' must be a date like 2026-11-01, not {value!r}.") from None


def outcome_expr(now: datetime) -> ColumnElement[str]:
    """How a conversation ended, as of ``now``: one of OUTCOMES (see docs/metrics.md)."""
    idle_since = now - IDLE_TIMEOUT
    return case(
        (C.c.escalated == true(), literal("escalated")),
        ((C.c.ended_at.is_(None)) & (C.c.last_active_at > idle_since), literal("in_progress")),
        (F.c.ended_unresolved == true(), literal("abandoned")),
        else_=literal("contained"),
    )


def segment_expr() -> ColumnElement[str]:
    return func.coalesce(CU.c.segment, ANONYMOUS_SEGMENT)


def ended_more_negative() -> ColumnElement[bool]:
    return (F.c.sentiment_n >= 2) & (F.c.sentiment_last <= F.c.sentiment_first - SENTIMENT_DROP)


@dataclass(frozen=True)
class Scope:
    """The FROM clause and WHERE conditions selecting the filtered conversations."""

    from_: FromClause
    where: list[ColumnElement[bool]]


def scope(filters: ReportFilters, now: datetime, *, customers: bool = False,
          model_segments: bool = False) -> Scope:
    """Conversations with at least one customer message that pass ``filters``.

    ``customers`` joins ``customers`` (as CU), ``model_segments`` joins ``customer_segments``
    (as SEG) for reports that group by them.
    """
    from_ = C.join(F, F.c.conversation_id == C.c.id)
    where: list[ColumnElement[bool]] = [F.c.user_messages > 0]
    if customers or filters.segment is not None:
        from_ = from_.outerjoin(CU, CU.c.id == C.c.customer_id)
    if model_segments:
        from_ = from_.join(SEG, SEG.c.customer_id == C.c.customer_id)
    if filters.date_from is not None:
        where.append(C.c.started_at >= _midnight(filters.date_from))
    if filters.date_to is not None:
        where.append(C.c.started_at < _midnight(filters.date_to) + timedelta(days=1))
    if filters.channel is not None:
        where.append(C.c.channel == filters.channel)
    if filters.segment is not None:
        where.append(segment_expr() == filters.segment)
    if filters.intent is not None:
        has_intent = (_IF_FILTER.c.conversation_id == C.c.id) & (
            _IF_FILTER.c.intent == filters.intent
        )
        where.append(_IF_FILTER.select().where(has_intent).exists())
    if filters.outcome is not None:
        where.append(outcome_expr(now) == filters.outcome)
    return Scope(from_, where)


def has_filters(filters: ReportFilters) -> bool:
    return bool(filters.to_query())


def conversations_in(conn: Any, filters: ReportFilters, now: datetime) -> int:
    """How many conversations ``filters`` select (for reports that read an all-time model and
    must still show an empty state when the filters select nothing)."""
    s = scope(filters, now)
    return int(conn.execute(select(func.count()).select_from(s.from_).where(*s.where))
               .scalar_one())


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def count_when(condition: Any) -> Any:
    """SUM of 1 for the rows where ``condition`` holds (portable COUNT ... FILTER)."""
    return func.sum(case((condition, 1), else_=0))


def ratio(part: Any, whole: Any, digits: int = 4) -> float | None:
    """part / whole rounded, or None when there is nothing to divide by."""
    if not whole:
        return None
    return round(float(part or 0) / float(whole), digits)
