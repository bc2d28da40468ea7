"""Abuse and fraud signals in a conversation, scored from its Rasa events alone.

Three signals, each scored 0..1 with the reason in words:

- enumeration: order numbers or emails that matched nothing (an action reset the slot to
  empty, as the shop's order actions do when an order is not the customer's), or many
  distinct values for one lookup slot;
- refunds: more cancellation / refund requests than the customer's history explains;
- automation: messages sent faster than a person types (button clicks excepted).

They combine like independent evidence (1 - prod(1 - s)). The bot acts on the combined score
(bot/dialogue/processor.py calls :class:`AbuseGuard`): above ``slow_down_at`` it answers
more slowly, above ``hand_over_at`` it stops answering (so stops looking orders up) and hands
the conversation to a person with the reason. After an agent hands the conversation back,
only what happened since counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.monitoring.settings import AbuseSettings

logger = logging.getLogger(__name__)

HANDOFF_REASON = "suspected_abuse"
ABUSE_POLICY = "carebot.AbuseSignals"  # the policy name the hand-over is logged under
LEVELS = ("none", "slow_down", "hand_over")
_FRESH_START = ("resume", "restart")  # a person decided; start counting again


@dataclass(frozen=True)
class CustomerHistory:
    """What the shop knows of the customer, for judging refund requests."""

    orders: int
    refunds: int  # orders cancelled, returned or refunded before
    flagged: bool = False  # the customer-risk model scores them as anomalous


@dataclass(frozen=True)
class AbuseSignal:
    kind: str  # enumeration | refunds | automation
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "score": round(self.score, 3), "reason": self.reason}


@dataclass(frozen=True)
class AbuseAssessment:
    score: float
    level: str  # one of LEVELS
    signals: tuple[AbuseSignal, ...] = field(default_factory=tuple)

    @property
    def reasons(self) -> list[str]:
        return [s.reason for s in sorted(self.signals, key=lambda s: -s.score) if s.score > 0]

    def to_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 3), "level": self.level, "reasons": self.reasons,
                "signals": [s.to_dict() for s in self.signals if s.score > 0]}


def _since_fresh_start(events: list[dict]) -> list[dict]:
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") in _FRESH_START:
            return events[i + 1:]
    return events


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).lower()


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [_norm(v) for v in items if v not in (None, "")]


def enumeration_signal(events: list[dict], settings: AbuseSettings) -> AbuseSignal:
    tried: dict[str, set[str]] = {slot: set() for slot in settings.lookup_slots}
    current: dict[str, str | None] = {}
    unmatched: set[tuple[str, str]] = set()
    for event in events:
        kind = event.get("event")
        if kind == "user":
            for entity in (event.get("parse_data") or {}).get("entities") or []:
                if entity.get("entity") in tried:
                    tried[entity["entity"]].update(_values(entity.get("value")))
        elif kind == "slot" and event.get("name") in tried:
            slot, values = event["name"], _values(event.get("value"))
            if values:
                tried[slot].update(values)
                current[slot] = values[-1]
            elif current.get(slot):
                unmatched.add((slot, current[slot]))  # set, then reset: it matched nothing
                current[slot] = None
    n_unmatched = len(unmatched)
    limit = max(2, settings.max_unmatched_lookups)
    # One typo is normal; from the second value that matches nothing the score rises.
    unmatched_score = max(0.0, (n_unmatched - 1) / (limit - 1))
    widest = max(tried, key=lambda s: len(tried[s]), default=None)
    distinct = len(tried[widest]) if widest else 0
    allowed = max(1, settings.max_distinct_values)
    distinct_score = min(1.0, max(0.0, (distinct - allowed) / allowed))
    score = min(1.0, max(unmatched_score, distinct_score))
    reasons = []
    if unmatched_score > 0:
        reasons.append(f"{n_unmatched} order numbers or emails that matched no order of the "
                       "customer")
    if distinct_score > 0:
        reasons.append(f"{distinct} different values given for {widest}")
    return AbuseSignal("enumeration", score, "; ".join(reasons))


def refund_signal(events: list[dict], settings: AbuseSettings,
                  history: CustomerHistory | None = None) -> AbuseSignal:
    if not settings.refund_intents:
        return AbuseSignal("refunds", 0.0, "")
    requests = sum(
        1 for e in events if e.get("event") == "user"
        and ((e.get("parse_data") or {}).get("intent") or {}).get("name")
        in settings.refund_intents)
    limit = max(1, settings.max_refund_requests)
    if history is None:
        score, fits = requests / limit, f"{requests} cancellation or refund requests"
    else:
        # A customer can ask about each of their orders; more than that, or a history of
        # refunds out of line with the orders, does not fit.
        expected = max(1, min(limit, history.orders))
        score = max(0.0, (requests - expected) / limit)
        if history.orders and history.refunds / history.orders > 0.5:
            score += 0.3
        if history.flagged:
            score += 0.3
        fits = (f"{requests} cancellation or refund requests from a customer with "
                f"{history.orders} orders and {history.refunds} refunds"
                + (" (flagged by the customer-risk model)" if history.flagged else ""))
    score = min(1.0, score)
    return AbuseSignal("refunds", score, fits if score > 0 else "")


def automation_signal(events: list[dict], settings: AbuseSettings) -> AbuseSignal:
    fast = typed = 0
    previous: float | None = None
    for event in events:
        kind = event.get("event")
        at = event.get("timestamp")
        if kind == "user" and isinstance(at, int | float):
            text = str(event.get("text") or "")
            if previous is not None and not text.startswith("/"):
                typed += 1
                gap = max(1e-3, at - previous)
                if gap < settings.min_seconds_between or len(text) / gap > \
                        settings.max_chars_per_second:
                    fast += 1
            previous = at
        elif kind == "bot" and isinstance(at, int | float):
            previous = at  # the customer reads the answer before typing the next message
    score = min(1.0, fast / max(1, settings.max_fast_messages))
    reason = f"{fast} of {typed} messages sent faster than a person types" if fast else ""
    return AbuseSignal("automation", score, reason)


def assess(events: list[dict], settings: AbuseSettings,
           history: CustomerHistory | None = None) -> AbuseAssessment:
    """Score the conversation's events (pure: no I/O, no clock)."""
    if not settings.enabled:
        return AbuseAssessment(0.0, "none")
    recent = _since_fresh_start(events)
    signals = (enumeration_signal(recent, settings), refund_signal(recent, settings, history),
               automation_signal(recent, settings))
    remaining = 1.0
    for signal in signals:
        remaining *= 1.0 - signal.score
    score = round(1.0 - remaining, 4)
    level = ("hand_over" if score >= settings.hand_over_at
             else "slow_down" if score >= settings.slow_down_at else "none")
    return AbuseAssessment(score, level, signals)


