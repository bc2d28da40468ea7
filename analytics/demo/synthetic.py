"""Synthetic conversation history in bulk, for benchmarks and model tests (never the product).

Conversations are generated row by row, fast, with the same structure the bot writes:
customer and bot messages with intents and sentiment, escalations with agent timings, CSAT
ratings that depend on how the conversation went (so the satisfaction model has something
to find), and the rollups computed by the same code the conversation log uses.
``carebot simulate`` is the other source of data: slower, but through the real bot.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from analytics.store.rollups import summarise

REFERENCE = datetime(2026, 11, 1, 12, 0)
CHANNELS = (("websocket", 0.7), ("rest", 0.3))
# intent -> (weight, base polarity, follow-up intent or None)
INTENTS: dict[str, tuple[float, float, str | None]] = {
    "order_status": (0.26, -0.05, "return_item"),
    "shipping_info": (0.10, 0.15, "order_status"),
    "product_recommendation": (0.10, 0.35, "payment_issue"),
    "return_item": (0.12, -0.2, "refund_status"),
    "refund_status": (0.10, -0.3, "complaint"),
    "cancel_order": (0.07, -0.15, "refund_status"),
    "payment_issue": (0.07, -0.35, "account_help"),
    "account_help": (0.06, -0.05, None),
    "change_address": (0.05, 0.0, "order_status"),
    "complaint": (0.05, -0.7, "human_agent"),
    "human_agent": (0.02, -0.4, None),
}
PHRASES: dict[str, tuple[str, ...]] = {
    "greet": ("hi", "hello there", "hey", "good morning"),
    "goodbye": ("bye", "that's all, bye", "see you"),
    "thank_you": ("thanks!", "thank you so much", "great, thanks"),
    "affirm": ("yes", "yes please", "sure"),
    "nlu_fallback": ("hmm what", "asdf", "no that's not it", "??"),
    "order_status": ("where is my order [ORDER]", "has my parcel shipped yet?",
                     "my order still hasn't arrived"),
    "shipping_info": ("how long does delivery take?", "do you ship to Canada?"),
    "product_recommendation": ("can you recommend some headphones", "looking for a gift"),
    "return_item": ("I want to return my shoes", "how do I send this back?"),
    "refund_status": ("where is my refund?", "still waiting for my money back"),
    "cancel_order": ("please cancel my order", "I need to cancel [ORDER]"),
    "payment_issue": ("my card was charged twice", "payment keeps failing"),
    "account_help": ("I can't log in", "how do I reset my password"),
    "change_address": ("I need to change my delivery address", "wrong address on my order"),
    "complaint": ("this is unacceptable", "worst service ever, I'm really annoyed"),
    "human_agent": ("let me talk to a person", "get me a human please"),
}
MOODS = (("calm", 0.45, 0.35), ("neutral", 0.35, 0.0), ("upset", 0.20, -0.45))


@dataclass
class History:
    """Rows for each table, ready for ``insert``/``COPY``."""

    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    intent_facts: list[dict[str, Any]] = field(default_factory=list)


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _clip(x: float, lo: float = -1.0, hi: float = 1.0) -> float:
    return max(lo, min(hi, x))


def generate(n_conversations: int, *, customer_ids: list[int] | None = None, seed: int = 7,
             days: int = 90, start_id: int = 0, escalation_id_start: int = 1,
             reference: datetime = REFERENCE) -> Iterator[History]:
    """Yield the history in blocks of up to 5,000 conversations (about 10 messages each)."""
    rng = random.Random(seed)
    customer_ids = customer_ids or []
    intent_names = list(INTENTS)
    intent_weights = [INTENTS[i][0] for i in intent_names]
    next_escalation = escalation_id_start
    block = History()
    for n in range(start_id, start_id + n_conversations):
        cid = f"syn-{n:07d}"
        started = reference - timedelta(seconds=rng.uniform(0, days * 86400))
        mood = _pick(rng, tuple((m, w) for m, w, _ in MOODS))
        mood_bias = {m: b for m, _, b in MOODS}[mood]
        intent = rng.choices(intent_names, intent_weights)[0]
        base = INTENTS[intent][1] + mood_bias
        plan: list[str] = []
        if rng.random() < 0.75:
            plan.append("greet")
        plan += [intent] * rng.choice((1, 2, 2, 3, 3, 4))
        fallbacks = sum(rng.random() < (0.08 if mood == "upset" else 0.05) for _ in range(4))
        for _ in range(fallbacks):
            plan.insert(rng.randint(1, len(plan)), "nlu_fallback")
        follow = INTENTS[intent][2]
        if follow and rng.random() < 0.4:
            plan += [follow] * rng.choice((1, 2, 2))
        escalate = (intent in ("complaint", "human_agent") or fallbacks >= 2
                    or (mood == "upset" and rng.random() < 0.35) or rng.random() < 0.05)
        abandoned = not escalate and rng.random() < 0.08 + 0.1 * fallbacks
        if abandoned:
            plan.append("nlu_fallback")
        elif not escalate and rng.random() < 0.7:
            plan.append(rng.choice(("thank_you", "goodbye")))
        # sentiment drifts down with each misunderstanding, up when the need is met
        t = started
        scores: list[float] = []
        drift = 0.0
        messages = []
        for step, name in enumerate(plan):
            if name == "nlu_fallback":
                drift -= 0.25
            elif name in ("thank_you", "goodbye"):
                drift += 0.5
            # tanh keeps polarity inside (-1, 1) without piling scores up at the ends
            if name == "thank_you":
                score = math.tanh(0.8 + rng.gauss(0, 0.2))
            else:
                score = math.tanh(1.2 * (base + drift + rng.gauss(0, 0.2)))
            scores.append(score)
            label = "negative" if score < -0.3 else "positive" if score > 0.3 else "neutral"
            t += timedelta(seconds=rng.uniform(5, 60))
            messages.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128))), "conversation_id": cid,
                "sender": "user", "text": rng.choice(PHRASES[name]).replace("[ORDER]",
                                                                            "[ORDER_ID]"),
                "intent": name, "confidence": round(rng.uniform(0.55, 0.99), 3),
                "entities": [], "sentiment_label": label, "sentiment_score": round(score, 4),
                "data": {}, "created_at": t})
            t += timedelta(seconds=rng.uniform(0.2, 2))
            messages.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128))), "conversation_id": cid,
                "sender": "bot", "text": "Here is what I found." if step else "Hi! How can I help?",
                "intent": None, "confidence": None, "entities": [], "sentiment_label": None,
                "sentiment_score": None, "data": {}, "created_at": t})
        wait = handle = None
        resolved_by_agent = False
        if escalate:
            handoff = t + timedelta(seconds=1)
            wait = rng.lognormvariate(4.6, 0.9)  # median ~100 s
            claimed = handoff + timedelta(seconds=wait * 0.6)
            first = handoff + timedelta(seconds=wait)
            handle = rng.lognormvariate(6.2, 0.6)  # median ~8 min
            resolved_by_agent = rng.random() < 0.85
            resolved = claimed + timedelta(seconds=handle) if resolved_by_agent else None
            block.escalations.append({
                "id": next_escalation, "conversation_id": cid,
                "reason": {"complaint": "complaint", "human_agent": "customer_request"}.get(
                    intent, "repeated_fallback" if fallbacks >= 2 else "negative_sentiment"),
                "priority": 1 + (mood == "upset"), "status": "resolved" if resolved else "claimed",
                "created_at": handoff, "claimed_at": claimed, "claimed_by": None,
                "first_response_at": first, "resolved_at": resolved})
            next_escalation += 1
            for k in range(rng.randint(1, 3)):
                messages.append({
                    "id": str(uuid.UUID(int=rng.getrandbits(128))), "conversation_id": cid,
                    "sender": "agent", "text": "Let me sort this out for you.", "intent": None,
                    "confidence": None, "entities": [], "sentiment_label": None,
                    "sentiment_score": None, "data": {},
                    "created_at": first + timedelta(seconds=30 * k)})
            t = max(t, resolved or first)
        rating = None
        if rng.random() < 0.35:
            resolved_flag = (not escalate and not abandoned) or resolved_by_agent
            value = (3.1 + 1.1 * scores[-1] + 0.5 * min(scores) + 0.7 * resolved_flag
                     - 0.25 * fallbacks - (wait or 0) / 600 + rng.gauss(0, 0.45))
            rating = int(round(_clip(value, 1, 5)))
        customer = (rng.choice(customer_ids) if customer_ids and rng.random() < 0.6 else None)
        state = {"active_form": "order_form"} if abandoned and rng.random() < 0.5 else {}
        block.conversations.append({
            "id": cid, "channel": _pick(rng, CHANNELS), "customer_id": customer,
            "status": ("resolved" if resolved_by_agent else "escalated") if escalate else "bot",
            "started_at": started, "last_active_at": t,
            "ended_at": t if rng.random() < 0.5 else None,
            "turns": len(plan), "fallback_count": plan.count("nlu_fallback"),
            "escalated": escalate, "assigned_agent_id": None, "csat_rating": rating,
            "csat_comment": None, "tracker_state": state})
        block.messages.extend(messages)
        summary = summarise(cid, ((m["sender"], m["intent"], m["sentiment_label"],
                                   m["sentiment_score"], m["created_at"]) for m in messages),
                            state)
        block.facts.append(summary.fact_row(t))
        block.intent_facts.extend(summary.intent_rows())
        if len(block.conversations) >= 5000:
            yield block
            block = History()
    if block.conversations:
        yield block


def insert_history(engine: Any, history: History) -> None:
    """Insert one block with ordinary executemany INSERTs (fine up to a few 10,000 rows)."""
    from sqlalchemy import insert

    from analytics.store.schema import (
        Conversation,
        ConversationFacts,
        ConversationIntentFacts,
        Escalation,
        Message,
    )

    with engine.begin() as conn:
        for model, rows in ((Conversation, history.conversations),
                            (Message, history.messages), (Escalation, history.escalations),
                            (ConversationFacts, history.facts),
                            (ConversationIntentFacts, history.intent_facts)):
            if rows:
                conn.execute(insert(model), rows)
