"""The human-agent queue's rows: the escalations waiting for or held by an agent, and each
one's claim, first response and end. Synchronous: call from a worker thread.

How urgent each one is (the escalation policy) is the agent console's business
(bot/console/queue.py); this module only reads and writes the rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from analytics.store.records import ConversationRecord, record_time, to_row
from analytics.store.schema import Conversation, Customer, Escalation, Message, Order, User
from analytics.store.shop import NOT_REVENUE_STATUSES
from analytics.store.upsert import insert_ignoring_existing

OPEN_STATUSES = ("open", "claimed")
CLOSED_STATUSES = ("resolved", "returned")


@dataclass(frozen=True)
class UnresolvedEscalation:
    """An open or claimed escalation with what the console shows about its customer."""

    escalation_id: int
    conversation_id: str
    reason: str
    priority: int
    status: str  # open | claimed
    created_at: datetime
    claimed_by: str | None  # the agent's username
    customer_name: str | None
    customer_id: str | None  # external id, e.g. C1001, for verified customers
    vip: bool
    segment: str | None
    customer_spend: Decimal  # lifetime, without cancelled and returned orders
    last_message: str | None  # the customer's latest message
    last_sentiment: str | None


@dataclass(frozen=True)
class EscalationState:
    id: int
    conversation_id: str
    reason: str
    priority: int
    status: str
    created_at: datetime
    claimed_at: datetime | None
    claimed_by: int | None
    claimed_by_name: str | None
    first_response_at: datetime | None

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("created_at", "claimed_at", "first_response_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def unresolved_escalations(engine: Engine) -> list[UnresolvedEscalation]:
    """Every open or claimed escalation, in no particular order (the console ranks them)."""
    spend = (
        select(Order.customer_id, func.sum(Order.total).label("spend"))
        .where(Order.status.not_in(NOT_REVENUE_STATUSES))
        .group_by(Order.customer_id)
        .subquery()
    )
    latest = aliased(Message)
    last_user = (
        select(latest.id)
        .where(latest.conversation_id == Escalation.conversation_id, latest.sender == "user")
        .order_by(latest.created_at.desc(), latest.id.desc())
        .limit(1)
        .correlate(Escalation)
        .scalar_subquery()
    )
    query = (
        select(
            Escalation.id, Escalation.conversation_id, Escalation.reason, Escalation.priority,
            Escalation.status, Escalation.created_at, User.username, Customer.name,
            Customer.external_id, Customer.vip, Customer.segment,
            func.coalesce(spend.c.spend, 0), Message.text, Message.sentiment_label,
        )
        .join(Conversation, Conversation.id == Escalation.conversation_id)
        .outerjoin(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(spend, spend.c.customer_id == Customer.id)
        .outerjoin(User, User.id == Escalation.claimed_by)
        .outerjoin(Message, Message.id == last_user)
        .where(Escalation.status.in_(OPEN_STATUSES))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        UnresolvedEscalation(
            escalation_id=id_, conversation_id=conversation_id, reason=reason,
            priority=priority, status=status, created_at=created_at, claimed_by=agent,
            customer_name=name, customer_id=external_id, vip=bool(vip), segment=segment,
            customer_spend=Decimal(spent or 0), last_message=text, last_sentiment=sentiment)
        for (id_, conversation_id, reason, priority, status, created_at, agent, name,
             external_id, vip, segment, spent, text, sentiment) in rows
    ]


def current_escalation(engine: Engine, conversation_id: str) -> EscalationState | None:
    """The conversation's unresolved escalation (the newest), if any."""
    query = (
        select(Escalation.id, Escalation.conversation_id, Escalation.reason,
               Escalation.priority, Escalation.status, Escalation.created_at,
               Escalation.claimed_at, Escalation.claimed_by, User.username,
               Escalation.first_response_at)
        .outerjoin(User, User.id == Escalation.claimed_by)
        .where(Escalation.conversation_id == conversation_id,
               Escalation.status.in_(OPEN_STATUSES))
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else EscalationState(*row)


def open_escalation(engine: Engine, conversation_id: str, reason: str,
                    priority: int = 0) -> tuple[int, bool]:
    """The conversation's unresolved escalation, created when it has none: (id, created).

    Call it holding the conversation's lock, so two callers cannot both create one.
    """
    with engine.begin() as conn:
        existing = conn.execute(
            select(Escalation.id)
            .where(Escalation.conversation_id == conversation_id,
                   Escalation.status.in_(OPEN_STATUSES))
            .order_by(Escalation.created_at.desc(), Escalation.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if existing is not None:
            return existing, False
        now = record_time()
        # The conversation's own row may still be queued in the conversation log.
        conn.execute(insert_ignoring_existing(Conversation.__table__, conn.dialect.name),
                     [to_row(ConversationRecord(id=conversation_id, started_at=now))])
        created = conn.execute(
            insert(Escalation)
            .values(conversation_id=conversation_id, reason=reason, priority=priority,
                    status="open", created_at=now)
            .returning(Escalation.id)
        ).scalar_one()
        return created, True


def escalated_without_escalation(engine: Engine, limit: int = 500) -> list[str]:
    """Conversations waiting for a person (status ``escalated``) that no unresolved
    escalation puts in the agents' queue: nobody could pick them up."""
    queued = exists().where(Escalation.conversation_id == Conversation.id,
                            Escalation.status.in_(OPEN_STATUSES))
    query = (select(Conversation.id)
             .where(Conversation.status == "escalated", ~queued)
             .order_by(Conversation.last_active_at)
             .limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def claim_escalation(engine: Engine, escalation_id: int, agent_id: int, at: datetime) -> bool:
    """Assign an open escalation; False when someone else claimed it first."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status == "open")
            .values(status="claimed", claimed_by=agent_id, claimed_at=at)
        ).rowcount
    return changed == 1


def record_first_response(engine: Engine, escalation_id: int, at: datetime) -> bool:
    """Record the first agent reply (later replies change nothing); True for the first."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.first_response_at.is_(None))
            .values(first_response_at=at)
        ).rowcount
    return changed == 1


def close_escalation(engine: Engine, escalation_id: int, status: str, at: datetime) -> None:
    """End an escalation: ``resolved`` by the agent or ``returned`` to the bot."""
    if status not in CLOSED_STATUSES:
        raise ValueError(f"an escalation closes as resolved or returned, not {status!r}")
    with engine.begin() as conn:
        conn.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status.in_(OPEN_STATUSES))
            .values(status=status, resolved_at=at)
        )