def customer_slot(events: list[dict]) -> str | None:
    """The verified customer's id (the ``customer_id`` slot), if the conversation has one."""
    for event in reversed(events):
        if event.get("event") == "slot" and event.get("name") == "customer_id":
            return event.get("value") or None
    return None


HistoryLookup = Callable[[str], CustomerHistory | None]  # customer id -> history (blocking)
Record = Callable[[str, AbuseAssessment], None]  # (conversation id, assessment)


class AbuseGuard:
    """What the dialogue calls before answering: slows down, or returns the reason to hand
    the conversation over (``None``: answer as usual)."""

    def __init__(self, settings: AbuseSettings, *, history: HistoryLookup | None = None,
                 record: Record | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.settings = settings
        self.history = history
        self.record = record
        self.sleep = sleep

    async def __call__(self, conversation: Any) -> str | None:
        events = conversation.events
        history = None
        if self.history and self.settings.refund_intents and _asks_for_refund(
                events, self.settings):
            customer = customer_slot(events)
            if customer:
                try:
                    history = await asyncio.to_thread(self.history, customer)
                except Exception:  # the shop's data being away must not stop the turn
                    logger.exception("could not read the history of customer %s", customer)
        assessment = assess(events, self.settings, history)
        if assessment.level == "none":
            return None
        if self.record:
            self.record(conversation.id, assessment)
        if assessment.level == "hand_over":
            logger.warning("conversation %s: abuse signals %.2f (%s); handing over",
                           conversation.id, assessment.score, "; ".join(assessment.reasons))
            return HANDOFF_REASON
        await self.sleep(self.settings.slow_down_seconds)
        return None


def _asks_for_refund(events: list[dict], settings: AbuseSettings) -> bool:
    for event in reversed(events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            return intent in settings.refund_intents
    return False
