"""The agents' queue: who waits, ranked by the escalation policy's urgency, and each
escalation's claim, first response and end (rows in analytics/store/escalations.py).
Synchronous: call from a worker thread."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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

# An escalation nobody took for this long (a simulated one, a customer long gone) is listed
# after the others, marked stale, and its urgency stops growing.
STALE_AFTER_SECONDS = 24 * 3600.0
REASON_WORDS = {"customer_request": "asked for a person", "complaint": "complaint",
                "negative_sentiment": "upset customer", "repeated_fallback": "bot did not understand",
                "suspected_abuse": "suspected abuse"}


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
    customer_spend: str = "0"
    stale: bool = False
    urgency_reasons: list[str] = field(default_factory=list)  # the urgency, in words

    def to_dict(self) -> dict:
        return asdict(self)


def urgency(priority: int, waited_seconds: float, spend: Decimal | float,
            policy: EscalationPolicy) -> float:
    """Priority at escalation (reason, sentiment, VIP), rising while the customer waits."""
    waited_seconds = min(waited_seconds, STALE_AFTER_SECONDS)
    value = float(priority) + waited_seconds / 60.0 / max(policy.wait_minutes_per_level, 1e-9)
    if float(spend) >= policy.valuable_customer_spend:
        value += 1.0
    return round(value, 2)


def wait_in_words(seconds: float) -> str:
    """A wait as agents read it: "40 s", "12 min", "3 h", "2 d"."""
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def urgency_reasons(row: UnresolvedEscalation, waited: float, policy: EscalationPolicy) -> list[str]:
    """Why an item is as urgent as it is, in the words the console shows."""
    reasons = [f"{REASON_WORDS.get(row.reason, row.reason.replace('_', ' '))} "
               f"(priority {row.priority}{', VIP' if row.vip else ''})"]
    level = min(waited, STALE_AFTER_SECONDS) / 60.0 / max(policy.wait_minutes_per_level, 1e-9)
    reasons.append(f"waiting {wait_in_words(waited)} (+{level:.1f}: +1 per "
                   f"{policy.wait_minutes_per_level:g} min"
                   f"{', no more after ' + wait_in_words(STALE_AFTER_SECONDS) if waited >= STALE_AFTER_SECONDS else ''})")
    if float(row.customer_spend) >= policy.valuable_customer_spend:
        reasons.append(f"valuable customer: ${float(row.customer_spend):,.0f} spent (+1)")
    return reasons


def _item(row: UnresolvedEscalation, now: datetime, policy: EscalationPolicy) -> QueueItem:
    waited = max(0.0, (now - row.created_at).total_seconds())
    return QueueItem(
        escalation_id=row.escalation_id, conversation_id=row.conversation_id,
        reason=row.reason, priority=row.priority,
        urgency=urgency(row.priority, waited, row.customer_spend, policy), status=row.status,
        created_at=row.created_at.isoformat(), waited_seconds=int(waited),
        claimed_by=row.claimed_by, customer_name=row.customer_name,
        customer_id=row.customer_id, vip=row.vip, segment=row.segment,
        last_message=row.last_message, last_sentiment=row.last_sentiment,
        customer_spend=str(row.customer_spend), stale=waited >= STALE_AFTER_SECONDS,
        urgency_reasons=urgency_reasons(row, waited, policy))


class EscalationQueue:
    """Reads the queue and moves escalations through open -> claimed -> resolved|returned."""

    def __init__(self, engine: Engine, policy: EscalationPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def items(self, now: datetime | None = None) -> list[QueueItem]:
        """Unresolved escalations, most urgent first (then longest waiting)."""
        now = now or naive_utc_now()
        items = [_item(row, now, self.policy) for row in unresolved_escalations(self.engine)]
        items.sort(key=lambda i: (i.stale, -i.urgency, i.created_at, i.escalation_id))
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
