"""The agents' queue: who waits, ranked by the escalation policy's urgency, and each
escalation's claim, first response and end (rows in analytics/store/escalations.py).
Synchronous: call from a worker thread."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine

from analytics.store.escalations import (
    EscalationState,
    UnresolvedEscalation,
    claim_escalation,
    close_escalation,
    current_escalation,
    record_first_response,
    unresolved_escalations,
)
from analytics.store.records import naive_utc_now
from bot.config import EscalationPolicy


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


def urgency(priority: int, waited_seconds: float, spend: Decimal | float,
            policy: EscalationPolicy) -> float:
    """Priority at escalation (reason, sentiment, VIP), rising while the customer waits."""
    value = float(priority) + waited_seconds / 60.0 / max(policy.wait_minutes_per_level, 1e-9)
    if float(spend) >= policy.valuable_customer_spend:
        value += 1.0
    return round(value, 2)


def _item(row: UnresolvedEscalation, now: datetime, policy: EscalationPolicy) -> QueueItem:
    waited = max(0.0, (now - row.created_at).total_seconds())
    return QueueItem(
        escalation_id=row.escalation_id, conversation_id=row.conversation_id,
        reason=row.reason, priority=row.priority,
        urgency=urgency(row.priority, waited, row.customer_spend, policy), status=row.status,
        created_at=row.created_at.isoformat(), waited_seconds=int(waited),
        claimed_by=row.claimed_by, customer_name=row.customer_name,
        customer_id=row.customer_id, vip=row.vip, segment=row.segment,
        last_message=row.last_message, last_sentiment=row.last_sentiment)


class EscalationQueue:
    """Reads the queue and moves escalations through open -> claimed -> resolved|returned."""

    def __init__(self, engine: Engine, policy: EscalationPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def items(self, now: datetime | None = None) -> list[QueueItem]:
        """Unresolved escalations, most urgent first (then longest waiting)."""
        now = now or naive_utc_now()
        items = [_item(row, now, self.policy) for row in unresolved_escalations(self.engine)]
        items.sort(key=lambda i: (-i.urgency, i.created_at, i.escalation_id))
        return items

    def current(self, conversation_id: str) -> EscalationState | None:
        """The conversation's unresolved escalation (the newest), if any."""
        return current_escalation(self.engine, conversation_id)

    def claim(self, escalation_id: int, agent_id: int, now: datetime | None = None) -> bool:
        """Assign an open escalation; False when someone else claimed it first."""
        return claim_escalation(self.engine, escalation_id, agent_id, now or naive_utc_now())

    def responded(self, escalation_id: int, now: datetime | None = None) -> bool:
        """Record the first agent reply (later replies change nothing); True for the first."""
        return record_first_response(self.engine, escalation_id, now or naive_utc_now())

    def close(self, escalation_id: int, status: str, now: datetime | None = None) -> None:
        """End an escalation: ``resolved`` by the agent or ``returned`` to the bot."""
        close_escalation(self.engine, escalation_id, status, now or naive_utc_now())
