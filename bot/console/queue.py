"""The human-agent queue in the database: who waits, how urgently, and each escalation's
claim, first response and end. Synchronous: call from a worker thread."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import aliased

from analytics.store.records import utcnow
from analytics.store.schema import Conversation, Customer, Escalation, Message, Order, User
from bot.config import EscalationPolicy

OPEN_STATUSES = ("open", "claimed")
NOT_SPENT = ("cancelled", "returned")  # orders that did not turn into money


@dataclass(frozen=True)
class QueueItem:
    """One waiting or claimed conversation as the agent console lists it."""

    escalation_id: int
    conversation_id: str
    reason: str
    priority: int
    urgency: float
    status: str  # open | claimed
    created_at: str  # ISO, naive UTC
    waited_seconds: int
    claimed_by: str | None
    customer_name: str | None
    customer_id: str | None  # external id, e.g. C1001, for verified customers
    vip: bool
    segment: str | None
    last_message: str | None
    last_sentiment: str | None

    def to_dict(self) -> dict:
        return asdict(self)


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


def urgency(priority: int, waited_seconds: float, spend: Decimal | float,
            policy: EscalationPolicy) -> float:
    """Priority at escalation (reason, sentiment, VIP), rising while the customer waits."""
    value = float(priority) + waited_seconds / 60.0 / max(policy.wait_minutes_per_level, 1e-9)
    if float(spend) >= policy.valuable_customer_spend:
        value += 1.0
    return round(value, 2)


class EscalationQueue:
    """Reads the queue and moves escalations through open -> claimed -> resolved|returned."""

    def __init__(self, engine: Engine, policy: EscalationPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def items(self, now: datetime | None = None) -> list[QueueItem]:
        """Unresolved escalations, most urgent first (then longest waiting)."""
        now = now or utcnow()
        spend = (
            select(Order.customer_id, func.sum(Order.total).label("spend"))
            .where(Order.status.not_in(NOT_SPENT))
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
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        items = []
        for (id_, conversation_id, reason, priority, status, created_at, agent, name,
             external_id, vip, segment, spent, text, sentiment) in rows:
            waited = max(0.0, (now - created_at).total_seconds())
            items.append(QueueItem(
                escalation_id=id_, conversation_id=conversation_id, reason=reason,
                priority=priority, urgency=urgency(priority, waited, spent or 0, self.policy),
                status=status, created_at=created_at.isoformat(), waited_seconds=int(waited),
                claimed_by=agent, customer_name=name, customer_id=external_id, vip=bool(vip),
                segment=segment, last_message=text, last_sentiment=sentiment))
        items.sort(key=lambda i: (-i.urgency, i.created_at, i.escalation_id))
        return items

    def current(self, conversation_id: str) -> EscalationState | None:
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
        with self.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else EscalationState(*row)

    def claim(self, escalation_id: int, agent_id: int, now: datetime | None = None) -> bool:
        """Assign an open escalation; False when someone else claimed it first."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status == "open")
                .values(status="claimed", claimed_by=agent_id, claimed_at=now or utcnow())
            ).rowcount
        return changed == 1

    def responded(self, escalation_id: int, now: datetime | None = None) -> bool:
        """Record the first agent reply (later replies change nothing); True for the first."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.first_response_at.is_(None))
                .values(first_response_at=now or utcnow())
            ).rowcount
        return changed == 1

    def close(self, escalation_id: int, status: str, now: datetime | None = None) -> None:
        """End an escalation: ``resolved`` by the agent or ``returned`` to the bot."""
        if status not in ("resolved", "returned"):
            raise ValueError(f"an escalation closes as resolved or returned, not {status!r}")
        with self.engine.begin() as conn:
            conn.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status.in_(OPEN_STATUSES))
                .values(status=status, resolved_at=now or utcnow())
            )

    def username(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        with self.engine.connect() as conn:
            return conn.execute(select(User.username).where(User.id == user_id)).scalar()
